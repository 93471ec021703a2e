// libFuzzer target: every answer from the server that the client parses
// (client/sync_client.h), driven through SyncClient itself with a fake
// transport (tools/fuzzers/client_home.h), so that the fuzzed bytes reach the
// same code a real answer does; and each of the protocol's message parsers
// (shared/wire.h) on its own, where what one accepts must encode and parse
// back to the same message.
//
// The fake transport signs what it serves with the key the device pinned,
// so content behind a signature check (pull pages, conflict lists) is
// reached too; what a forged signature does is covered by the tests.
//
// Input: mode:u8, then per mode:
//   0 enrolment answer      body (POST /v1/enroll, HTTP 200)
//   1 push receipt          body (VerifyReceipt, ParsePushResponse)
//   2 pull page             next "\n" more "\n" device-last-seq "\n" body
//                           (the headers as sent; body a change set)
//   3 conflict list         body (GET /v1/conflicts, after an empty pull)
//   4 refusal               status:u8 body (any 4xx/5xx answer's JSON)
//   5 photo upload answers  status:u8 body ("\0" body)* (GET then PUTs)
//   6 every wire parser     body (enrolment answer and request, receipt,
//                           conflict record and page, blob state, missing
//                           blobs, originals asked for, an original's
//                           notice, thumbnails request and answer, pull
//                           page body)
// The home is replaced every few thousand inputs (pulled rows accumulate).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "client/blob_store.h"
#include "shared/protocol.h"
#include "shared/wire.h"
#include "tools/fuzzers/client_home.h"

