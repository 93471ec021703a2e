#ifndef KBO_SHARED_ERROR_BODY_H_
#define KBO_SHARED_ERROR_BODY_H_

// The one error body of KBO Field: what kbo-server's API, its console's
// /api/ answers and kbo ui's JSON answer with when they refuse
// (docs/protocol.md, "Errors"). One encoder, one parser, both sides:
//
//   {"error":   Status::ReasonOrCodeName()  (since 1.0; what older kbo reads)
//    "message": Status::message()           (for a person, never parsed)
//    <name>:    each Status field, in order: a text, an integer, or an
//               object of texts ("expected": 7, "field": "otop_stars",
//               "fields": {"otop_stars": "..."})
//    "code":    CodeName(Status::code())    (added: the exact code)}
//
// Keys are only ever added, never renamed: an older kbo reads a newer
// server's errors and the other way round.

#include <string>
#include <string_view>

#include "shared/status.h"

namespace kbo {

// Bounds on a parsed body: an error answer is a few hundred bytes.
inline constexpr size_t kMaxErrorBodyBytes = 64 << 10;
inline constexpr size_t kMaxErrorFields = 32;
inline constexpr size_t kMaxErrorFieldTexts = 256;

// The body of an error answer for `s` (not OK). Fields named "error",
// "message" or "code" are left out (they are the body's own keys).
std::string EncodeErrorBody(const Status& s);

// The body of an answer an edge refuses by name: `error` a CodeName() or a
// reason, the code that name's (or, for a reason, `http_status`'s).
std::string EncodeErrorBody(std::string_view error, std::string message,
                            int http_status);

// The HTTP status of an error answer for `s`: HttpStatusFor(s.code()), but
// 422 for a blob whose bytes do not hash to its name (reason hash_mismatch).
int HttpStatusOfError(const Status& s);

// Reads an error answer of HTTP status `http_status` into `*error`: its code
// ("code", else "error" when it is a CodeName, else from the HTTP status),
// reason ("error" when it is not the code's name), message and fields.
// Refuses (kCorruption, or kResourceExhausted past the bounds; `*error` then
// untouched) a body that is not a JSON object, whose "error", "message" or
// "code" is not text, whose "code" names no code, or whose known fields
// (shared/status.h, field::) have the wrong type. Unknown keys of another
// type (a newer server's) are skipped.
Status ParseErrorBody(std::string_view body, int http_status, Status* error);

// The code a refusal of HTTP status `http_status` means when its body says
// nothing usable.
Code CodeForHttpStatus(int http_status);

}  // namespace kbo

#endif  // KBO_SHARED_ERROR_BODY_H_
