#include "client/sync_client.h"

#include <algorithm>
#include <utility>

#include "client/sync_internal.h"
#include "shared/entities.h"
#include "shared/wire.h"

namespace kbo::client {

std::string NewNonce() {
  // 128 random bits: two v4 uuids (122 random bits each) through SHA-256.
  const Uuid a = Uuid::Random();
  const Uuid b = Uuid::Random();
  std::string seed(reinterpret_cast<const char*>(a.bytes.data()),
                   a.bytes.size());
  seed.append(reinterpret_cast<const char*>(b.bytes.data()), b.bytes.size());
  const Sha256Digest d = Sha256(seed);
  return HexEncode(
      std::string_view(reinterpret_cast<const char*>(d.data()), 16));
}

std::vector<std::pair<std::string, std::string>> SignRequest(
    const KeyPair& key, const Uuid& device, std::string_view method,
    std::string_view path_with_query, std::string_view body, int64_t time_ms,
    std::string_view nonce) {
  const Signature sig = key.Sign(
      kRequestDomain, protocol::CanonicalRequest(method, path_with_query,
                                                 time_ms, nonce, body));
  return {{protocol::kDeviceHeader, device.ToString()},
          {protocol::kTimeHeader, std::to_string(time_ms)},
          {protocol::kNonceHeader, std::string(nonce)},
          {protocol::kSignatureHeader, SignatureToHex(sig)}};
}

// At most 60 bytes of a header value for a message: printable ASCII kept,
// anything else shown as '?'.
std::string ShownHeader(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < 60; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (text.size() > 60) out += "...";
  return out;
}

Status VerifyReceipt(const PublicKey& server_key, const Uuid& device,
                     uint64_t seq, const Sha256Digest& hash,
                     std::string_view json, protocol::Receipt* receipt) {
  const std::string what =
      "the server's receipt for change set " + std::to_string(seq);
  Result<wire::ReceiptAnswer> answer = wire::ParseReceiptAnswer(json);
  if (!answer.ok()) {
    return Status::Unauthenticated(what + " is damaged: " +
                                   answer.status().message());
  }
  protocol::Receipt& r = answer->receipt;
  if (!Verify(server_key, kReceiptDomain, protocol::ReceiptMessage(r),
              answer->signature)) {
    return Status::Unauthenticated(what +
                                   " is not signed by the server key pinned at "
                                   "enrolment");
  }
  // Issue 9: the server's rows of refused edits and deletes, under a second
  // signature over the receipt and them (docs/protocol.md §5); the parser
  // refuses server_rows without a rows_signature.
  if (!r.server_rows.empty() &&
      !Verify(server_key, kReceiptDomain, protocol::ReceiptRowsMessage(r),
              *answer->rows_signature)) {
    return Status::Unauthenticated(what +
                                   "'s server rows are not signed by the "
                                   "server key pinned at enrolment");
  }
  const std::string sent_hash = HexEncode(hash);
  if (r.device_id != device.ToString() || r.seq != seq ||
      Lower(r.hash) != sent_hash) {
    return Status::Unauthenticated(
        what + " names " + r.device_id + " #" + std::to_string(r.seq) + " " +
        r.hash + ", not the change set sent (" + device.ToString() + " #" +
        std::to_string(seq) + " " + sent_hash + ")");
  }
  *receipt = std::move(r);
  return Status();
}

Status VerifyPullPage(const PublicKey& server_key, const Uuid& device,
                      uint64_t after, const HttpResponse& page,
                      uint64_t* next_cursor, bool* more,
                      std::optional<uint64_t> since, bool* departures) {
  const std::string what = "the pull page after " + std::to_string(after);
  const std::string* next_text = page.Header(protocol::kNextCursorHeader);
  const std::string* more_text = page.Header(protocol::kMoreHeader);
  const std::string* sig_text = page.Header(protocol::kSignatureHeader);
  uint64_t next = 0;
  if (next_text == nullptr || !ParseU64(*next_text, &next)) {
    return Status::Unauthenticated(what + " has no valid " +
                                   protocol::kNextCursorHeader);
  }
  if (more_text == nullptr || (*more_text != "0" && *more_text != "1")) {
    return Status::Unauthenticated(what + " has no valid " +
                                   protocol::kMoreHeader);
  }
  const bool has_more = *more_text == "1";
  if (sig_text == nullptr) {
    return Status::Unauthenticated(what + " is not signed");
  }
  std::optional<uint64_t> answered;
  if (const std::string* since_text = page.Header(protocol::kPullSinceHeader)) {
    uint64_t s = 0;
    if (!since.has_value() || !ParseU64(*since_text, &s) || s != *since) {
      return Status::Unauthenticated(what + " answers a " +
                                     protocol::kPullSinceHeader +
                                     " it was not asked for");
    }
    answered = s;
  }
  // A page that marks departures signs the districts it names: they tell a
  // marker from a row of this device's own districts.
  std::optional<std::string_view> districts;
  if (const std::string* marks = page.Header(protocol::kDeparturesHeader)) {
    const std::string* named = page.Header(protocol::kDeviceDistrictsHeader);
    if (*marks != "1" || named == nullptr) {
      return Status::Unauthenticated(what + " marks departures without naming "
                                     "this device's districts; nothing of it was applied");
    }
    districts = *named;
  }
  Result<Signature> sig = SignatureFromHex(*sig_text);
  if (!sig.ok() ||
      !Verify(server_key, kPullPageDomain,
              protocol::PullPageMessage(device.ToString(), after, next, has_more,
                                        page.body, answered, districts),
              *sig)) {
    return Status::Unauthenticated(what +
                                   " is not signed by the server key pinned at "
                                   "enrolment; nothing of it was applied");
  }
  if (next < after || (has_more && next == after)) {
    return Status::Corruption(what + " moves the cursor to " +
                              std::to_string(next) +
                              (has_more ? " and says there is more" : ""));
  }
  *next_cursor = next;
  *more = has_more;
  if (departures != nullptr) *departures = districts.has_value();
  return Status();
}

Status VerifyConflicts(const PublicKey& server_key, const Uuid& device,
                       uint64_t after, const HttpResponse& answer) {
  const std::string* sig_text = answer.Header(protocol::kSignatureHeader);
  Result<Signature> sig =
      sig_text == nullptr
          ? Result<Signature>(Status::Unauthenticated("unsigned"))
          : SignatureFromHex(*sig_text);
  if (!sig.ok() ||
      !Verify(server_key, kPullPageDomain,
              protocol::ConflictsMessage(device.ToString(), after, answer.body),
              *sig)) {
    return Status::Unauthenticated(
        "the conflict list after " + std::to_string(after) +
        " is not signed by the server key pinned at enrolment");
  }
  return Status();
}

// ---- SyncClient
// ---------------------------------------------------------------------

}  // namespace kbo::client
