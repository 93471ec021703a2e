#include "client/sync_client.h"

#include <algorithm>
#include <cctype>

#include "client/clock_repair.h"
#include "client/sync_internal.h"
#include "shared/compression.h"
#include "shared/error_body.h"
#include "shared/labels.h"

namespace kbo::client {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

// "2.4 MiB"; below 1 MiB in KiB ("36 KiB", not "0.0 MiB").
std::string MiB(uint64_t bytes) {
  char buf[32];
  if (bytes < (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%llu KiB",
                  static_cast<unsigned long long>((bytes + 1023) / 1024));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB",
                  static_cast<double>(bytes) / (1 << 20));
  }
  return buf;
}

std::string Count(uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

Status ServerError(const HttpResponse& r) {
  Status said;
  if (!ParseErrorBody(r.body, r.status, &said).ok()) {
    said = Status::FromCode(CodeForHttpStatus(r.status), "");
  }
  return said;
}

// The Code of a refusal: the server's, except that only "sequence_gap" is a
// gap this device fills by sending what it holds; another 409 reason
// (sequence_conflict, prev_hash_mismatch, offset_mismatch, pull_restart) is a
// state it resolves otherwise.
Code CodeForServerError(const Status& said) {
  if (said.code() == Code::kSequenceGap && !said.reason().empty()) {
    return Code::kFailedPrecondition;
  }
  return said.code();
}

// The server's "expected" or "received" (shared/status.h, field::), if a
// number from 0 up.
bool ServerNumber(const Status& said, std::string_view name, uint64_t* out) {
  const int64_t* v = said.IntegerField(name);
  if (v == nullptr || *v < 0) return false;
  *out = static_cast<uint64_t>(*v);
  return true;
}

// True if the answer says the server takes zstd bodies (RFC 7694).
bool SaysZstd(const HttpResponse& answer) {
  const std::string* v = answer.Header(protocol::kAcceptEncodingHeader);
  return v != nullptr && compression::AcceptsZstd(*v);
}

// ---- Free functions
// ---------------------------------------------------------------

const char* SyncPhaseName(SyncPhase phase) {
  switch (phase) {
    case SyncPhase::kPush:
      return "push";
    case SyncPhase::kPull:
      return "pull";
    case SyncPhase::kConflicts:
      return "conflicts";
    case SyncPhase::kPhotos:
      return "photos";
  }
  return "sync";
}

namespace {

// 1234567 -> "1,234,567".
std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Bytes as a person reads them: "900 B", "142 KiB", "3.4 MiB".
std::string ShortBytes(double bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  } else if (bytes < 1024.0 * 1024) {
    std::snprintf(buf, sizeof buf, "%.0f KiB", bytes / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
  }
  return buf;
}

// "about 5 s", "about 3 min", "about 2 h 10 min".
std::string TimeLeft(double seconds) {
  const uint64_t s = static_cast<uint64_t>(seconds + 0.5);
  if (s < 60) return "about " + std::to_string(s < 1 ? 1 : s) + " s left";
  const uint64_t min = (s + 30) / 60;
  if (min < 60) return "about " + std::to_string(min) + " min left";
  return "about " + std::to_string(min / 60) + " h " + std::to_string(min % 60) +
         " min left";
}

}  // namespace

SyncProgressEstimate EstimateSyncProgress(const SyncProgressReport& r,
                                          double phase_seconds) {
  SyncProgressEstimate e;
  switch (r.phase) {
    case SyncPhase::kPush:
      e.done = r.records_done;
      e.total = r.records_total;
      break;
    case SyncPhase::kPull:
      e.done = r.records_done;
      break;
    case SyncPhase::kConflicts:
      e.done = r.done;
      break;
    case SyncPhase::kPhotos:
      e.done = r.done;
      e.total = r.total;
      e.in_bytes = true;
      break;
  }
  if (e.total > 0) {
    e.fraction = std::min(1.0, static_cast<double>(e.done) / static_cast<double>(e.total));
  }
  // A rate needs a moment of measuring: not before a second, nor from
  // nothing done.
  if (phase_seconds >= 1.0 && e.done > 0) {
    e.per_s = static_cast<double>(e.done) / phase_seconds;
    if (e.total > e.done) e.seconds_left = static_cast<double>(e.total - e.done) / e.per_s;
  }
  return e;
}

std::string FormatSyncProgress(const SyncProgressReport& r,
                               uint64_t phase_wire_bytes, double phase_seconds) {
  const SyncProgressEstimate e = EstimateSyncProgress(r, phase_seconds);
  std::string text = std::string(SyncPhaseName(r.phase)) + ": ";
  if (e.in_bytes) {
    text += ShortBytes(static_cast<double>(e.done)) + " of " +
            ShortBytes(static_cast<double>(e.total));
  } else {
    text += Grouped(e.done);
    if (e.total > 0) text += " of " + Grouped(e.total);
    const bool one = (e.total > 0 ? e.total : e.done) == 1;
    text += r.phase == SyncPhase::kConflicts ? (one ? " conflict record" : " conflict records")
                                             : (one ? " record" : " records");
    if (phase_wire_bytes > 0) {
      text += ", " + ShortBytes(static_cast<double>(phase_wire_bytes)) +
              (r.phase == SyncPhase::kPush ? " sent" : " received");
    }
  }
  if (e.per_s > 0) {
    text += ", " + (e.in_bytes ? ShortBytes(e.per_s) + "/s"
                               : Grouped(static_cast<uint64_t>(e.per_s + 0.5)) + " records/s");
  }
  if (e.seconds_left >= 0) text += ", " + TimeLeft(e.seconds_left);
  return text;
}

const std::string* HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? nullptr : &it->second;
}

