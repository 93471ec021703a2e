#include "shared/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace kbo {

Status Errno(const char* op, const std::string& path, int err) {
  Status s = Status::IOError(std::string(op) + " '" + path +
                             "': " + std::strerror(err));
  // A full disk (or quota) is said as one, as SQLite's is: the programs
  // tell the person what was kept and to free space.
  if (err == ENOSPC || err == EDQUOT) return std::move(s).WithReason("storage_full");
  return s;
}

namespace {

// close() that keeps errno out of the caller's way; used on error paths
// where the first error is the one worth reporting.
void CloseQuietly(int fd) {
  const int saved = errno;
  ::close(fd);
  errno = saved;
}

// The directory holding `path`, for the fsync that makes a rename durable.
std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status();
}

Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", dir, errno);
  if (::fsync(fd) != 0) {
    const int err = errno;
    CloseQuietly(fd);
    return Errno("fsync directory", dir, err);
  }
  ::close(fd);
  return Status();
}

}  // namespace

Status EnsureReplaceableFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return Status();
  return Status::InvalidArgument(
      "'" + path + "' is " +
      (S_ISDIR(st.st_mode) ? std::string("a folder") : std::string("not a file (a device or a pipe)")) +
      ": give the name of a file to write; nothing was written");
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           mode_t mode) {
  AtomicFileWriter file;
  if (Status s = file.Open(path, mode); !s.ok()) return s;
  if (Status s = file.Append(bytes); !s.ok()) return s;
  return file.Commit();
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (fd_ < 0) return;
  CloseQuietly(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
}

Status AtomicFileWriter::Open(const std::string& path, mode_t mode) {
  Abandon();
  path_ = path;
  tmp_ = path + ".tmp";
  size_ = 0;
  status_ = EnsureReplaceableFile(path);
  if (!status_.ok()) return status_;
  // O_TRUNC rather than O_EXCL: a ".tmp" left by a crash must not block every
  // later write. O_NOFOLLOW: never write through a planted symlink.
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd_ < 0) {
    status_ = Errno("create", tmp_, errno);
    return status_;
  }
  // The umask may have cleared bits, and a leftover .tmp keeps its old
  // mode: set the mode explicitly, before any secret byte is written.
  if (::fchmod(fd_, mode) != 0) {
    status_ = Errno("chmod", tmp_, errno);
    Abandon();
  }
  return status_;
}

Status AtomicFileWriter::Append(std::string_view bytes) {
  if (!status_.ok()) return status_;
  if (fd_ < 0) return status_ = Status::FailedPrecondition("no file is open to write");
  status_ = WriteAll(fd_, bytes, tmp_);
  if (!status_.ok()) {
    Abandon();
    return status_;
  }
  size_ += bytes.size();
  return status_;
}

Status AtomicFileWriter::Commit() {
  if (!status_.ok()) return status_;
  if (fd_ < 0) return status_ = Status::FailedPrecondition("no file is open to write");
  if (::fsync(fd_) != 0) {
    status_ = Errno("fsync", tmp_, errno);
    Abandon();
    return status_;
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    status_ = Errno("close", tmp_, errno);
    ::unlink(tmp_.c_str());
    return status_;
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    status_ = Errno("rename to", path_, errno);
    ::unlink(tmp_.c_str());
    return status_;
  }
  status_ = FsyncDir(DirName(path_));
  return status_;
}

Result<std::string> ReadFileBounded(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Status::NotFound("no such file: '" + path + "'");
    }
    return Errno("open", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    CloseQuietly(fd);
    return Errno("stat", path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    CloseQuietly(fd);
    return Status::IOError("'" + path + "' is a directory, not a file");
  }
  const auto too_large = [&](uint64_t size) {
    return Status::ResourceExhausted("'" + path + "' is " +
                                     std::to_string(size) + " bytes, limit " +
                                     std::to_string(max_bytes));
  };
  if (st.st_size > 0 && static_cast<uint64_t>(st.st_size) > max_bytes) {
    CloseQuietly(fd);
    return too_large(static_cast<uint64_t>(st.st_size));
  }

  // st_size is a hint only (the file may grow, or be a pipe): read in chunks
  // and stop one byte past the cap.
  std::string out;
  if (st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char chunk[16384];
  for (;;) {
    const size_t room = max_bytes - out.size();  // out.size() <= max_bytes
    const size_t want = room < sizeof chunk ? room + 1 : sizeof chunk;
    const ssize_t n = ::read(fd, chunk, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      CloseQuietly(fd);
      return Errno("read", path, err);
    }
    if (n == 0) break;
    if (static_cast<size_t>(n) > room) {
      CloseQuietly(fd);
      return too_large(out.size() + static_cast<size_t>(n));
    }
    out.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return Result<std::string>(std::move(out));
}

Status EnsureDir(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("empty directory path");
  // Walk the components so that every missing parent is created 0700 too
  // (std::filesystem::create_directories would use 0777 & ~umask).
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    const std::string prefix = dir.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    if (::mkdir(prefix.c_str(), 0700) == 0) continue;
    const int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      // A path given that names a file (a mistyped --home or --data): the
      // person's input, not the disk (exit 2, DESIGN §7).
      return Status::InvalidArgument("'" + prefix + "' exists and is not a directory");
    }
    return Errno("create directory", prefix, err);
  }
  return Status();
}

Status CreateFileIfMissing(const std::string& path, mode_t mode) {
  if (FileExists(path)) return Status();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) return Status();
    return Errno("create", path, err);
  }
  ::close(fd);
  return Status();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace kbo
