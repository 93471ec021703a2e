#include "shared/signing.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

#if KBO_HAVE_LIBCRYPTO
#include <openssl/evp.h>
#endif
#include <sodium.h>

#include "shared/fs.h"

namespace kbo {
namespace {

// Key file, version 1: three lines of text, so a person can see what the
// file is; mode 0600.
//   kbo-device-key v1
//   public <64 lowercase hex: Ed25519 public key>
//   secret <128 lowercase hex: libsodium secret key, seed || public key>
constexpr std::string_view kKeyFileHeader = "kbo-device-key v1";
// A valid key file is 223 bytes; anything much larger is not one, and is
// not read into memory.
constexpr size_t kMaxKeyFileBytes = 4096;

static_assert(crypto_sign_PUBLICKEYBYTES == 32, "PublicKey::bytes size");
static_assert(crypto_sign_SECRETKEYBYTES == 64, "KeyPair secret size");
static_assert(crypto_sign_BYTES == 64, "Signature size");
static_assert(crypto_hash_sha256_BYTES == 32, "Sha256Digest size");

// Wipes secret material held in a std::string before it is freed.
void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
}

// domain || 0x00 || message. The separator keeps the encoding prefix-free:
// no (domain, message) pair can produce the bytes of another pair, since no
// domain contains 0x00.
std::string SignedBytes(std::string_view domain, std::string_view message) {
  std::string buf;
  buf.reserve(domain.size() + 1 + message.size());
  buf.append(domain);
  buf.push_back('\0');
  buf.append(message);
  return buf;
}

std::string HexOf(const uint8_t* data, size_t n) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(data), n));
}

// Reads the key file through one descriptor, so the mode checked is the mode
// of the file read.
Result<std::string> ReadKeyFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Status::NotFound("no device key at '" + path + "'");
    }
    return Status::IOError("open '" + path + "': " + std::strerror(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IOError("stat '" + path + "': " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Corruption("'" + path + "' is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o",
                  static_cast<unsigned>(st.st_mode & 07777));
    // (A local file's state, not a refusal by a server: not the "refused"
    // exit code. The device's key and the server's are read here.)
    return Status::FailedPrecondition(
        "key file '" + path + "' has mode " + mode +
        "; it must be 0600 (readable by its owner only). If someone else may "
        "have read it, treat the key as leaked: a device enrols again (a new "
        "key), a server's key is replaced only by setting the province up "
        "again (docs/operations.md). If you are sure nobody else could read "
        "it: chmod 600 the file");
  }
  std::string text;
  text.reserve(kMaxKeyFileBytes + 1);  // no reallocation: no stray copies
  char chunk[512];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      sodium_memzero(chunk, sizeof chunk);
      Wipe(text);
      return Status::IOError("read '" + path + "': " + std::strerror(err));
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxKeyFileBytes) {
      ::close(fd);
      sodium_memzero(chunk, sizeof chunk);
      Wipe(text);
      return Status::Corruption("'" + path + "' is too large for a key file");
    }
    text.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  sodium_memzero(chunk, sizeof chunk);
  // Moved, never copied: a copy of the secret would outlive Wipe().
  return Result<std::string>(std::move(text));
}

// Splits off the next '\n'-terminated line of `*rest`; false if none.
bool NextLine(std::string_view* rest, std::string_view* line) {
  const size_t nl = rest->find('\n');
  if (nl == std::string_view::npos) return false;
  *line = rest->substr(0, nl);
  rest->remove_prefix(nl + 1);
  return true;
}

bool TakePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

}  // namespace

void InitCrypto() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fputs("kbo: libsodium failed to initialize (no entropy source?)\n",
                 stderr);
      std::abort();
    }
  });
}

