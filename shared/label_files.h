#ifndef KBO_SHARED_LABEL_FILES_H_
#define KBO_SHARED_LABEL_FILES_H_

#include <cstddef>

#include "shared/embedded.h"

// shared/labels/th.json and en.json, embedded at build time by kbo_embed in
// shared/CMakeLists.txt (read by shared/labels.cc).
namespace kbo {

extern const EmbeddedFile kLabelFiles[];
extern const size_t kLabelFiles_count;

}  // namespace kbo

#endif  // KBO_SHARED_LABEL_FILES_H_
