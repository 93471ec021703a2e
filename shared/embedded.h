#ifndef KBO_SHARED_EMBEDDED_H_
#define KBO_SHARED_EMBEDDED_H_

#include <cstddef>
#include <string_view>

namespace kbo {

// A file compiled into a binary by tools/cmake/embed.cmake (SQL migrations,
// web assets). `name` is the file's base name.
struct EmbeddedFile {
  std::string_view name;
  std::string_view bytes;
};

}  // namespace kbo

#endif  // KBO_SHARED_EMBEDDED_H_
