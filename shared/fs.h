#ifndef KBO_SHARED_FS_H_
#define KBO_SHARED_FS_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/result.h"

namespace kbo {

// Writes `bytes` to "<path>.tmp" (created with `mode`), fsyncs it, renames it
// over `path`, then fsyncs the directory: a crash leaves the old file or the
// new one, never half of either. kInvalidArgument, nothing written, when
// `path` exists and is not a regular file (EnsureReplaceableFile).
Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           mode_t mode);

// The same, for a file written in pieces (a bundle of photos larger than
// memory): Open creates "<path>.tmp" with `mode`; Append adds to it;
// Commit fsyncs it, renames it over `path` and fsyncs the directory.
// Destroyed without a successful Commit (an error, a return part-way), the
// ".tmp" is removed and `path` left as it was. After an error every later
// call returns it.
class AtomicFileWriter {
 public:
  AtomicFileWriter() = default;
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // kInvalidArgument, nothing created, when `path` exists and is not a
  // regular file (EnsureReplaceableFile).
  Status Open(const std::string& path, mode_t mode);
  Status Append(std::string_view bytes);
  Status Commit();
  uint64_t size() const { return size_; }

 private:
  void Abandon();

  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  uint64_t size_ = 0;
  Status status_;
};

// OK when `path` does not exist or is a regular file (following links);
// kInvalidArgument naming it otherwise. Renaming a new file over a device,
// a pipe or a folder replaces it: `kbo bundle export /dev/null` run as root
// had turned /dev/null into a file only root could open.
Status EnsureReplaceableFile(const std::string& path);

// Reads a whole file. kNotFound if absent; kResourceExhausted if larger than
// `max_bytes` (nothing beyond the cap is read).
Result<std::string> ReadFileBounded(const std::string& path, size_t max_bytes);

// Creates `dir` and its parents (mode 0700 for the ones it creates).
Status EnsureDir(const std::string& dir);

// Creates `path` empty with `mode` if nothing is there (a file someone
// else made meanwhile is left alone). For a database with names and phone
// numbers in it, before SQLite opens it: SQLite gives its -wal and -shm
// files the database's mode.
Status CreateFileIfMissing(const std::string& path, mode_t mode);

bool FileExists(const std::string& path);

// kIOError "<op> '<path>': <strerror(err)>"; a full disk or quota (ENOSPC,
// EDQUOT) with the reason "storage_full", as SQLite's full disk is.
Status Errno(const char* op, const std::string& path, int err);

// True if `path` names a directory (following links).
bool IsDirectory(const std::string& path);

}  // namespace kbo

#endif  // KBO_SHARED_FS_H_
