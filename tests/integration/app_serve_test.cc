// The phone app served by a real kbo-server at /app/ (issue 13 item 3,
// docs/phone-app.md "Served by kbo-server", server/app_files.h): the files
// of `serve --app DIR` with their types, the isolation headers and ETags;
// nothing outside DIR, whatever the path says; a page saying so when no app
// is installed; a wrong folder refused at start; and the protocol and the
// console unchanged beside it.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/field.h"

namespace kbo::testing {
namespace {

const std::string kSecret = "OUTSIDE-THE-APP-FOLDER-7f3a";
// Thai in a served file (NFC and a combining-mark sequence: bytes, not text).
const std::string kIndex =
    "<!doctype html><html lang=\"th\"><meta charset=\"utf-8\">"
    "<title>บันทึกภาคสนาม KBO</title><p>ผู้ประกอบการ ๒๕๖๗ — เข้าร่วม ✓</p></html>\n";

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

// An app folder with one file of each type, and traps: a secret beside
// the folder, a symlink to it, a subfolder, a dot-file, a FIFO, a sparse
// file over the cap.
struct AppFolder {
  TempDir tmp;
  std::string dir = tmp.File("app");
  std::string wasm = std::string("\0asm\x01\0\0\0", 8) + std::string(3000, '\x7f');

