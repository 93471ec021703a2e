#ifndef KBO_SERVER_LOG_H_
#define KBO_SERVER_LOG_H_

#include <string_view>

namespace kbo::server {

// Writes one line to stderr: "<ISO 8601 UTC time> <line>\n", with every
// control character of `line` escaped (\n, \r, \t, \xHH; a backslash as
// \\), so no text a client sent can start a line of its own. The request log
// and loud events (a forked device, an internal error) go here; response
// bodies never carry internals. Thread-safe: lines never interleave.
void LogLine(std::string_view line);

// Silences LogLine (tests that provoke errors on purpose). Thread-safe.
void SetLogEnabled(bool enabled);

}  // namespace kbo::server

#endif  // KBO_SERVER_LOG_H_