std::string DescribeSummary(const SyncSummary& s) {
  std::string out;
  if (s.pushed_sets == 0) {
    out = "nothing to push";
  } else {
    // The changes sent, whatever became of them (refused ones and needless
    // deletes are said after).
    const uint64_t sent = std::max(s.sent_rows, s.pushed_rows);
    out = "pushed " + Count(s.pushed_sets, "change set", "change sets") + " (" +
          Count(sent, "change", "changes");
    if (s.needless_deletes > 0) {
      out += sent == s.needless_deletes ? ": " : "; ";
      out += Count(s.needless_deletes, "delete", "deletes") + " of " +
             (s.needless_deletes == 1 ? "a row" : "rows") +
             " the server never held, nothing to do there";
    }
    out += ")";
  }
  // A sync cut before its pull says nothing of the pull.
  if (s.pulled_rows > 0) {
    out += ", pulled " + Count(s.pulled_rows, "change", "changes");
  } else if (s.pull_pages > 0 && s.rows_left_districts == 0) {
    out += ", nothing new to pull";
  }
  if (s.rows_left_districts > 0) {
    out += ", " + Count(s.rows_left_districts, "row", "rows") +
           " moved to a district outside this device's (no longer on this "
           "device; the server keeps them)";
  }
  // Only news: a conflict the device already knew, or one that arrives
  // already resolved, is not announced again.
  if (s.new_conflicts > 0) {
    out += ", " + Count(s.new_conflicts, "new conflict", "new conflicts") +
           " from the server";
  }
  if (s.blobs_uploaded == 0 && s.blob_bytes > 0) {
    // Bytes of a photo not yet whole on the server (the sync was cut): not
    // "uploaded 0 photos (4.5 MiB)".
    out += ", sent " + MiB(s.blob_bytes) + " of a photo not yet whole on the server";
  } else if (s.blobs_uploaded > 0) {
    out += ", uploaded " + Count(s.blobs_uploaded, "photo", "photos") + " (" +
           MiB(s.blob_bytes) +
           (s.blob_bytes_before > 0
                ? " sent now; " + MiB(s.blob_bytes_before) +
                      " were on the server already"
                : std::string()) +
           ")";
  }
  if (s.blobs_already_held > 0) {
    out += ", " + Count(s.blobs_already_held, "photo", "photos") +
           " already on the server (nothing sent)";
  }
  if (s.originals_uploaded > 0) {
    out += ", sent " + Count(s.originals_uploaded, "original", "originals") +
           " as taken (" + MiB(s.original_bytes) + ")";
  }
  if (s.originals_already_held > 0) {
    out += ", " + Count(s.originals_already_held, "original", "originals") +
           " asked for already on the server (sent as taken)";
  }
  if (s.thumbnails_fetched > 0) {
    out += ", received " +
           Count(s.thumbnails_fetched, "photo preview", "photo previews");
  }
  if (s.blobs_held_back > 0) {
    out += "; " + Count(s.blobs_held_back, "photo", "photos") +
           " kept here: the server holds no photo row for them (refused?)";
  }
  if (s.blobs_refused > 0) {
    out += "; " + Count(s.blobs_refused, "photo", "photos") +
           " larger than the server takes: kept on this device, not sent "
           "again (`kbo status` counts them)";
  }
  if (s.originals_held_back > 0) {
    out += "; " + Count(s.originals_held_back, "original", "originals") +
           " asked for could not go (kept here; `kbo photo upload-originals "
           "--photo ID` tries one again and says why)";
  }
  if (s.waiting_rows > 0) {
    out += "; " + Count(s.waiting_rows, "change waits", "changes wait") +
           " on the server for a row it does not hold yet (restored from a "
           "backup? its writer sends it again): applied when it arrives";
  }
  if (s.refused_rows > 0) {
    out += "; the server refused " + Count(s.refused_rows, "change", "changes") +
           " (kept there for the office; `kbo refused list` says why, and "
           "what to do)";
  }
  if (s.redated_rows > 0) {
    out = "this device's clock was ahead (its changes were dated up to " +
          ClockText(s.clock_ahead_until_ms) + "); " +
          Count(s.redated_rows, "unsent change", "unsent changes") +
          " re-dated to the right time; " + out;
  }
  if (!s.future_values.empty()) {
    // Full ids, to paste into kbo edit.
    constexpr size_t kListed = 3;
    out += "; " +
           Count(s.future_values.size(), "time", "times") +
           " recorded by that clock " +
           (s.future_values.size() == 1 ? "is" : "are") +
           " still after now (only the person knows when it was; kbo edit "
           "corrects it): ";
    for (size_t i = 0; i < s.future_values.size() && i < kListed; ++i) {
      const FutureValue& f = s.future_values[i];
      if (i > 0) out += ", ";
      const std::optional<int64_t> at = ParseIsoUtcMillis(f.value);
      out += f.entity + " " + f.row_id.ToString() + " " + f.column + " " +
             (at.has_value() ? ClockText(*at) : f.value);
    }
    if (s.future_values.size() > kListed) {
      out += " and " + std::to_string(s.future_values.size() - kListed) + " more";
    }
  }
  if (s.resent_sets > 0) {
    out += "; sent " + Count(s.resent_sets, "change set", "change sets") +
           " again that the server had lost (restored from a backup?)";
  }
  if (s.server_rewound) {
    out += "; the server holds less than this device received from it before "
           "(restored from a backup?): what it holds since was pulled again";
  }
  return out;
}