#if KBO_HAVE_LIBCRYPTO
namespace {

// libcrypto's SHA-256 uses the CPU's SHA extensions (or AVX2) where present:
// about 5x libsodium's portable C on a change set, 3.5x on a 100-byte derived
// id (docs/decisions.md). The digest is fetched once per process and each
// thread reuses one context, which avoids OpenSSL 3's per-call algorithm
// lookup (it costs more than hashing 100 bytes). Both are null if libcrypto
// cannot provide SHA-256; then libsodium's is used: same function.
const EVP_MD* OpenSslSha256() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* ThreadMdCtx() {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

}  // namespace

Sha256Digest Sha256(std::string_view bytes) { return Sha256(bytes, {}); }

Sha256Digest Sha256(std::string_view first, std::string_view second) {
  Sha256Digest d;
  const EVP_MD* md = OpenSslSha256();
  EVP_MD_CTX* ctx = md != nullptr ? ThreadMdCtx() : nullptr;
  unsigned int len = 0;
  if (ctx != nullptr && EVP_DigestInit_ex2(ctx, md, nullptr) == 1 &&
      EVP_DigestUpdate(ctx, first.data(), first.size()) == 1 &&
      (second.empty() || EVP_DigestUpdate(ctx, second.data(), second.size()) == 1) &&
      EVP_DigestFinal_ex(ctx, d.data(), &len) == 1 && len == d.size()) {
    return d;
  }
  std::string joined(first);
  joined.append(second);
  return Sha256Portable(joined);
}

#else  // !KBO_HAVE_LIBCRYPTO: the WebAssembly build, libsodium only.

Sha256Digest Sha256(std::string_view bytes) { return Sha256Portable(bytes); }

Sha256Digest Sha256(std::string_view first, std::string_view second) {
  InitCrypto();
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(
      &state, reinterpret_cast<const unsigned char*>(first.data()), first.size());
  crypto_hash_sha256_update(
      &state, reinterpret_cast<const unsigned char*>(second.data()), second.size());
  Sha256Digest d;
  crypto_hash_sha256_final(&state, d.data());
  return d;
}

#endif  // KBO_HAVE_LIBCRYPTO

Sha256Digest Sha256Portable(std::string_view bytes) {
  InitCrypto();
  Sha256Digest d;
  crypto_hash_sha256(d.data(),
                     reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size());
  return d;
}

std::string HexEncode(const Sha256Digest& digest) {
  return HexOf(digest.data(), digest.size());
}

std::string PublicKey::ToHex() const {
  return HexOf(bytes.data(), bytes.size());
}

Result<PublicKey> PublicKey::FromHex(std::string_view hex) {
  PublicKey key;
  Status s =
      HexDecodeTo(hex, key.bytes.data(), key.bytes.size(), "public key");
  if (!s.ok()) return s;
  return key;
}

KeyPair KeyPair::Generate() {
  InitCrypto();
  KeyPair kp;
  crypto_sign_keypair(kp.public_.bytes.data(), kp.secret_.data());
  return kp;
}

KeyPair::KeyPair(KeyPair&& other) noexcept
    : public_(other.public_), secret_(other.secret_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

KeyPair& KeyPair::operator=(KeyPair&& other) noexcept {
  if (this != &other) {
    public_ = other.public_;
    secret_ = other.secret_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

KeyPair::~KeyPair() { sodium_memzero(secret_.data(), secret_.size()); }

Signature KeyPair::Sign(std::string_view domain,
                        std::string_view message) const {
  InitCrypto();
  const std::string buf = SignedBytes(domain, message);
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(buf.data()),
                       buf.size(), secret_.data());
  return sig;
}

std::string KeyPair::ToKeyText() const {
  std::string text;
  text.reserve(256);  // one allocation: no stray copies of the secret
  text.append(kKeyFileHeader);
  text.append("\npublic ");
  text.append(public_.ToHex());
  text.append("\nsecret ");
  std::string secret_hex = HexOf(secret_.data(), secret_.size());
  text.append(secret_hex);
  text.append("\n");
  Wipe(secret_hex);
  return text;
}

Status KeyPair::SaveToFile(const std::string& path) const {
  std::string text = ToKeyText();
  Status s = WriteFileAtomically(path, text, 0600);
  Wipe(text);
  return s;
}

Result<KeyPair> KeyPair::LoadFromFile(const std::string& path) {
  Result<std::string> file = ReadKeyFile(path);
  if (!file.ok()) return file.status();
  Result<KeyPair> kp = FromKeyText(*file, "'" + path + "'");
  Wipe(*file);
  return kp;
}

Result<KeyPair> KeyPair::FromKeyText(std::string_view key_text, const std::string& what) {
  InitCrypto();
  std::string text(key_text);
  const std::string& path = what;

  const auto malformed = [&](const std::string& why) {
    Wipe(text);
    return Status::Corruption(path + " is not a kbo device key: " + why);
  };
  std::string_view rest = text;
  std::string_view header, pub_line, sec_line;
  if (!NextLine(&rest, &header) || header != kKeyFileHeader) {
    return malformed("first line is not \"" + std::string(kKeyFileHeader) +
                     "\"");
  }
  if (!NextLine(&rest, &pub_line) || !TakePrefix(&pub_line, "public ")) {
    return malformed("second line is not \"public <hex>\"");
  }
  if (!NextLine(&rest, &sec_line) || !TakePrefix(&sec_line, "secret ")) {
    return malformed("third line is not \"secret <hex>\"");
  }
  if (!rest.empty()) return malformed("unexpected text after the secret key");

  KeyPair kp;
  if (Status s = HexDecodeTo(pub_line, kp.public_.bytes.data(),
                                kp.public_.bytes.size(), "public key");
      !s.ok()) {
    return malformed(s.message());
  }
  if (Status s = HexDecodeTo(sec_line, kp.secret_.data(), kp.secret_.size(),
                                "secret key");
      !s.ok()) {
    return malformed(s.message());
  }
  Wipe(text);

  // Rebuild the pair from the seed and compare both halves: a secret key
  // whose embedded public key was edited (or a mismatched public line) would
  // otherwise sign with one key while the server checks another.
  // (crypto_sign_ed25519_sk_to_pk only copies the embedded half.)
  unsigned char seed[crypto_sign_SEEDBYTES];
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, kp.secret_.data());
  crypto_sign_seed_keypair(pk, sk, seed);
  const bool matches =
      sodium_memcmp(pk, kp.public_.bytes.data(), sizeof pk) == 0 &&
      sodium_memcmp(sk, kp.secret_.data(), sizeof sk) == 0;
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(sk, sizeof sk);
  if (!matches) {
    return Status::Corruption(path + ": public key does not match the secret key");
  }
  return Result<KeyPair>(std::move(kp));
}

bool Verify(const PublicKey& key, std::string_view domain,
            std::string_view message, const Signature& signature) {
  InitCrypto();
  const std::string buf = SignedBytes(domain, message);
  return crypto_sign_verify_detached(
             signature.data(),
             reinterpret_cast<const unsigned char*>(buf.data()), buf.size(),
             key.bytes.data()) == 0;
}

std::string SignatureToHex(const Signature& s) {
  return HexOf(s.data(), s.size());
}

Result<Signature> SignatureFromHex(std::string_view hex) {
  Signature sig;
  Status s = HexDecodeTo(hex, sig.data(), sig.size(), "signature");
  if (!s.ok()) return s;
  return sig;
}

}  // namespace kbo
