#include "shared/bytes.h"

namespace kbo {

// The failures are out of line, so the reads stay small enough to inline.
// Only the first failure is kept: later ones follow from it.

bool ByteReader::Fail(const std::string& why) {
  if (ok()) {
    error_ = Status::Corruption(why + " (at offset " +
                                std::to_string(offset()) + ")");
  }
  return false;
}

bool ByteReader::Expect(std::string_view literal, const char* what) {
  if (ok() && bytes_.substr(pos_, literal.size()) == literal) {
    pos_ += literal.size();
    return true;
  }
  if (ok()) {
    std::string shown;  // printable, for a message (a magic may end in \n)
    for (char c : literal) {
      if (c >= 0x20 && c < 0x7f) shown += c;
    }
    error_ = Status::Corruption(std::string("not ") + what + " (no \"" +
                                shown + "\" at offset " +
                                std::to_string(offset()) + ")");
  }
  return false;
}

bool ByteReader::Truncated(uint64_t n, const char* what, const char* suffix) {
  if (ok()) {
    error_ = Status::Corruption(std::string(what) + suffix + " needs " +
                                std::to_string(n) + " bytes at offset " +
                                std::to_string(offset()) + ", only " +
                                std::to_string(remaining()) +
                                " left (truncated?)");
  }
  return false;
}

bool ByteReader::BadVarint(const char* what) {
  if (ok()) {
    error_ = Status::Corruption(std::string(what) + " before offset " +
                                std::to_string(offset()) +
                                " is not a varint of at most 64 bits");
  }
  return false;
}

bool ByteReader::BadLength(uint64_t n, uint64_t cap, const char* what) {
  if (!ok()) return false;
  if (n > cap) {
    error_ = Status::Corruption(std::string(what) + " is " +
                                std::to_string(n) + " bytes, limit " +
                                std::to_string(cap));
  } else {
    error_ = Status::Corruption(std::string(what) + " of " +
                                std::to_string(n) + " bytes at offset " +
                                std::to_string(offset()) +
                                " runs past the end (" +
                                std::to_string(remaining()) + " left)");
  }
  return false;
}

bool ByteReader::BadCount(uint64_t count, uint64_t cap, const char* what) {
  if (!ok()) return false;
  if (count > cap) {
    error_ = Status::Corruption(std::string(what) + " is " +
                                std::to_string(count) + ", limit " +
                                std::to_string(cap));
  } else {
    error_ = Status::Corruption(std::string(what) + " " +
                                std::to_string(count) +
                                " exceeds the bytes that remain (" +
                                std::to_string(remaining()) + ")");
  }
  return false;
}

bool ByteReader::Trailing(const char* what) {
  if (ok()) {
    error_ = Status::Corruption(std::to_string(remaining()) +
                                " trailing bytes after " + what);
  }
  return false;
}

}  // namespace kbo
