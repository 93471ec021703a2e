#include "shared/protocol.h"

#include <cstring>
#include <map>
#include <set>
#include <utility>
#include <string_view>

namespace kbo::protocol {

std::string CanonicalRequest(std::string_view method, std::string_view path_with_query,
                             int64_t time_ms, std::string_view nonce,
                             std::string_view body) {
  std::string s;
  s.reserve(method.size() + path_with_query.size() + nonce.size() + 100);
  s.append(method).append("\n").append(path_with_query).append("\n");
  s.append(std::to_string(time_ms)).append("\n").append(nonce).append("\n");
  s.append(HexEncode(Sha256(body)));
  return s;
}

std::string EncodePushBody(const Signature& signature, std::string_view change_set) {
  std::string body(reinterpret_cast<const char*>(signature.data()), signature.size());
  body.append(change_set);
  return body;
}

Status DecodePushBody(std::string_view body, Signature* signature,
                      std::string_view* change_set) {
  if (body.size() < signature->size()) {
    return Status::Corruption("push body shorter than a signature");
  }
  std::memcpy(signature->data(), body.data(), signature->size());
  *change_set = body.substr(signature->size());
  return Status();
}

namespace {

// Each field length-prefixed, so no text (an entity name comes from the
// device) can pass for a field boundary.
std::string RefusedLines(const Receipt& r) {
  std::string out;
  for (const RefusedRow& x : r.refused) {
    std::string fields;
    for (const std::string* f : {&x.entity, &x.row_id, &x.reason, &x.message}) {
      fields += std::to_string(f->size()) + ":" + *f;
    }
    out += "\nrefused " + std::to_string(x.index) + " " +
           HexEncode(Sha256(fields));
  }
  return out;
}

}  // namespace

std::string ReceiptMessage(const Receipt& r) {
  return "kbo-receipt-v1\n" + r.device_id + "\n" + std::to_string(r.seq) + "\n" +
         r.hash + "\n" + std::to_string(r.first_server_seq) + "\n" +
         std::to_string(r.last_server_seq) + "\n" + std::to_string(r.rows) + "\n" +
         std::to_string(r.conflicts) + "\n" + r.received_at + RefusedLines(r);
}

std::string ReceiptRowsMessage(const Receipt& r) {
  return "kbo-receipt-rows-v1\n" + ReceiptMessage(r) + "\n" +
         HexEncode(Sha256(r.server_rows));
}

std::string PullPageMessage(std::string_view device_id, uint64_t after,
                            uint64_t next_cursor, bool more, std::string_view body,
                            std::optional<uint64_t> since,
                            std::optional<std::string_view> districts) {
  std::string m = std::string(device_id) + "\n" + std::to_string(after) + "\n" +
                  std::to_string(next_cursor) + "\n" + (more ? "1" : "0") + "\n" +
                  HexEncode(Sha256(body));
  if (since.has_value()) m += "\nsince " + std::to_string(*since);
  if (districts.has_value()) m += "\ndistricts " + std::string(*districts);
  return m;
}

std::string ConflictsMessage(std::string_view device_id, uint64_t after,
                             std::string_view body) {
  return std::string(device_id) + "\nconflicts\n" + std::to_string(after) + "\n" +
         HexEncode(Sha256(body));
}

std::vector<bool> RefusalsMadeGoodInSet(const ChangeSet& cs,
                                        const std::vector<RefusedRow>& refused) {
  std::vector<bool> out(refused.size(), false);
  if (refused.empty()) return out;
  std::vector<bool> refused_at(cs.rows.size(), false);
  for (const RefusedRow& r : refused) {
    if (r.index < cs.rows.size()) refused_at[r.index] = true;
  }
  // The taken changes of each row that has a refusal, in set order: one
  // pass over the set, then each refusal looks only at its own row's.
  std::map<std::pair<std::string_view, Uuid>, std::vector<size_t>> taken;
  for (const RefusedRow& r : refused) {
    if (r.index < cs.rows.size()) {
      taken.try_emplace({cs.rows[r.index].entity, cs.rows[r.index].row_id});
    }
  }
  for (size_t j = 0; j < cs.rows.size(); ++j) {
    if (refused_at[j]) continue;
    auto it = taken.find({cs.rows[j].entity, cs.rows[j].row_id});
    if (it != taken.end()) it->second.push_back(j);
  }
  for (size_t k = 0; k < refused.size(); ++k) {
    const RefusedRow& r = refused[k];
    if (r.index >= cs.rows.size()) continue;
    const RowChange& bad = cs.rows[r.index];
    if (bad.entity != r.entity || bad.row_id.ToString() != r.row_id) continue;
    std::set<std::string_view> to_cover;
    for (const CellWrite& c : bad.cells) to_cover.insert(c.column);
    for (size_t j : taken.at({bad.entity, bad.row_id})) {
      if (j <= r.index) continue;
      for (const CellWrite& c : cs.rows[j].cells) to_cover.erase(c.column);
      if (to_cover.empty()) break;
    }
    out[k] = to_cover.empty();
  }
  return out;
}

}  // namespace kbo::protocol
