#include "client/outbox.h"

#include <cstring>

#include "schema/schema.h"
#include "shared/change_set_codec.h"
#include "shared/sqlite/migrate.h"

namespace kbo::client {
namespace {

Result<std::vector<SealedChangeSet>> ReadSealed(Db& db, const std::string& where,
                                                int64_t arg) {
  Statement st(db, "SELECT seq, bytes, signature, hash, acked_at IS NOT NULL "
                   "FROM change_set WHERE " + where + " ORDER BY seq");
  st.Bind(1, arg);
  std::vector<SealedChangeSet> out;
  while (st.Step()) {
    SealedChangeSet s;
    s.seq = static_cast<uint64_t>(st.ColumnInt(0));
    s.bytes = st.ColumnBlob(1);
    const std::string sig = st.ColumnBlob(2);
    const std::string hash = st.ColumnBlob(3);
    if (sig.size() != s.signature.size() || hash.size() != s.hash.size()) {
      return Status::Corruption("change set " + std::to_string(s.seq) +
                                " in field.db is damaged");
    }
    std::memcpy(s.signature.data(), sig.data(), sig.size());
    std::memcpy(s.hash.data(), hash.data(), hash.size());
    s.acked = st.ColumnInt(4) != 0;
    out.push_back(std::move(s));
  }
  if (!st.status().ok()) return st.status();
  return out;
}

}  // namespace

Result<std::optional<SealedChangeSet>> Outbox::SealNext(size_t max_rows) {
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();

  ChangeSet cs;
  cs.device = store_.device_id();
  cs.schema_version = static_cast<uint16_t>(
      LatestSchemaVersion(schema::kReplicaMigrations, schema::kReplicaMigrations_count));
  {
    Statement st(db, "SELECT seq, hash FROM change_set ORDER BY seq DESC LIMIT 1");
    if (st.Step()) {
      cs.seq = static_cast<uint64_t>(st.ColumnInt(0)) + 1;
      const std::string hash = st.ColumnBlob(1);
      if (hash.size() != cs.prev_hash.size()) {
        return Status::Corruption("last change set hash in field.db is damaged");
      }
      std::memcpy(cs.prev_hash.data(), hash.data(), hash.size());
    } else {
      cs.seq = 1;
    }
    if (!st.status().ok()) return st.status();
  }
  int64_t last_id = 0;
  {
    Statement st(db, "SELECT id, cells FROM outbox WHERE change_set_seq IS NULL "
                     "ORDER BY id LIMIT ?1");
    st.Bind(1, static_cast<int64_t>(max_rows));
    while (st.Step()) {
      last_id = st.ColumnInt(0);
      Result<ChangeSet> one = DecodeChangeSet(st.ColumnBlob(1));
      if (!one.ok() || one->rows.size() != 1) {
        return Status::Corruption("outbox entry " + std::to_string(last_id) +
                                  " in field.db is damaged");
      }
      cs.rows.push_back(std::move(one->rows[0]));
    }
    if (!st.status().ok()) return st.status();
  }
  if (cs.rows.empty()) return std::optional<SealedChangeSet>();

  SealedChangeSet sealed;
  sealed.seq = cs.seq;
  sealed.bytes = EncodeChangeSet(cs);
  sealed.signature = store_.key().Sign(kChangeSetDomain, sealed.bytes);
  sealed.hash = HashChangeSetBytes(sealed.bytes);
  {
    Statement st(db, "INSERT INTO change_set (seq, hash, bytes, signature, created_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)");
    st.Bind(1, static_cast<int64_t>(sealed.seq))
        .BindBlob(2, std::string_view(reinterpret_cast<const char*>(sealed.hash.data()),
                                      sealed.hash.size()))
        .BindBlob(3, sealed.bytes)
        .BindBlob(4, std::string_view(reinterpret_cast<const char*>(sealed.signature.data()),
                                      sealed.signature.size()))
        .Bind(5, std::string_view(store_.NowIso()));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  {
    Statement st(db, "UPDATE outbox SET change_set_seq = ?1 "
                     "WHERE change_set_seq IS NULL AND id <= ?2");
    st.Bind(1, static_cast<int64_t>(sealed.seq)).Bind(2, last_id);
    if (Status s = st.Run(); !s.ok()) return s;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return std::optional<SealedChangeSet>(std::move(sealed));
}

Result<size_t> Outbox::SealAll(size_t max_rows) {
  size_t n = 0;
  for (;;) {
    auto sealed = SealNext(max_rows);
    if (!sealed.ok()) return sealed.status();
    if (!sealed->has_value()) return n;
    ++n;
  }
}

Result<std::vector<SealedChangeSet>> Outbox::Unacked() {
  return ReadSealed(store_.db(), "acked_at IS NULL AND seq >= ?1", 0);
}

Result<std::vector<SealedChangeSet>> Outbox::SealedFrom(uint64_t from_seq) {
  return ReadSealed(store_.db(), "seq >= ?1", static_cast<int64_t>(from_seq));
}

Status Outbox::Acknowledge(uint64_t seq, std::string_view receipt) {
  Db& db = store_.db();
  Statement st(db, "UPDATE change_set SET acked_at = COALESCE(acked_at, ?2), "
                   "receipt = COALESCE(receipt, ?3) WHERE seq = ?1");
  st.Bind(1, static_cast<int64_t>(seq))
      .Bind(2, std::string_view(store_.NowIso()))
      .BindBlob(3, receipt);
  if (Status s = st.Run(); !s.ok()) return s;
  if (db.Changes() == 0) {
    return Status::NotFound("no sealed change set " + std::to_string(seq));
  }
  return Status();
}

}  // namespace kbo::client
