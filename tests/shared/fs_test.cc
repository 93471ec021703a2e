#include "shared/fs.h"

#include <cerrno>

#include <sys/stat.h>

#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace kbo {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string Contents(const std::string& path) {
  Result<std::string> r = ReadFileBounded(path, 1 << 20);
  REQUIRE(r.ok());
  return *r;
}

// Sets the process umask for one test and restores it.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

TEST_CASE(
    "Fs: an atomic write creates the file with the requested mode, "
    "whatever the umask",
    "[fs]") {
  testing::TempDir dir;
  const std::string path = dir.File("state.txt");
  const mode_t mode = GENERATE(mode_t{0600}, mode_t{0644}, mode_t{0640});
  const mode_t mask = GENERATE(mode_t{022}, mode_t{077}, mode_t{0});
  CAPTURE(mode, mask);
  ScopedUmask umask_guard(mask);
  REQUIRE(WriteFileAtomically(path, "ขาดเรียน\n", mode).ok());
  CHECK(ModeOf(path) == mode);
  CHECK(Contents(path) == "ขาดเรียน\n");
  CHECK_FALSE(FileExists(path + ".tmp"));
}

TEST_CASE("Fs: a full disk is said as one (storage_full), other errors are not",
          "[fs]") {
  const Status full = Errno("write", "/home/kbo/blobs/3c/x.tmp", ENOSPC);
  CHECK(full.code() == Code::kIOError);
  CHECK(full.reason() == "storage_full");
  CHECK(Errno("write", "x", EDQUOT).reason() == "storage_full");
  const Status other = Errno("open", "x", EACCES);
  CHECK(other.code() == Code::kIOError);
  CHECK(other.reason().empty());
}

TEST_CASE("Fs: an atomic write replaces the contents and leaves no .tmp",
          "[fs]") {
  testing::TempDir dir;
  const std::string path = dir.File("cursor");
  REQUIRE(WriteFileAtomically(path, "a much longer first version", 0600).ok());
  REQUIRE(WriteFileAtomically(path, "v2", 0600).ok());
  CHECK(Contents(path) == "v2");
  REQUIRE(WriteFileAtomically(path, "", 0600).ok());
  CHECK(Contents(path).empty());
  CHECK_FALSE(FileExists(path + ".tmp"));
}

TEST_CASE("Fs: an atomic write never replaces a device, a pipe or a folder",
          "[fs]") {
  // `kbo bundle export /dev/null` as root had renamed a file over
  // /dev/null. A FIFO stands in for the device here.
  testing::TempDir dir;
#ifndef __EMSCRIPTEN__  // the browser's in-memory file system has no FIFOs
  const std::string fifo = dir.File("pipe");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Status s = WriteFileAtomically(fifo, "bundle bytes", 0600);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("not a file"));
  struct stat st;
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK_FALSE(FileExists(fifo + ".tmp"));
#endif
  const std::string folder = dir.File("folder");
  REQUIRE(EnsureDir(folder).ok());
  CHECK(WriteFileAtomically(folder, "x", 0600).code() == Code::kInvalidArgument);
  CHECK(IsDirectory(folder));
  CHECK(EnsureReplaceableFile(dir.File("absent")).ok());
}

TEST_CASE("Fs: a .tmp left by a crash is overwritten with the new mode",
          "[fs]") {
  testing::TempDir dir;
  const std::string path = dir.File("device.key");
  {
    std::ofstream stale(path + ".tmp");
    stale << "half a key from before the crash, and more bytes than the new";
  }
  REQUIRE(::chmod((path + ".tmp").c_str(), 0644) == 0);
  REQUIRE(WriteFileAtomically(path, "secret", 0600).ok());
  CHECK(ModeOf(path) == 0600);
  CHECK(Contents(path) == "secret");
  CHECK_FALSE(FileExists(path + ".tmp"));
}

TEST_CASE(
    "Fs: an atomic write into a missing directory is an I/O error "
    "naming the path",
    "[fs]") {
  testing::TempDir dir;
  const std::string path = dir.File("no/such/dir/file");
  Status s = WriteFileAtomically(path, "x", 0600);
  CHECK(s.code() == Code::kIOError);
  CHECK(s.message().find(path) != std::string::npos);
  CHECK_FALSE(FileExists(path));
}