  AppFolder() {
    REQUIRE(std::filesystem::create_directory(dir));
    Write(dir + "/index.html", kIndex);
    Write(dir + "/app.js", "self.addEventListener('fetch', () => {}); // แอป\n");
    Write(dir + "/kbo-core.wasm", wasm);
    Write(dir + "/manifest.webmanifest", "{\"name\":\"KBO ภาคสนาม\",\"start_url\":\"/app/\"}");
    Write(dir + "/style.css", "body{margin:0}");
    Write(dir + "/labels.json", "{\"th\":\"ชื่อ\"}");
    Write(dir + "/icon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    Write(dir + "/icon-192.png", "\x89PNG\r\n\x1a\n");
    Write(dir + "/notes.txt", "plain");
    Write(tmp.File("secret.txt"), kSecret);
    REQUIRE(::symlink("../secret.txt", (dir + "/link.txt").c_str()) == 0);
    REQUIRE(::symlink((tmp.File("secret.txt")).c_str(), (dir + "/abs.js").c_str()) == 0);
    REQUIRE(std::filesystem::create_directory(dir + "/sub"));
    Write(dir + "/sub/x", kSecret);
    Write(dir + "/.hidden", kSecret);
    REQUIRE(::mkfifo((dir + "/pipe.js").c_str(), 0600) == 0);
    // 64 MiB + 1, sparse: over the cap without writing 64 MiB.
    Write(dir + "/huge.wasm", "");
    std::filesystem::resize_file(dir + "/huge.wasm", (size_t{64} << 20) + 1);
  }
};

HttpReply Get(int port, const std::string& target,
              const std::map<std::string, std::string>& headers = {}) {
  return HttpCall(port, "GET", target, "", headers);
}

void RequireAppHeaders(const HttpReply& r) {
  CHECK(r.Header("cross-origin-opener-policy") == "same-origin");
  CHECK(r.Header("cross-origin-embedder-policy") == "require-corp");
  CHECK(r.Header("cross-origin-resource-policy") == "same-origin");
  CHECK(r.Header("x-content-type-options") == "nosniff");
  CHECK(r.Header("cache-control") == "no-cache");
  // Scripts only from the app's own files (and WebAssembly), nothing
  // framed, no plugins.
  const std::string csp = r.Header("content-security-policy");
  CHECK(csp.find("script-src 'self' 'wasm-unsafe-eval';") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(csp.find("object-src 'none'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
}

// Unsets KBO_APP_DIR for a test (a developer's shell may have it set), and
// sets it back after.
class AppDirEnv {
 public:
  explicit AppDirEnv(const char* value) {
    if (const char* old = std::getenv("KBO_APP_DIR")) {
      old_ = old;
      had_ = true;
    }
    if (value) {
      ::setenv("KBO_APP_DIR", value, 1);
    } else {
      ::unsetenv("KBO_APP_DIR");
    }
  }
  ~AppDirEnv() {
    if (had_) {
      ::setenv("KBO_APP_DIR", old_.c_str(), 1);
    } else {
      ::unsetenv("KBO_APP_DIR");
    }
  }

 private:
  std::string old_;
  bool had_ = false;
};

TEST_CASE("serve --app: the app's files at /app/ with types, isolation headers and ETags",
          "[app]") {
  AppDirEnv env(nullptr);
  AppFolder app;
  Field field({"--app", app.dir});
  const int port = field.server().port();

  SECTION("index at /app/, /app redirected, Thai byte-exact") {
    HttpReply r = Get(port, "/app/");
    REQUIRE(r.status == 200);
    CHECK(r.body == kIndex);
    CHECK(r.Header("content-type") == "text/html; charset=utf-8");
    RequireAppHeaders(r);
    CHECK(Get(port, "/app/index.html").body == kIndex);

    HttpReply redirect = Get(port, "/app");
    CHECK(redirect.status == 301);
    CHECK(redirect.Header("location") == "/app/");
    HttpReply query = Get(port, "/app/?v=2");
    CHECK(query.status == 200);
    CHECK(query.body == kIndex);
  }

  SECTION("content types by extension; the WebAssembly byte-exact") {
    const std::vector<std::pair<std::string, std::string>> types = {
        {"app.js", "text/javascript; charset=utf-8"},
        {"kbo-core.wasm", "application/wasm"},
        {"manifest.webmanifest", "application/manifest+json"},
        {"style.css", "text/css; charset=utf-8"},
        {"labels.json", "application/json; charset=utf-8"},
        {"icon.svg", "image/svg+xml"},
        {"icon-192.png", "image/png"},
        {"notes.txt", "application/octet-stream"},
    };
    for (const auto& [name, type] : types) {
      INFO(name);
      HttpReply r = Get(port, "/app/" + name);
      REQUIRE(r.status == 200);
      CHECK(r.Header("content-type") == type);
      RequireAppHeaders(r);
      CHECK(r.Header("etag").size() == 34);
    }
    HttpReply wasm = Get(port, "/app/kbo-core.wasm");
    CHECK(wasm.body == app.wasm);
    CHECK(Get(port, "/app/manifest.webmanifest").body ==
          "{\"name\":\"KBO ภาคสนาม\",\"start_url\":\"/app/\"}");
  }

  SECTION("the WebAssembly gzipped for a browser that accepts it, with its own ETag") {
    // (That the bytes inflate to the module is shown by tests/browser/app.js:
    // Chromium loads the app's core through this.)
    const HttpReply plain = Get(port, "/app/kbo-core.wasm");
    for (const char* accept : {"gzip, deflate", "deflate, gzip;q=0.5", "br,gzip"}) {
      INFO(accept);
      HttpReply r = Get(port, "/app/kbo-core.wasm", {{"Accept-Encoding", accept}});
      REQUIRE(r.status == 200);
      CHECK(r.Header("content-encoding") == "gzip");
      CHECK(r.Header("content-type") == "application/wasm");
      CHECK(r.Header("vary") == "Accept-Encoding");
      REQUIRE(r.body.size() > 2);
      CHECK(static_cast<unsigned char>(r.body[0]) == 0x1f);
      CHECK(static_cast<unsigned char>(r.body[1]) == 0x8b);
      CHECK(r.body.size() < app.wasm.size() / 4);  // 3000 equal bytes
      CHECK(r.Header("etag") != plain.Header("etag"));
      RequireAppHeaders(r);
      HttpReply again = Get(port, "/app/kbo-core.wasm",
                            {{"Accept-Encoding", accept}, {"If-None-Match", r.Header("etag")}});
      CHECK(again.status == 304);
      CHECK(again.body.empty());
    }
    for (const char* accept : {"deflate", "gzip;q=0", "identity"}) {
      INFO(accept);
      HttpReply r = Get(port, "/app/kbo-core.wasm", {{"Accept-Encoding", accept}});
      REQUIRE(r.status == 200);
      CHECK(r.Header("content-encoding").empty());
      CHECK(r.body == app.wasm);
      CHECK(r.Header("etag") == plain.Header("etag"));
    }
  }

  SECTION("HEAD: the headers and length, no body") {
    HttpReply r = HttpCall(port, "HEAD", "/app/kbo-core.wasm");
    REQUIRE(r.status == 200);
    CHECK(r.body.empty());
    CHECK(r.Header("content-type") == "application/wasm");
    CHECK(r.Header("content-length") == std::to_string(app.wasm.size()));
    CHECK(r.Header("etag") == Get(port, "/app/kbo-core.wasm").Header("etag"));
    RequireAppHeaders(r);
  }

  SECTION("If-None-Match naming the ETag: 304, no body; a changed file: a new ETag, no restart") {
    HttpReply first = Get(port, "/app/app.js");
    REQUIRE(first.status == 200);
    const std::string etag = first.Header("etag");
    REQUIRE(etag.size() == 34);
    CHECK(etag.front() == '"');
    CHECK(etag.back() == '"');
    CHECK(Get(port, "/app/app.js").Header("etag") == etag);  // stable
    CHECK(Get(port, "/app/style.css").Header("etag") != etag);

    for (const std::string& inm :
         {etag, "\"0000\", " + etag, "W/" + etag, std::string("*")}) {
      INFO(inm);
      HttpReply again = Get(port, "/app/app.js", {{"If-None-Match", inm}});
      CHECK(again.status == 304);
      CHECK(again.body.empty());
      CHECK(again.Header("etag") == etag);
      // What a 200 would carry, or nothing (RFC 9110 §8.6); never "0".
      CHECK(again.Header("content-length") == std::to_string(first.body.size()));
      RequireAppHeaders(again);
    }
    CHECK(Get(port, "/app/app.js", {{"If-None-Match", "\"0000\""}}).status == 200);

    // An app update: the file replaced in the folder while serving.
    Write(app.dir + "/app.js.new", "// version 2 รุ่นสอง\n");
    std::filesystem::rename(app.dir + "/app.js.new", app.dir + "/app.js");
    HttpReply updated = Get(port, "/app/app.js", {{"If-None-Match", etag}});
    CHECK(updated.status == 200);
    CHECK(updated.body == "// version 2 รุ่นสอง\n");
    CHECK(updated.Header("etag") != etag);
    CHECK(updated.Header("etag").size() == 34);
  }

  SECTION("a missing file, and every way out of the folder: 404, never the outside bytes") {
    const std::vector<std::string> targets = {
        "/app/missing.js",
        "/app/../secret.txt",
        "/app/../etc/passwd",
        "/app/%2e%2e/secret.txt",
        "/app/%2E%2E%2Fsecret.txt",
        "/app/..%2fsecret.txt",
        "/app/.hidden",
        "/app/%2ehidden",
        "/app/sub/x",
        "/app/sub%2fx",
        "/app/sub",
        "/app/link.txt",  // a symlink to ../secret.txt
        "/app/abs.js",    // a symlink to the secret's absolute path
        "/app//etc/passwd",
        "/app/%2fetc%2fpasswd",
        "/app/index.html%00.png",
        "/app/pipe.js",     // a FIFO: refused, not waited on
        "/app/huge.wasm",   // over 64 MiB
        "/app/-x",
        "/app/.",
        "/app/%2e",
        "/app/index.html/",
        "/app/a..b.js",
    };
    for (const std::string& t : targets) {
      INFO(t);
      HttpReply r = Get(port, t);
      CHECK(r.status == 404);
      CHECK(r.body.find(kSecret) == std::string::npos);
      CHECK(r.body.find("root:") == std::string::npos);
      CHECK(r.Header("location").empty());  // not the console's sign-in redirect
    }
    // Served after all that: the server is fine.
    CHECK(Get(port, "/app/").status == 200);
    CHECK(field.server().log().find("larger than 64 MiB") != std::string::npos);
  }

  SECTION("other methods under /app/ are nobody's; /v1/ and the console as before") {
    HttpReply post = HttpCall(port, "POST", "/app/app.js", "x=1",
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
    CHECK(post.status == 404);
    CHECK(ErrorOf(post) == "not_found");
    CHECK(HttpCall(port, "PUT", "/app/app.js", "x").status == 404);
    CHECK(HttpCall(port, "DELETE", "/app/app.js").status == 404);

    HttpReply health = Get(port, "/v1/health");
    CHECK(health.status == 200);
    CHECK(health.body.find("\"ok\":true") != std::string::npos);
    CHECK(Get(port, "/v1/nothing").status == 404);
    HttpReply login = Get(port, "/login");
    CHECK(login.status == 200);
    CHECK(login.Header("content-type").rfind("text/html", 0) == 0);
    CHECK(login.Header("cross-origin-embedder-policy").empty());
    HttpReply home = Get(port, "/");
    CHECK(home.status / 100 == 3);
    CHECK(home.Header("location").find("/login") != std::string::npos);
    // A path that only starts like the app's is the console's.
    CHECK(Get(port, "/application").Header("cross-origin-embedder-policy").empty());

    // A device still enrols and syncs beside the app.
    const std::string home_dir = field.Enrolled("phone", "field_officer", "5011");
    field.Producer(home_dir, "กลุ่มทอผ้า", "5011");
    field.SyncOk(home_dir);
    CHECK(field.ServerCount("SELECT COUNT(*) FROM producer") == 1);
  }
}

TEST_CASE("serve without an app: /app/ says it is not installed", "[app]") {
  AppDirEnv env(nullptr);
  Field field;
  const int port = field.server().port();
  for (const char* t : {"/app/", "/app/index.html", "/app/kbo-core.wasm",
                               "/app/../secret.txt", "/app/sub/x"}) {
    INFO(t);
    HttpReply r = Get(port, t);
    CHECK(r.status == 404);
    CHECK(r.Header("content-type") == "text/html; charset=utf-8");
    CHECK(r.body.find("ยังไม่ได้ติดตั้งแอป") != std::string::npos);
    CHECK(r.body.find("The phone app is not installed on this server") != std::string::npos);
    CHECK(r.body.find("kbo-server serve --app DIR") != std::string::npos);
    CHECK(r.body.find("build-wasm/app") != std::string::npos);
    RequireAppHeaders(r);
  }
  CHECK(Get(port, "/app").status == 301);
  CHECK(Get(port, "/v1/health").status == 200);
}

TEST_CASE("serve takes the app folder from KBO_APP_DIR when --app is not given", "[app]") {
  AppFolder app;
  AppDirEnv env(app.dir.c_str());
  Field field;  // the child inherits this process's environment
  HttpReply r = Get(field.server().port(), "/app/");
  REQUIRE(r.status == 200);
  CHECK(r.body == kIndex);
}

TEST_CASE("serve --app refuses a folder that is not the app's, before serving", "[app]") {
  AppDirEnv env(nullptr);
  TempDir tmp;
  const std::string data = tmp.File("data");
  const auto serve = [&](std::vector<std::string> extra,
                         const std::map<std::string, std::string>& env_vars = {}) {
    std::vector<std::string> args = {"--data", data, "serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunServerCli(args, env_vars);
  };

  CliResult missing = serve({"--app", "/nonexistent"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.out.empty());  // never listened
  CHECK(missing.err.find("kbo-server: the app folder '/nonexistent' cannot be opened") !=
        std::string::npos);

  REQUIRE(std::filesystem::create_directory(tmp.File("empty")));
  CliResult empty = serve({"--app=" + tmp.File("empty")});
  CHECK(empty.exit_code == 2);
  CHECK(empty.err.find("holds no index.html") != std::string::npos);

  // index.html a symlink: refused too (the server would not serve it).
  REQUIRE(std::filesystem::create_directory(tmp.File("linked")));
  Write(tmp.File("real.html"), kIndex);
  REQUIRE(::symlink(tmp.File("real.html").c_str(), tmp.File("linked/index.html").c_str()) == 0);
  CHECK(serve({"--app", tmp.File("linked")}).exit_code == 2);

  Write(tmp.File("file"), "x");
  CliResult file = serve({"--app", tmp.File("file")});
  CHECK(file.exit_code == 2);
  CHECK(file.err.find("is not a folder") != std::string::npos);

  CliResult no_value = serve({"--app"});
  CHECK(no_value.exit_code == 2);
  CHECK(no_value.err.find("--app needs a value") != std::string::npos);

  CliResult from_env = serve({}, {{"KBO_APP_DIR", "/nonexistent"}});
  CHECK(from_env.exit_code == 2);
  CHECK(from_env.err.find("KBO_APP_DIR: the app folder '/nonexistent'") != std::string::npos);

  // Nothing was made: the refusal came before the data folder was opened.
  CHECK_FALSE(std::filesystem::exists(data));
}

}  // namespace
}  // namespace kbo::testing
