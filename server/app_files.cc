#include "server/app_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "shared/signing.h"

namespace kbo::server {
namespace {

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool EndsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

bool IsAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9');
}

}  // namespace

Status CheckAppDir(const std::string& dir) {
  struct stat st {};
  if (dir.empty()) {
    return Status::InvalidArgument("--app needs the app's folder");
  }
  if (::stat(dir.c_str(), &st) != 0) {
    return Status::InvalidArgument(
        "the app folder '" + dir + "' cannot be opened: " +
        std::strerror(errno) +
        " (give the folder tools/wasm/build makes: build-wasm/app)");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("the app folder '" + dir +
                                   "' is not a folder");
  }
  struct stat index {};
  if (::fstatat(AT_FDCWD, (dir + "/index.html").c_str(), &index,
                AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(index.st_mode)) {
    return Status::InvalidArgument(
        "the app folder '" + dir +
        "' holds no index.html (a regular file, not a link): is it the "
        "folder tools/wasm/build makes (build-wasm/app)?");
  }
  return Status();
}

bool IsAppFileName(std::string_view name) {
  if (name.empty() || name.size() > 255 || !IsAlnum(name.front())) return false;
  for (char c : name) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return name.find("..") == std::string_view::npos;
}

std::string AppContentType(std::string_view name) {
  if (EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (EndsWith(name, ".css")) return "text/css; charset=utf-8";
  if (EndsWith(name, ".json")) return "application/json; charset=utf-8";
  if (EndsWith(name, ".webmanifest")) return "application/manifest+json";
  if (EndsWith(name, ".svg")) return "image/svg+xml";
  if (EndsWith(name, ".wasm")) return "application/wasm";
  if (EndsWith(name, ".png")) return "image/png";
  return "application/octet-stream";
}

Result<AppFile> ReadAppFile(const std::string& dir, std::string_view name) {
  if (!IsAppFileName(name)) return Status::NotFound("no such app file");
  const Fd folder(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (folder.get() < 0) {
    return Status::IOError("cannot open the app folder '" + dir +
                           "': " + std::strerror(errno));
  }
  // O_NOFOLLOW: a symlink in the folder is refused (ELOOP), so nothing
  // outside it is ever read. O_NONBLOCK: a FIFO does not hang the open (it
  // is then refused as not a regular file).
  const std::string file(name);
  const Fd fd(::openat(folder.get(), file.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR ||
        errno == EISDIR) {
      return Status::NotFound("no such app file");
    }
    return Status::IOError("cannot open the app file '" + dir + "/" + file +
                           "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Status::IOError("cannot stat the app file '" + dir + "/" + file +
                           "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::NotFound("no such app file");
  const auto too_large = [&] {
    return Status::ResourceExhausted(
        "the app file '" + dir + "/" + file + "' is larger than " +
        std::to_string(kMaxAppFileBytes >> 20) + " MiB; not served");
  };
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > kMaxAppFileBytes) {
    return too_large();
  }
  AppFile out;
  out.bytes.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Status::IOError("cannot read the app file '" + dir + "/" + file +
                             "': " + std::strerror(errno));
    }
    if (n == 0) break;
    // It may grow while being read (a copy in progress): the cap holds.
    if (out.bytes.size() + static_cast<size_t>(n) > kMaxAppFileBytes) {
      return too_large();
    }
    out.bytes.append(buf, static_cast<size_t>(n));
  }
  out.etag = "\"" + HexEncode(Sha256(out.bytes)).substr(0, 32) + "\"";
  return out;
}

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  // Weak comparison: W/"x" matches "x".
  const auto opaque = [](std::string_view tag) {
    if (tag.size() >= 2 && tag[0] == 'W' && tag[1] == '/') tag.remove_prefix(2);
    return tag;
  };
  const std::string_view want = opaque(etag);
  size_t pos = 0;
  while (pos <= if_none_match.size()) {
    size_t end = if_none_match.find(',', pos);
    if (end == std::string_view::npos) end = if_none_match.size();
    std::string_view tag = if_none_match.substr(pos, end - pos);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t'))
      tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t'))
      tag.remove_suffix(1);
    if (tag == "*" || (!tag.empty() && opaque(tag) == want)) return true;
    pos = end + 1;
  }
  return false;
}

std::string AppNotInstalledPage() {
  return "<!doctype html>\n"
         "<html lang=\"th\">\n"
         "<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, "
         "initial-scale=1\">\n"
         "<title>ยังไม่ได้ติดตั้งแอป · App not installed</title>\n"
         "<h1>เซิร์ฟเวอร์นี้ยังไม่ได้ติดตั้งแอปสำหรับโทรศัพท์</h1>\n"
         "<p lang=\"en\">The phone app is not installed on this server.</p>\n"
         "<p>ผู้ดูแลระบบ: เริ่มเซิร์ฟเวอร์ด้วย "
         "<code>kbo-server serve --app DIR</code></p>\n"
         "<p lang=\"en\">Administrator: start the server with "
         "<code>kbo-server serve --app DIR</code>, DIR being the folder "
         "<code>tools/wasm/build</code> makes "
         "(<code>build-wasm/app</code>), or set <code>KBO_APP_DIR</code>.</p>\n"
         "</html>\n";
}

}  // namespace kbo::server