TEST_CASE("Fs: a file written in pieces appears whole on commit, and not at all "
          "when abandoned",
          "[fs]") {
  testing::TempDir dir;
  const std::string path = dir.File("officer.kbo");
  REQUIRE(WriteFileAtomically(path, "the bundle before", 0600).ok());
  {
    AtomicFileWriter file;
    REQUIRE(file.Open(path, 0600).ok());
    REQUIRE(file.Append("KBOBUNDLE1\n").ok());
    REQUIRE(file.Append("ภาพถ่าย").ok());
    // Nothing is in place until the commit.
    CHECK(Contents(path) == "the bundle before");
    CHECK(FileExists(path + ".tmp"));
    CHECK(file.size() == 11 + std::string("ภาพถ่าย").size());
    REQUIRE(file.Commit().ok());
  }
  CHECK(Contents(path) == "KBOBUNDLE1\nภาพถ่าย");
  CHECK(ModeOf(path) == 0600);
  CHECK_FALSE(FileExists(path + ".tmp"));
  {
    // A photo missing part-way: the writer goes out of scope uncommitted.
    AtomicFileWriter file;
    REQUIRE(file.Open(path, 0600).ok());
    REQUIRE(file.Append("half of another").ok());
  }
  CHECK(Contents(path) == "KBOBUNDLE1\nภาพถ่าย");
  CHECK_FALSE(FileExists(path + ".tmp"));
  // Used before it is open, or after its commit: an error, nothing written.
  AtomicFileWriter unopened;
  CHECK(unopened.Append("x").code() == Code::kFailedPrecondition);
  CHECK(unopened.Commit().code() == Code::kFailedPrecondition);
  AtomicFileWriter twice;
  REQUIRE(twice.Open(dir.File("once"), 0600).ok());
  REQUIRE(twice.Commit().ok());
  CHECK_FALSE(twice.Append("more").ok());
  CHECK(Contents(dir.File("once")).empty());
  // A folder in its place: refused before anything is created.
  REQUIRE(EnsureDir(dir.File("folder")).ok());
  AtomicFileWriter folder;
  CHECK(folder.Open(dir.File("folder"), 0600).code() == Code::kInvalidArgument);
  CHECK_FALSE(FileExists(dir.File("folder") + ".tmp"));
}

TEST_CASE("Fs: ReadFileBounded reads up to the cap and refuses more", "[fs]") {
  testing::TempDir dir;
  const std::string path = dir.File("body");
  const std::string bytes(100000, 'k');
  REQUIRE(WriteFileAtomically(path, bytes, 0600).ok());

  Result<std::string> exact = ReadFileBounded(path, bytes.size());
  REQUIRE(exact.ok());
  CHECK(*exact == bytes);
  CHECK(ReadFileBounded(path, bytes.size() - 1).status().code() ==
        Code::kResourceExhausted);
  CHECK(ReadFileBounded(path, 0).status().code() == Code::kResourceExhausted);

  REQUIRE(WriteFileAtomically(path, "", 0600).ok());
  Result<std::string> empty = ReadFileBounded(path, 0);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("Fs: ReadFileBounded of a missing file is not found", "[fs]") {
  testing::TempDir dir;
  Result<std::string> r = ReadFileBounded(dir.File("absent"), 100);
  CHECK(r.status().code() == Code::kNotFound);
  CHECK(ReadFileBounded(dir.path(), 100).status().code() == Code::kIOError);
}

TEST_CASE("Fs: EnsureDir creates missing parents with mode 0700", "[fs]") {
  testing::TempDir dir;
  const std::string deep = dir.File("kbo-data/outbox/photos");
  ScopedUmask umask_guard(0);
  REQUIRE(EnsureDir(deep).ok());
  CHECK(ModeOf(dir.File("kbo-data")) == 0700);
  CHECK(ModeOf(dir.File("kbo-data/outbox")) == 0700);
  CHECK(ModeOf(deep) == 0700);
  CHECK(EnsureDir(deep).ok());        // already there: fine
  CHECK(EnsureDir(deep + "/").ok());  // trailing slash: fine
  CHECK(EnsureDir("").code() == Code::kInvalidArgument);
}

TEST_CASE("Fs: EnsureDir refuses when a file is in the way", "[fs]") {
  testing::TempDir dir;
  REQUIRE(WriteFileAtomically(dir.File("data"), "x", 0600).ok());
  CHECK(EnsureDir(dir.File("data")).code() == Code::kInvalidArgument);
  CHECK(EnsureDir(dir.File("data/sub")).code() == Code::kInvalidArgument);
}

TEST_CASE("Fs: FileExists says whether a path exists", "[fs]") {
  testing::TempDir dir;
  CHECK(FileExists(dir.path()));
  CHECK_FALSE(FileExists(dir.File("absent")));
  REQUIRE(WriteFileAtomically(dir.File("present"), "", 0600).ok());
  CHECK(FileExists(dir.File("present")));
}

}  // namespace
}  // namespace kbo