Result<std::string> NormalizeServerUrl(std::string_view url) {
  const std::string given(url);
  auto bad = [&given](const std::string& why) {
    return Status::InvalidArgument("'" + given + "' is not a server URL (" +
                                   why +
                                   "; e.g. https://kbo.example.go.th or "
                                   "http://192.168.1.10:8787)");
  };
  // Spaces around it come with a pasted address (a chat, a spreadsheet).
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!url.empty() && space(url.front())) url.remove_prefix(1);
  while (!url.empty() && space(url.back())) url.remove_suffix(1);
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return bad("it needs http:// or https://");
  const std::string scheme = Lower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") {
    return bad("only http:// and https:// are supported");
  }
  std::string_view rest = url.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return bad("a path after the host is not supported");
  }
  if (rest.find('@') != std::string_view::npos)
    return bad("no user name in it");
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after ]");
      port = after.substr(1);
      if (port.empty()) return bad("an empty port");
    }
  } else if (const size_t colon = rest.rfind(':');
             colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return bad("an empty port");
  }
  if (host.empty()) return bad("no host");
  if (host.front() != '[') {
    for (char c : host) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
            c == '.' || c == '_')) {
        return bad("the host has a character that is not allowed");
      }
    }
  }
  uint64_t port_number = 0;
  if (port.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad("the port must be a number from 1 to 65535, with nothing else in the address");
  }
  if (!port.empty() && (!ParseU64(port, &port_number) || port_number == 0 ||
                        port_number > 65535)) {
    return bad("the port must be 1 to 65535");
  }
  std::string out = scheme + "://" + Lower(host);
  if (!port.empty()) out += ":" + std::to_string(port_number);
  return out;
}

}  // namespace kbo::client