namespace {

using namespace kbo;
using client::HttpRequest;
using client::HttpResponse;

// A 1x1 PNG header: all ReadImageInfo needs for a photo to upload.
std::string TinyPng() {
  static const unsigned char png[] = {
      0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
      'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde};
  return std::string(reinterpret_cast<const char*>(png), sizeof png);
}

uint64_t Number(std::string_view text) {
  return std::strtoull(std::string(text).c_str(), nullptr, 10);
}

uint64_t QueryAfter(const std::string& path) {
  const size_t at = path.find("after=");
  return at == std::string::npos ? 0 : Number(path.substr(at + 6));
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

struct Home {
  fuzz::ClientHome home;
  std::string photo_sha;
  Home() {
    client::BlobStore blobs(home.store().paths().blobs);
    Result<client::StoredBlob> stored = blobs.AddPhotoBytes(TinyPng(), "tiny.png");
    FUZZ_CHECK(stored.ok());
    photo_sha = stored->sha256;
    Statement st(home.store().db(),
                 "INSERT INTO blob_upload (sha256, bytes, mime) VALUES (?1, ?2,"
                 " 'image/png')");
    st.Bind(1, std::string_view(photo_sha))
        .Bind(2, static_cast<int64_t>(TinyPng().size()));
    FUZZ_CHECK(st.Run().ok());
  }
  // Back to where every input starts: cursors at 0, the photo not uploaded.
  void Reset() {
    FUZZ_CHECK(home.store()
                   .db()
                   .Exec("UPDATE sync_state SET pull_cursor = 0,"
                         " conflict_cursor = 0;"
                         "UPDATE blob_upload SET uploaded_bytes = 0,"
                         " done_at = NULL")
                   .ok());
  }
};

HttpResponse Signed(const fuzz::ClientHome& home, const Uuid& device,
                    uint64_t after, uint64_t next, bool more,
                    std::string_view next_text, std::string_view more_text,
                    std::string body) {
  HttpResponse r = fuzz::JsonAnswer(200, "");
  const Signature sig = home.server_key().Sign(
      kPullPageDomain,
      protocol::PullPageMessage(device.ToString(), after, next, more, body));
  r.headers["x-kbo-next-cursor"] = std::string(next_text);
  r.headers["x-kbo-more"] = std::string(more_text);
  r.headers["x-kbo-signature"] = SignatureToHex(sig);
  r.headers["content-type"] = "application/octet-stream";
  r.body = std::move(body);
  return r;
}

HttpResponse SignedConflicts(const fuzz::ClientHome& home, const Uuid& device,
                             uint64_t after, std::string body) {
  HttpResponse r = fuzz::JsonAnswer(200, std::move(body));
  const Signature sig = home.server_key().Sign(
      kPullPageDomain, protocol::ConflictsMessage(device.ToString(), after, r.body));
  r.headers["x-kbo-signature"] = SignatureToHex(sig);
  return r;
}

std::string EmptyConflicts(uint64_t after) {
  wire::ConflictsPage page;
  page.next = after;
  return wire::EncodeConflictsPage(page);
}

// Each wire parser on the same bytes; what one accepts must encode and
// parse back to itself (the encoder and parser agree on every field).
void EveryParser(std::string_view in) {
  if (Result<wire::EnrollReply> r = wire::ParseEnrollReply(in); r.ok()) {
    Result<wire::EnrollReply> again =
        wire::ParseEnrollReply(wire::EncodeEnrollReply(*r));
    FUZZ_CHECK(again.ok() && again->device_id == r->device_id &&
               again->role == r->role && again->districts == r->districts &&
               again->server_id == r->server_id &&
               again->server_public_key.ToHex() == r->server_public_key.ToHex() &&
               again->protocol == r->protocol);
  }
  if (Result<wire::EnrollRequest> r = wire::ParseEnrollRequest(in); r.ok()) {
    Result<std::string> text = wire::EncodeEnrollRequest(*r);
    FUZZ_CHECK(text.ok());
    Result<wire::EnrollRequest> again = wire::ParseEnrollRequest(*text);
    FUZZ_CHECK(again.ok() && again->token == r->token &&
               again->device_id == r->device_id &&
               again->clock_ms == r->clock_ms);
  }
  if (Result<wire::ReceiptAnswer> r = wire::ParseReceiptAnswer(in); r.ok()) {
    FUZZ_CHECK(r->receipt.refused.size() <= wire::kMaxRefusedRows);
    FUZZ_CHECK(r->receipt.server_rows.empty() || r->rows_signature);
    // Text that is not UTF-8 is replaced when encoded: compare the rest.
    Result<wire::ReceiptAnswer> again =
        wire::ParseReceiptAnswer(wire::EncodeReceiptAnswer(*r));
    FUZZ_CHECK(again.ok() && again->receipt.seq == r->receipt.seq &&
               again->receipt.rows == r->receipt.rows &&
               again->receipt.refused.size() == r->receipt.refused.size() &&
               again->receipt.server_rows == r->receipt.server_rows &&
               again->signature == r->signature &&
               again->rows_signature == r->rows_signature);
  }
  if (Result<wire::ConflictsPage> r = wire::ParseConflictsPage(in); r.ok()) {
    FUZZ_CHECK(r->conflicts.size() <= wire::kMaxConflictsPerPage);
    FUZZ_CHECK(wire::ParseConflictsPage(wire::EncodeConflictsPage(*r)).ok());
  }
  if (Result<wire::ConflictRecord> r = wire::ParseConflict(in); r.ok()) {
    Result<wire::ConflictRecord> again =
        wire::ParseConflict(wire::EncodeConflict(*r));
    FUZZ_CHECK(again.ok() && again->id.size() == r->id.size() &&
               again->feed_seq == r->feed_seq &&
               again->resolution_seq == r->resolution_seq &&
               again->current_value.has_value() == r->current_value.has_value());
  }
  if (Result<wire::BlobState> r = wire::ParseBlobState(in); r.ok()) {
    FUZZ_CHECK(r->received <= r->total);
    Result<wire::BlobState> again = wire::ParseBlobState(wire::EncodeBlobState(*r));
    FUZZ_CHECK(again.ok() && again->received == r->received &&
               again->total == r->total && again->complete == r->complete);
  }
  if (Result<std::vector<std::string>> r = wire::ParseMissingBlobs(in); r.ok()) {
    Result<std::vector<std::string>> again =
        wire::ParseMissingBlobs(wire::EncodeMissingBlobs(*r));
    FUZZ_CHECK(again.ok() && *again == *r);
  }
  if (Result<std::vector<Uuid>> r = wire::ParseOriginalRequests(in); r.ok()) {
    Result<std::vector<Uuid>> again =
        wire::ParseOriginalRequests(wire::EncodeOriginalRequests(*r));
    FUZZ_CHECK(again.ok() && *again == *r);
  }
  if (Result<wire::OriginalNotice> r = wire::ParseOriginalNotice(in); r.ok()) {
    FUZZ_CHECK(!r->declined.empty() || (r->bytes > 0 && r->bytes <= wire::kMaxOriginalBytes));
    Result<wire::OriginalNotice> again =
        wire::ParseOriginalNotice(wire::EncodeOriginalNotice(*r));
    FUZZ_CHECK(again.ok() && again->photo_id == r->photo_id &&
               again->sha256 == r->sha256 && again->upload_sha256 == r->upload_sha256 &&
               again->bytes == r->bytes && again->mime == r->mime &&
               again->declined == r->declined);
  }
  if (Result<std::vector<std::string>> r = wire::ParseThumbsRequest(in); r.ok()) {
    FUZZ_CHECK(!r->empty() && r->size() <= protocol::kThumbsPerRequest);
    Result<std::vector<std::string>> again =
        wire::ParseThumbsRequest(wire::EncodeThumbsRequest(*r));
    FUZZ_CHECK(again.ok() && *again == *r);
  }
  if (!in.empty()) {
    // The batched thumbnails answer, for as many photos as the first byte
    // says (0 to 33: one more than a request may name).
    const size_t count = static_cast<uint8_t>(in[0]) % (protocol::kThumbsPerRequest + 2);
    if (Result<std::vector<wire::ThumbAnswer>> r = wire::ParseThumbs(in.substr(1), count);
        r.ok()) {
      FUZZ_CHECK(r->size() == count);
      FUZZ_CHECK(wire::EncodeThumbs(*r) == in.substr(1));  // one spelling
      for (const wire::ThumbAnswer& a : *r) {
        FUZZ_CHECK(a.jpeg.size() <= protocol::kMaxThumbBytes);
        FUZZ_CHECK(a.state == wire::ThumbState::kThumb || a.jpeg.empty());
      }
    }
  }
  if (Result<ChangeSet> r = wire::DecodePullPage(in, DecodeLimits()); r.ok()) {
    FUZZ_CHECK(r->device.IsNil() && r->seq == 0);
  }
}

HttpResponse EmptyPage(const fuzz::ClientHome& home, const Uuid& device,
                       uint64_t after) {
  return Signed(home, device, after, after, false, std::to_string(after), "0", "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<Home> h;
  static int uses = 0;
  if (size == 0) return 0;
  if (!h || ++uses >= 5000) {
    h.reset();
    h = std::make_unique<Home>();
    uses = 0;
  }
  fuzz::ClientHome& home = h->home;
  const Uuid device = home.store().device_id();
  const uint8_t mode = data[0] % 7;
  std::string_view in = fuzz::Bytes(data + 1, size - 1);
  bool replace = false;
  {
  client::SyncClient sync(home.store(), home.Options());
  fuzz::FakeTransport& transport = home.transport();

  switch (mode) {
    case 0: {
      transport.handler = [&](const HttpRequest&) {
        return fuzz::JsonAnswer(200, std::string(in));
      };
      Result<client::EnrollResult> r = sync.Enroll(fuzz::kServerUrl, "fuzz-token");
      fuzz::Say("enrol", r.status().ToString());
      if (r.ok()) {
        FUZZ_CHECK(!r->role.empty() && !r->districts.empty());
        FUZZ_CHECK(PublicKey::FromHex(r->server_public_key).ok());
        replace = true;  // another key is pinned now: start from a fresh home
      }
      break;
    }
    case 1: {
      protocol::Receipt receipt;
      const Sha256Digest hash = Sha256("change set");
      Status s = client::VerifyReceipt(home.server_key().public_key(), device, 1,
                                       hash, in, &receipt);
      FUZZ_CHECK(!s.ok());  // nothing here is signed by the pinned key
      Result<wire::ReceiptAnswer> parsed = wire::ParseReceiptAnswer(in);
      fuzz::Say("receipt", s.ToString() + " / " + parsed.status().ToString());
      break;
    }
    case 2: {
      const std::string_view next_text = fuzz::TakeUntil(in, '\n');
      const std::string_view more_text = fuzz::TakeUntil(in, '\n');
      const std::string_view last_seq = fuzz::TakeUntil(in, '\n');
      transport.handler = [&](const HttpRequest& req) {
        const uint64_t after = QueryAfter(req.path);
        if (StartsWith(req.path, protocol::kConflictsPath)) {
          return SignedConflicts(home, device, after, EmptyConflicts(after));
        }
        if (after != 0) return EmptyPage(home, device, after);
        HttpResponse r = Signed(home, device, after, Number(next_text),
                                more_text == "1", next_text, more_text,
                                std::string(in));
        r.headers["x-kbo-device-last-seq"] = std::string(last_seq);
        return r;
      };
      client::SyncSummary summary;
      Status s = sync.Pull(&summary);
      fuzz::Say("pull", s.ToString() + " rows " + std::to_string(summary.pulled_rows) +
                            " conflicts " + std::to_string(summary.conflicts));
      break;
    }
    case 3: {
      transport.handler = [&](const HttpRequest& req) {
        const uint64_t after = QueryAfter(req.path);
        if (StartsWith(req.path, protocol::kConflictsPath)) {
          return SignedConflicts(home, device, after,
                                 after == 0 ? std::string(in)
                                            : EmptyConflicts(after));
        }
        return EmptyPage(home, device, after);
      };
      client::SyncSummary summary;
      Status s = sync.Pull(&summary);
      fuzz::Say("pull", s.ToString() + " rows " + std::to_string(summary.pulled_rows) +
                            " conflicts " + std::to_string(summary.conflicts));
      break;
    }
    case 4: {
      if (in.empty()) break;
      const int status = 400 + static_cast<uint8_t>(in[0]) % 200;
      const std::string body(in.substr(1));
      transport.handler = [&](const HttpRequest&) {
        return fuzz::JsonAnswer(status, body);
      };
      Result<client::EnrollResult> r = sync.Enroll(fuzz::kServerUrl, "fuzz-token");
      fuzz::Say("refusal", r.status().ToString());
      FUZZ_CHECK(!r.ok());
      break;
    }
    case 5: {
      if (in.empty()) break;
      const int first_status = static_cast<uint8_t>(in[0]) % 2 ? 200 : 404;
      in.remove_prefix(1);
      std::vector<std::string> bodies;
      while (!in.empty() && bodies.size() < 8) {
        bodies.emplace_back(fuzz::TakeUntil(in, '\0'));
      }
      size_t next = 0;
      transport.handler = [&](const HttpRequest& req) {
        std::string body = next < bodies.size() ? bodies[next] : "";
        const bool first = next++ == 0;
        if (first && req.method == "GET") {
          return fuzz::JsonAnswer(first_status, body);
        }
        return fuzz::JsonAnswer(next <= bodies.size() ? 200 : 503, body);
      };
      client::SyncSummary summary;
      Status s = sync.UploadBlobs(&summary);
      fuzz::Say("upload", s.ToString() + " bytes " + std::to_string(summary.blob_bytes));
      break;
    }
    case 6:
      EveryParser(in);
      break;
  }
  transport.handler = nullptr;
  }
  if (replace) {
    h.reset();
  } else {
    h->Reset();
  }
  return 0;
}
