#include "client/sync_client.h"

#include <algorithm>
#include <future>
#include <optional>
#include <utility>

#include "client/clock_repair.h"
#include "client/sync_internal.h"
#include "client/sync_state.h"
#include "shared/change_set_codec.h"
#include "shared/compression.h"
#include "shared/sqlite/db.h"

namespace kbo::client {

Status SyncClient::Push(SyncSummary* summary) { return PushFrom(summary, 0); }

Status SyncClient::PushFrom(SyncSummary* summary, uint64_t resend_from) {
  refused_ = false;
  counters_ = summary;
  Result<Enrolment> e = LoadEnrolment();
  if (!e.ok()) return e.status();
  Outbox outbox(store_);
  // Sets sealed earlier and not yet confirmed go first. What is still
  // pending is sealed one set at a time, each while the set before it is on
  // its way: the exchange runs on a second thread (network, request
  // signature: never the database), sealing on this one. Sets are still
  // sent strictly in order, one at a time, and each is sealed (committed
  // here) before it is sent. After a server restore (see Sync) the sets it
  // no longer holds go first instead, from the outbox's copies.
  Result<std::vector<SealedChangeSet>> pending =
      resend_from > 0 ? outbox.SealedFrom(resend_from, /*with_bytes=*/false)
                      : outbox.Unacked(/*with_bytes=*/false);
  if (!pending.ok()) return pending.status();
  std::vector<SealedChangeSet> sets = std::move(pending).value();
  Result<uint64_t> unsealed = outbox.PendingRows();
  if (!unsealed.ok()) return unsealed.status();
  bool more_to_seal = *unsealed > 0;
  // For progress, in row changes: those of the sets sealed before this sync
  // and those still pending (what seal_one seals comes out of the latter).
  uint64_t records_done = 0;
  uint64_t records_total = *unsealed;
  for (const SealedChangeSet& s : sets) records_total += s.rows;
  // Seals the next set onto `sets`; false when nothing is left to seal.
  auto seal_one = [&]() -> Result<bool> {
    if (!more_to_seal) return false;
    Result<std::optional<SealedChangeSet>> next = outbox.SealNext();
    if (!next.ok()) return next.status();
    if (!next->has_value()) {
      more_to_seal = false;
      return false;
    }
    sets.push_back(std::move(**next));
    return true;
  };
  if (sets.empty()) {
    if (Result<bool> sealed = seal_one(); !sealed.ok()) return sealed.status();
  }
  if (sets.empty()) return Status();
  // For progress: the sets there are, and about how many the rest makes.
  const size_t per_set = Outbox::kDefaultMaxRows;
  size_t expected_sets =
      sets.size() + static_cast<size_t>((*unsealed + per_set - 1) / per_set);
  auto total = [&]() {
    expected_sets = std::max(expected_sets, sets.size());
    return expected_sets;
  };

  const Uuid& device = store_.device_id();
  int redirects = 0;
  uint64_t acked = 0;
  size_t i = 0;
  Progress(SyncPhase::kPush, 0, total(), 0, records_total);
  while (i < sets.size()) {
    const uint64_t seq = sets[i].seq;
    const std::string what = "change set " + std::to_string(seq);
    Result<HttpResponse> r = Status::Internal("not sent");
    Status sealed_meanwhile;
    if (sets[i].bytes.empty()) {
      if (Status s = outbox.LoadBytes(&sets[i]); !s.ok()) return s;
    }
    // zstd when the server has said it takes it (docs/protocol.md §1 "Compressed bodies"). The
    // request signature covers the bytes sent; the change set's signature,
    // inside, stays over the canonical bytes.
    bool packed = false;
    {
      std::string body =
          protocol::EncodePushBody(sets[i].signature, sets[i].bytes);
      Headers headers;
      if (server_zstd_) {
        std::string z = compression::ZstdCompress(body);
        if (!z.empty() && z.size() < body.size()) {
          body = std::move(z);
          headers.emplace_back(protocol::kContentEncodingHeader,
                               std::string(compression::kZstd));
          packed = true;
        }
      }
      std::future<Result<HttpResponse>> exchange =
          std::async(kOverlap, [this, &body, &headers] {
            return Call("POST", std::string(protocol::kPushPath), body,
                        "application/octet-stream", kMaxReceiptBytes, headers);
          });
      if (i + 1 == sets.size()) sealed_meanwhile = seal_one().status();
      r = exchange.get();
    }
    if (!r.ok()) return r.status();
    if (packed && (r->status == 415 ||
                   (r->status == 400 &&
                    ServerError(*r).reason() == "bad_change_set"))) {
      // A server that no longer takes zstd (serve --no-zstd: 415; one from
      // before zstd reads the frame as a change set: bad_change_set). Sent
      // again plain, once: server_zstd_ is now false.
      if (Status s = SetServerZstd(false); !s.ok()) return s;
      continue;
    }
    if (r->status == 200) {
      if (Status s = NoteEncodings(*r); !s.ok()) return s;
      protocol::Receipt receipt;
      if (Status s = VerifyReceipt(e->server_key, device, seq, sets[i].hash,
                                   r->body, &receipt);
          !s.ok()) {
        return Status::Unauthenticated(
            s.message() + "; change set " + std::to_string(seq) +
            " stays unconfirmed and will be sent again");
      }
      if (Status s = outbox.Acknowledge(seq, r->body, receipt.refused,
                                        sets[i].bytes, receipt.server_rows);
          !s.ok()) {
        return s;
      }
      if (summary != nullptr && !receipt.refused.empty()) {
        // Those a later change of the same set made good are settled, not
        // refused to the person (protocol::RefusalsMadeGoodInSet).
        DecodeLimits limits;
        limits.max_bytes = protocol::kMaxPushBytes;
        Result<ChangeSet> sent = DecodeChangeSet(sets[i].bytes, limits);
        const std::vector<bool> made_good =
            sent.ok() ? protocol::RefusalsMadeGoodInSet(*sent, receipt.refused)
                      : std::vector<bool>(receipt.refused.size(), false);
        for (size_t k = 0; k < made_good.size(); ++k) {
          if (made_good[k]) continue;
          // Kept on the server for a row it does not hold (a restore):
          // applied there when the row arrives, not refused for good.
          if (receipt.refused[k].reason == protocol::kWaitsForRowReason) {
            ++summary->waiting_rows;
          } else {
            ++summary->refused_rows;
          }
        }
      }
      // Confirmed: its bytes are not needed here again (a server that asks
      // for earlier sets gets them from the outbox's copies).
      std::string().swap(sets[i].bytes);
      ++acked;
      if (summary != nullptr) {
        ++summary->pushed_sets;
        summary->pushed_rows += receipt.rows;
        summary->sent_rows += sets[i].rows;
        const uint64_t answered = receipt.rows + receipt.refused.size();
        if (sets[i].rows > answered)
          summary->needless_deletes += sets[i].rows - answered;
      }
      records_done += sets[i].rows;
      records_total = std::max(records_total, records_done);
      ++i;
      Progress(SyncPhase::kPush, i, total(), records_done, records_total);
      // A failed seal (this device's disk) stops the push once the set that
      // was on its way is confirmed.
      if (!sealed_meanwhile.ok()) return sealed_meanwhile;
      continue;
    }
    // A refusal is reported before a failed seal (which the next sync
    // meets again); the seal's error stops the push where it would go on.
    const Status said = ServerError(*r);
    const std::string error(said.ReasonOrCodeName());
    uint64_t expected = 0;
    if (r->status == 409 && error == "sequence_gap" &&
        ServerNumber(said, field::kExpected, &expected)) {
      if (++redirects > kMaxRedirects || expected == seq || expected == 0) {
        refused_ = true;
        return Status::SequenceGap(base_url_ + " keeps asking for change set " +
                                   std::to_string(expected) + " while " + what +
                                   " is sent; tell the central office");
      }
      if (expected > seq) {
        // The server already holds seq .. expected-1 (e.g. from a bundle);
        // they stay unconfirmed here until it sends their receipts again.
        auto next = std::find_if(
            sets.begin() + static_cast<std::ptrdiff_t>(i), sets.end(),
            [expected](const SealedChangeSet& x) { return x.seq == expected; });
        if (!sealed_meanwhile.ok()) return sealed_meanwhile;
        if (next != sets.end()) {
          i = static_cast<size_t>(next - sets.begin());
          continue;
        }
        if (expected == sets.back().seq + 1) {
          // It holds every set sealed so far: go on with what is pending.
          Result<bool> sealed = seal_one();
          if (!sealed.ok()) return sealed.status();
          if (!*sealed) break;
          i = sets.size() - 1;
          continue;
        }
        refused_ = true;
        return Status::FailedPrecondition(
            base_url_ + " expects change set " + std::to_string(expected) +
            ", but this device has made only " +
            std::to_string(sets.back().seq) +
            ". Another device may be using this device's identity: contact "
            "the central office (nothing here was changed)");
      }
      // The server lost change sets we sent (or this is a new server):
      // send them again from the copies the outbox keeps.
      if (!sealed_meanwhile.ok()) return sealed_meanwhile;
      Result<std::vector<SealedChangeSet>> again =
          outbox.SealedFrom(expected, /*with_bytes=*/false);
      if (!again.ok()) return again.status();
      if (again->empty() || again->front().seq != expected) {
        refused_ = true;
        return Status::SequenceGap(
            base_url_ + " expects change set " + std::to_string(expected) +
            ", which this device no longer holds; contact the central office");
      }
      // Confirmed before, lost by the server: said in the summary as the
      // sets Sync sends again after a pull are.
      if (summary != nullptr && expected < seq) summary->resent_sets += seq - expected;
      sets = std::move(again).value();
      i = 0;
      expected_sets = 0;
      records_done = 0;
      records_total = 0;
      if (more_to_seal) {
        Result<uint64_t> left = outbox.PendingRows();
        if (!left.ok()) return left.status();
        records_total = *left;
      }
      for (const SealedChangeSet& s : sets) records_total += s.rows;
      Progress(SyncPhase::kPush, 0, total(), 0, records_total);
      continue;
    }
    if (r->status == 409 &&
        (error == "sequence_conflict" || error == "prev_hash_mismatch")) {
      refused_ = true;
      // Marked, so that the next enrolment moves what the server has not
      // confirmed to a new device identity (MoveToNewDevice).
      Statement mark(store_.db(), "UPDATE sync_state SET forked_seq = ?1");
      mark.Bind(1, static_cast<int64_t>(seq));
      if (Status s = mark.Run(); !s.ok()) return s;
      const std::string& message = said.message();
      return Status::FailedPrecondition(
          base_url_ + " refused " + what + ": " +
          (message.empty() ? "it already holds a different change set under "
                             "this device's number " +
                                 std::to_string(seq)
                           : message) +
          " (" + error +
          "). This device's records have forked from what the server holds "
          "(a phone restored from a backup, or copied); nothing here was "
          "changed or lost. Ask the central office for an enrolment token and "
          "run kbo enroll with it: this device then enrols as a new device "
          "and sends what the server does not hold.");
    }
    if (error == "clock_ahead" && resend_from == 0 && !redating_) {
      if (!sealed_meanwhile.ok()) return sealed_meanwhile;
      return RedateAndPushAgain(*r, seq, summary);
    }
    return Refusal(*r, "the push of " + what);
  }
  if (acked > 0) {
    // A push taken: not forked (any more), and a new identity's key is in
    // its file for good (docs/protocol.md, "A forked device").
    Statement st(store_.db(),
                 "UPDATE sync_state SET last_push_at = ?1, forked_seq = NULL,"
                 " next_device_id = NULL, next_device_key = NULL WHERE singleton = 1");
    st.Bind(1, std::string_view(store_.NowIso()));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  return Status();
}

Status SyncClient::RedateAndPushAgain(const HttpResponse& refusal, uint64_t seq,
                                      SyncSummary* summary) {
  const std::string what = "the push of change set " + std::to_string(seq);
  // The server's clock from its answer (server_ms, else the Date header). A
  // server that sends neither still checked this request's signed time
  // against its own clock (protocol::kRequestWindowMs, 5 minutes): the two
  // clocks agreed when it was sent.
  const int64_t device_now = store_.wall().NowMillis();
  const std::optional<int64_t> server_now =
      ServerClockOf(refusal.body, refusal.Header("date"));
  if (server_now && std::llabs(device_now - *server_now) > kClockAgreementMs) {
    refused_ = true;
    return Status::FailedPrecondition(
        base_url_ + " refused " + what +
        ": this device's clock says " + ClockText(device_now) +
        " but the server's says " + ClockText(*server_now) +
        ". Set this device's date, time and time zone (automatic time is "
        "best), then run kbo sync again. Nothing here was changed "
        "(clock_ahead)");
  }
  Result<RedateResult> redated = RedateFutureChanges(store_, seq);
  if (!redated.ok()) return redated.status();
  if (redated->redated_rows == 0) {
    // Nothing here is dated ahead of the clock: not a wrong date after all.
    return Refusal(refusal, what);
  }
  if (summary != nullptr) {
    summary->redated_rows += redated->redated_rows;
    summary->clock_ahead_until_ms =
        std::max(summary->clock_ahead_until_ms, redated->ahead_until_ms);
    summary->future_values.insert(summary->future_values.end(),
                                  redated->future_values.begin(),
                                  redated->future_values.end());
  }
  redating_ = true;
  Status again = PushFrom(summary, 0);
  redating_ = false;
  return again;
}


}  // namespace kbo::client
