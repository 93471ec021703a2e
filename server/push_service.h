#ifndef KBO_SERVER_PUSH_SERVICE_H_
#define KBO_SERVER_PUSH_SERVICE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "server/enrolment.h"
#include "server/server_store.h"
#include "shared/protocol.h"
#include "shared/result.h"
#include "shared/signing.h"
#include "shared/uuid.h"

namespace kbo::server {

// The answer to an accepted push.
struct PushResult {
  protocol::Receipt receipt;
  // The response body, exactly as first sent and as kept in change_set_log
  // (wire::EncodeReceiptAnswer).
  std::string response_json;
  // True when this change set had been applied before and this is the stored
  // answer again (an idempotent re-push); nothing was written.
  bool repeated = false;
  // Applied from a revoked device's bundle, as the operator asked
  // (PushFromBundle's accept_revoked).
  bool from_revoked = false;
};

// A push response body through wire::ParseReceiptAnswer (the stored answer
// of a repeated push, tools and tests); does not verify. kCorruption naming
// the field if it is not one.
Result<PushResult> ParsePushResponse(std::string_view json_text,
                                     Signature* signature);

// Accepts signed change sets from devices (DESIGN §6), over HTTP or from a
// bundle, through the same checks. No HTTP types. Not thread-safe (see
// ServerStore).
class PushService {
 public:
  // Refused rows one device may have open (not yet settled: sent again and
  // accepted, or deleted) in refused_row. A set whose refusals would take
  // the device beyond it is refused whole ("too_many_refused"): refused rows
  // are stored twice (the log and refused_row), so a device must not grow
  // them without end.
  static constexpr int64_t kMaxOpenRefusedRows = 10000;

  explicit PushService(ServerStore& store) : store_(store) {}
  PushService(const PushService&) = delete;
  PushService& operator=(const PushService&) = delete;

  // POST /v1/push from `device`, whose request signature RequestAuth has
  // verified. `body` is protocol::EncodePushBody(signature, change set).
  // Everything below happens in ONE transaction; on any refusal nothing is
  // stored. Refusals, in the order checked:
  //   kResourceExhausted: body over protocol::kMaxPushBytes;
  //   kCorruption: the body or the change set does not decode;
  //   kPermissionDenied ("wrong_device"): the set names another device;
  //   kInvalidArgument ("unsupported_schema"): a newer schema than ours;
  //   kUnauthenticated: the device is unknown; kPermissionDenied
  //     ("revoked"): it was revoked;
  //   kUnauthenticated ("bad_signature"): the change set signature does not
  //     verify with the device's key (kChangeSetDomain);
  //   kPermissionDenied ("forged_hlc"): a row's hlc names another device;
  //   kInvalidArgument ("clock_ahead"): a row's hlc is more than 24 h ahead
  //     of the server's clock;
  //   sequence: seq <= last_seq with the same hash -> the stored answer
  //     again (repeated = true); with another hash -> kSequenceGap
  //     ("sequence_conflict", logged: a forked device); seq > last_seq + 1 ->
  //     kSequenceGap ("sequence_gap", field "expected" = last_seq + 1);
  //     prev_hash != hash of the device's previous set -> kSequenceGap
  //     ("prev_hash_mismatch");
  //   scope and values: see ApplyAtServer (server/server_apply.h);
  //   kResourceExhausted ("too_many_refused"): the device's open refused
  //     rows and this set's would be more than max_open_refused().
  // Then: merged (row i gets server sequence first + i), conflicts recorded,
  // the signed set kept verbatim in change_set_log with its answer, and the
  // device's last_seq/last_hash advanced. The device's open refusals of
  // rows this set carries and the server now accepted (or which it deletes)
  // are settled (settled_at, settled_seq). The receipt carries the server's
  // rows of the refused row changes of rows it holds in the device's
  // districts (Receipt::server_rows, at most kMaxReceiptServerRowsBytes).
  Result<PushResult> Push(const DeviceRecord& device, std::string_view body);

  // A push body from a bundle file: the change set's own signature by an
  // enrolled, unrevoked device authenticates it. Otherwise as Push. With
  // `accept_revoked`, that one revoked device's sets are taken too (the
  // operator vouches for them: `bundle import --accept-revoked DEVICE`;
  // still signed by its key, still within its districts).
  Result<PushResult> PushFromBundle(std::string_view body,
                                    const Uuid* accept_revoked = nullptr);

  // Tests set a small cap.
  void set_max_open_refused(int64_t n) { max_open_refused_ = n; }
  int64_t max_open_refused() const { return max_open_refused_; }

 private:
  Result<PushResult> Ingest(const Uuid* authenticated, std::string_view body,
                            const Uuid* accept_revoked = nullptr);

  ServerStore& store_;
  int64_t max_open_refused_ = kMaxOpenRefusedRows;
};

}  // namespace kbo::server

#endif  // KBO_SERVER_PUSH_SERVICE_H_
