// TLS serving: `kbo-server serve --tls-cert F --tls-key F` with a certificate
// made here (a self-signed one, by the openssl command line), and real `kbo`
// devices that enrol, push a record and a photo of two chunks, and pull
// over https. The device trusts the certificate through OpenSSL's standard
// SSL_CERT_FILE (docs/operations.md, "Internet deployment"); without it the
// same certificate is refused and nothing is lost.
#include <sys/stat.h>

#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "shared/fs.h"
#include "shared/protocol.h"
#include "tests/support/run_cli.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace kbo::testing {
namespace {

using nlohmann::json;

constexpr const char* kOpenssl = "/usr/bin/openssl";

// A self-signed P-256 certificate for 127.0.0.1 and localhost, valid 2 days.
void MakeCertificate(const TempDir& tmp, const std::string& cn,
                     const std::string& cert, const std::string& key) {
  struct stat st;
  INFO(kOpenssl << " is needed to make the test certificate (apt-get install openssl)");
  REQUIRE(::stat(kOpenssl, &st) == 0);
  CliResult r = RunBinary(
      kOpenssl,
      {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-days", "2", "-subj", "/CN=" + cn, "-addext",
       "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert},
      {{"RANDFILE", tmp.File(".rnd")}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// A PNG the photo reader accepts (signature + IHDR), padded to `size` bytes.
// Added with `photo add --as-taken` (no upload copy, so no decoding): it
// syncs as it is, a blob of a known size.
std::string PaddedPng(size_t size) {
  std::string png = std::string("\x89PNG\r\n\x1a\n", 8);
  png += std::string("\0\0\0\x0dIHDR", 8);
  png += std::string("\0\0\x01\x40\0\0\0\xf0\x08\x02\0\0\0", 13);  // 320x240
  png += std::string("\0\0\0\0", 4);
  std::mt19937 rng(11);
  while (png.size() < size) png.push_back(static_cast<char>(rng()));
  return png;
}

// Environment of a device that trusts `cert` (or nothing beyond the system
// store, when `cert` is empty).
std::map<std::string, std::string> Trusting(const std::string& cert) {
  return {{"SSL_CERT_FILE", cert.empty() ? "\x01unset" : cert},
          {"SSL_CERT_DIR", "\x01unset"}};
}

CliResult Kbo(const std::string& home, std::vector<std::string> args,
              const std::string& cert) {
  args.insert(args.begin(), {"--home", home});
  return RunBinary(KboBinary(), args, Trusting(cert));
}

std::string Token(const std::string& data, const std::string& role) {
  CliResult r = RunServerCli({"--data", data, "token", "create", "--role", role,
                              "--districts", "5011"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

json ServerList(const std::string& data, const std::string& entity) {
  CliResult r = RunServerCli({"--data", data, "list", entity, "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_array());
  return j;
}

TEST_CASE("TLS: devices enrol, push a record and a photo, and pull over https "
          "from kbo-server serve --tls-cert --tls-key",
          "[tls][integration]") {
  TempDir tmp;
  const std::string cert = tmp.File("cert.pem");
  const std::string key = tmp.File("key.pem");
  MakeCertificate(tmp, "127.0.0.1", cert, key);
  const std::string data = tmp.File("server");
  ServerProcess server(data, {"--tls-cert", cert, "--tls-key", key});
  REQUIRE(server.running());
  const std::string https = "https://127.0.0.1:" + std::to_string(server.port());

  // Plain http to the TLS port is not answered as HTTP.
  CHECK(HttpCall(server.port(), "GET", std::string(protocol::kHealthPath)).status == 0);

  // A device that does not trust the certificate: refused, as unreachable
  // (exit 4), and it is not enrolled; the token is still good.
  const std::string officer = tmp.File("officer");
  const std::string token = Token(data, "field_officer");
  CliResult r = Kbo(officer, {"enroll", "--server", https, "--token", token}, "");
  CHECK(r.exit_code == 4);
  CHECK(r.err.find("certificate is not trusted") != std::string::npos);

  // Trusting it: enrolled, and a record with a photo goes up.
  r = Kbo(officer, {"enroll", "--server", https, "--token", token}, cert);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = Kbo(officer, {"producer", "add", "--kind", "group", "--name",
                    "กลุ่มทอผ้าบ้านป่าตุ้ม", "--district", "5011"}, cert);
  REQUIRE(r.exit_code == 0);
  const std::string producer = r.out.substr(0, 36);
  const std::string png = PaddedPng(protocol::kBlobChunkBytes + 4321);  // 2 chunks
  const std::string png_path = tmp.File("prototype.png");
  REQUIRE(WriteFileAtomically(png_path, png, 0644).ok());
  r = Kbo(officer, {"photo", "add", png_path, "--as-taken", "--subject", "producer:" + producer},
          cert);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = Kbo(officer, {"sync"}, cert);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = Kbo(officer, {"status", "--json"}, cert);
  REQUIRE(r.exit_code == 0);
  const json status = json::parse(r.out, nullptr, false);
  CHECK(status["pending_changes"] == 0);
  CHECK(status["pending_blobs"] == 0);

  const json producers = ServerList(data, "producer");
  REQUIRE(producers.size() == 1);
  CHECK(producers[0]["id"] == producer);
  const json photos = ServerList(data, "photo");
  REQUIRE(photos.size() == 1);
  const std::string sha = photos[0]["sha256"];
  auto stored = ReadFileBounded(data + "/blobs/" + sha, png.size() + 1);
  REQUIRE(stored.ok());
  CHECK(*stored == png);

  // A second device pulls it over https.
  const std::string trainer = tmp.File("trainer");
  r = Kbo(trainer, {"enroll", "--server", https, "--token", Token(data, "trainer")},
          cert);
  REQUIRE(r.exit_code == 0);
  r = Kbo(trainer, {"sync"}, cert);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = Kbo(trainer, {"list", "producer", "--json"}, cert);
  REQUIRE(r.exit_code == 0);
  const json pulled = json::parse(r.out, nullptr, false);
  REQUIRE(pulled.size() == 1);
  CHECK(pulled[0]["name"] == "กลุ่มทอผ้าบ้านป่าตุ้ม");

  // The device checks the name too: a certificate for another host, trusted
  // as a file, is still refused for 127.0.0.1.
  const std::string other_cert = tmp.File("other-cert.pem");
  const std::string other_key = tmp.File("other-key.pem");
  {
    CliResult made = RunBinary(
        kOpenssl,
        {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=kbo.example.go.th", "-addext",
         "subjectAltName=DNS:kbo.example.go.th", "-keyout", other_key, "-out",
         other_cert},
        {{"RANDFILE", tmp.File(".rnd")}});
    REQUIRE(made.exit_code == 0);
  }
  server.Stop();
  ServerProcess wrong_name(data, {"--tls-cert", other_cert, "--tls-key", other_key});
  REQUIRE(wrong_name.running());
  REQUIRE(Kbo(officer, {"producer", "add", "--kind", "entrepreneur", "--name",
                        "ร้านน้ำพริกเวียง", "--district", "5011"},
              "").exit_code == 0);
  r = Kbo(officer, {"sync", "--server",
                    "https://127.0.0.1:" + std::to_string(wrong_name.port())},
          other_cert);
  CHECK(r.exit_code == 4);
  r = Kbo(officer, {"status", "--json"}, "");
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out, nullptr, false)["pending_changes"] == 1);  // kept
  CHECK(ServerList(data, "producer").size() == 1);
}

TEST_CASE("TLS: kbo-server refuses to serve with a missing or mismatched key",
          "[tls][integration]") {
  TempDir tmp;
  const std::string cert = tmp.File("cert.pem");
  const std::string key = tmp.File("key.pem");
  MakeCertificate(tmp, "127.0.0.1", cert, key);
  const std::string other_cert = tmp.File("other-cert.pem");
  const std::string other_key = tmp.File("other-key.pem");
  MakeCertificate(tmp, "localhost", other_cert, other_key);
  const std::string data = tmp.File("server");
  for (const auto& [c, k] : std::vector<std::pair<std::string, std::string>>{
           {tmp.File("absent.pem"), key}, {cert, other_key}, {cert, ""}}) {
    std::vector<std::string> args = {"--data", data, "serve", "--listen",
                                     "127.0.0.1:0", "--tls-cert", c};
    if (!k.empty()) args.insert(args.end(), {"--tls-key", k});
    CliResult r = RunServerCli(args);
    INFO(c << " / " << k << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("listening") == std::string::npos);
    CHECK_FALSE(r.err.empty());
  }
}

}  // namespace
}  // namespace kbo::testing
