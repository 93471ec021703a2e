#ifndef KBO_TOOLS_FUZZERS_FUZZ_SUPPORT_H_
#define KBO_TOOLS_FUZZERS_FUZZ_SUPPORT_H_

// Shared by the libFuzzer targets in tools/fuzzers (docs/fuzzing.md). Not part
// of any product binary.

#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

// A property the target asserts: a failure is a finding, reported like a
// crash (libFuzzer saves the input).
#define FUZZ_CHECK(cond)                                                  \
  do {                                                                    \
    if (!(cond)) {                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, \
                   __LINE__, #cond);                                      \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

namespace kbo::fuzz {

inline std::string_view Bytes(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// A fresh directory on tmpfs when there is one (SQLite's fsyncs cost nothing
// there), removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string base = std::filesystem::exists("/dev/shm")
                           ? std::string("/dev/shm")
                           : std::filesystem::temp_directory_path().string();
    std::string tmpl = base + "/kbo-fuzz-XXXXXX";
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = made;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// KBO_FUZZ_DEBUG=1 in the environment: targets say what each input did
// (to check by hand that the seeds reach what they are meant to).
inline bool Debug() {
  static const bool on = std::getenv("KBO_FUZZ_DEBUG") != nullptr;
  return on;
}
inline void Say(const char* what, const std::string& detail) {
  if (Debug()) std::fprintf(stderr, "[fuzz] %s: %s\n", what, detail.c_str());
}

// Splits `in` at the first `sep`: returns the part before it and leaves the
// rest in `in` (all of `in`, and `in` empty, if there is no `sep`).
inline std::string_view TakeUntil(std::string_view& in, char sep) {
  const size_t at = in.find(sep);
  std::string_view head = in.substr(0, at);
  in = at == std::string_view::npos ? std::string_view() : in.substr(at + 1);
  return head;
}

}  // namespace kbo::fuzz

#endif  // KBO_TOOLS_FUZZERS_FUZZ_SUPPORT_H_
