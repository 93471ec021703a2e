#ifndef KBO_SHARED_VERSION_H_
#define KBO_SHARED_VERSION_H_

namespace kbo {

// Release version of both binaries (kept in step with CMakeLists.txt).
inline constexpr const char* kVersion = "0.1.0";

}  // namespace kbo

#endif  // KBO_SHARED_VERSION_H_
