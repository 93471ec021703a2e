#include "shared/uuid.h"

#include <sodium.h>

#include <cstring>

#include "shared/encoding.h"
#include "shared/signing.h"

namespace kbo {

Uuid Uuid::Random() {
  InitCrypto();
  Uuid u;
  randombytes_buf(u.bytes.data(), u.bytes.size());
  u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x40);
  u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);
  return u;
}

Uuid Uuid::Derived(const Uuid& name_space, std::string_view name) {
  const std::string_view ns(reinterpret_cast<const char*>(name_space.bytes.data()),
                            name_space.bytes.size());
  // A derived id's name is about 90 bytes: hashed as one piece from the
  // stack, which saves a digest update per row of a roll-call.
  char joined[256];
  Sha256Digest digest;
  if (ns.size() + name.size() <= sizeof joined) {
    std::memcpy(joined, ns.data(), ns.size());
    std::memcpy(joined + ns.size(), name.data(), name.size());
    digest = Sha256(std::string_view(joined, ns.size() + name.size()));
  } else {
    digest = Sha256(ns, name);
  }
  Uuid u;
  for (size_t i = 0; i < u.bytes.size(); ++i) u.bytes[i] = digest[i];
  u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x80);  // v8
  u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);  // RFC variant
  return u;
}

Result<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' ||
      text[18] != '-' || text[23] != '-') {
    return Status::InvalidArgument("not an id (expected 8-4-4-4-12 hex): '" +
                                   std::string(text.substr(0, 64)) + "'");
  }
  Uuid u;
  size_t out = 0;
  for (size_t i = 0; i < text.size(); i += 2) {
    if (i == 8 || i == 13 || i == 18 || i == 23) ++i;  // the four dashes
    const int hi = HexDigitValue(text[i]);
    const int lo = HexDigitValue(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("not an id (bad hex digit): '" +
                                     std::string(text) + "'");
    }
    u.bytes[out++] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return u;
}

void Uuid::FormatTo(char (&out)[36]) const {
  const uint8_t* b = bytes.data();
  HexEncodeTo(b, 4, out);
  out[8] = '-';
  HexEncodeTo(b + 4, 2, out + 9);
  out[13] = '-';
  HexEncodeTo(b + 6, 2, out + 14);
  out[18] = '-';
  HexEncodeTo(b + 8, 2, out + 19);
  out[23] = '-';
  HexEncodeTo(b + 10, 6, out + 24);
}

std::string Uuid::ToString() const {
  char text[36];
  FormatTo(text);
  return std::string(text, sizeof text);
}

bool Uuid::IsNil() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace kbo
