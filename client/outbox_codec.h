#ifndef KBO_CLIENT_OUTBOX_CODEC_H_
#define KBO_CLIENT_OUTBOX_CODEC_H_

// The encoding of one outbox entry (outbox_cells.cells): the row changes of
// one user action, kept on this device until they are sealed into a signed
// change set (shared/change_set_codec.h, the wire format). Private to the
// client, so it is built for the disk, not the wire: entity and column names
// once per entry, references as 16 bytes, this device's id once, numbers as
// varints. An attendance mark takes about 160 bytes instead of 373, which
// halves what a roll-call or an import writes besides its rows
// (docs/performance.md).
//
//   entry   := "KBOX" version:u8(=1) device:16 nnames:varint name*
//              nrows:varint row*
//   name    := len:varint bytes                 (entity and column names)
//   row     := entity:varint(name index) row_id:16 flags:u8
//              [device:16 if flags & 1] wall_ms:zigzag varint counter:varint
//              ncells:varint cell*
//   cell    := column:varint(name index) type:u8 payload base:varint
//   payload := null: nothing | integer: zigzag varint | real: 8 bytes LE |
//              text, blob: len:varint bytes | uuid text: 16 bytes
//              (type 5: text that is a canonical lowercase uuid)
// flags bit 0: the row's hlc names another device than the entry's (never
// for a local write; kept so that any RowChange round-trips).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/change_set.h"
#include "shared/result.h"

namespace kbo::client {

class OutboxEntryWriter {
 public:
  explicit OutboxEntryWriter(const Uuid& device) : device_(device) {}

  void Add(const RowChange& row);
  size_t rows() const { return rows_; }
  // Bytes so far (the body; the header adds the names and ~25 bytes).
  size_t size() const { return body_size_; }
  // The whole entry; the writer is then empty again.
  std::string Finish();
  void Clear();

 private:
  uint64_t NameIndex(std::string_view name);
  // Room for `n` more bytes after the body (not zeroed, unlike a string's
  // resize: every row would clear its bound first).
  char* Reserve(size_t n);

  Uuid device_;
  std::vector<std::string> names_;
  size_t next_name_ = 0;  // where NameIndex looks first
  std::unique_ptr<char[]> body_;  // body_size_ bytes written, of body_capacity_
  size_t body_size_ = 0;
  size_t body_capacity_ = 0;
  size_t rows_ = 0;
};

// Decodes an entry written by OutboxEntryWriter. The bytes are this device's
// own, but a damaged file must not crash it: every length and count is
// checked against what remains (kCorruption, never a partial result).
Result<std::vector<RowChange>> DecodeOutboxEntry(std::string_view bytes);

}  // namespace kbo::client

#endif  // KBO_CLIENT_OUTBOX_CODEC_H_
