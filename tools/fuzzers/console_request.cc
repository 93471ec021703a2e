// libFuzzer target: a request to the office console (server/console), as
// server/http_api.cc hands it over after httplib has parsed it (the parser
// itself is the http_request target's).
//
// Input, one field per line: a method byte and flags (line 1: 'G' GET,
// anything else POST; then '1' to send the signed-in admin's session
// cookie, '2' to also send its CSRF token), the path, the query and the form
// (each "k=v&k=v", undecoded, so any bytes reach the handlers), then cookie
// text. Every route runs: pages, JSON twins, forms that write (office edits,
// resolutions, targets, tokens, merges).
//
// Properties checked on every input:
//   - an answer is a status from 200 to 599 and never a 5xx;
//   - without the session cookie nothing but /login answers 200;
//   - a write without the session's CSRF token changes nothing (the
//     audit log does not grow).
// Not reached: sign-in and new passwords (POST /login, /users, passwd), which
// hash with Argon2id (64 MiB per call, over this target's allocation cap;
// tests/server/console_test.cc covers them).

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "server/console/console.h"
#include "server/console/users.h"
#include "server/log.h"
#include "server/server_store.h"
#include "shared/signing.h"
#include "shared/sqlite/db.h"
#include "tools/fuzzers/fuzz_support.h"

namespace {

using namespace kbo;
namespace console = kbo::server::console;

struct World {
  fuzz::ScratchDir dir;
  std::unique_ptr<server::ServerStore> store;
  std::unique_ptr<console::Console> con;
  std::string cookie;
  std::string csrf;
};
World* g_world = nullptr;

int64_t AuditRows(server::ServerStore& store) {
  Statement st(store.db(), "SELECT COUNT(*) FROM audit_log");
  return st.Step() ? st.ColumnInt(0) : -1;
}

// "a=1&b=2" into `out`, as is.
void Pairs(std::string_view text, std::multimap<std::string, std::string>* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) amp = text.size();
    const std::string_view kv = text.substr(pos, amp - pos);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) {
      out->emplace(std::string(kv), "");
    } else {
      out->emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
    pos = amp + 1;
  }
}

std::string_view NextLine(std::string_view* in) {
  const size_t nl = in->find('\n');
  std::string_view line = in->substr(0, nl);
  *in = nl == std::string_view::npos ? std::string_view() : in->substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  server::SetLogEnabled(false);
  g_world = new World;
  auto opened = server::ServerStore::Open(g_world->dir.File("data"));
  FUZZ_CHECK(opened.ok());
  g_world->store = std::move(opened).value();
  // The admin and its session are written straight into the tables: a real
  // sign-in would hash with Argon2id, whose 64 MiB (kept by ASan's
  // quarantine) would leave too little of the RSS cap for the run.
  g_world->cookie = std::string(64, 'c');
  g_world->csrf = std::string(64, 'f');
  server::ServerStore& store = *g_world->store;
  const int64_t now = store.NowMillis();
  Statement user(store.db(),
                 "INSERT INTO web_user(id, login, role, districts, "
                 "password_hash, created_at, password_changed_at) VALUES "
                 "('77777777-7777-4777-8777-777777777777', 'office', 'admin', "
                 "'all', 'not a hash', ?1, ?1)");
  user.Bind(1, std::string_view(store.NowIso()));
  FUZZ_CHECK(user.Run().ok());
  Statement session(store.db(),
                    "INSERT INTO web_session(token_hash, user_id, csrf, "
                    "created_ms, last_seen_ms, address) VALUES (?1, "
                    "'77777777-7777-4777-8777-777777777777', ?2, ?3, ?3, "
                    "'192.0.2.7')");
  session.Bind(1, std::string_view(HexEncode(Sha256(g_world->cookie))))
      .Bind(2, std::string_view(g_world->csrf))
      .Bind(3, now);
  FUZZ_CHECK(session.Run().ok());
  g_world->con = std::make_unique<console::Console>(*g_world->store);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::Bytes(data, size);
  const std::string_view head = NextLine(&in);
  console::Request req;
  req.method = !head.empty() && head[0] == 'G' ? "GET" : "POST";
  const bool with_session = head.find('1') != std::string_view::npos ||
                            head.find('2') != std::string_view::npos;
  const bool with_csrf = head.find('2') != std::string_view::npos;
  req.path = std::string(NextLine(&in));
  Pairs(NextLine(&in), &req.query);
  Pairs(NextLine(&in), &req.form);
  const std::string_view cookie_text = NextLine(&in);
  if (!cookie_text.empty()) req.cookies["kbo_session"] = std::string(cookie_text);
  req.body = std::string(in);
  req.remote_addr = "192.0.2.8";
  if (req.method == "POST" &&
      (req.path == "/login" || req.path.rfind("/users", 0) == 0 ||
       req.path.find("passw") != std::string::npos)) {
    return 0;  // Argon2id: see above
  }
  if (with_session) req.cookies["kbo_session"] = g_world->cookie;
  req.form.erase("csrf");
  if (with_csrf) req.form.emplace("csrf", g_world->csrf);

  const int64_t audit_before = AuditRows(*g_world->store);
  console::Reply reply = g_world->con->Handle(req);
  FUZZ_CHECK(reply.status >= 200 && reply.status < 500);
  if (!with_session && reply.status == 200) FUZZ_CHECK(req.path == "/login");
  if (req.method == "POST" && !with_csrf) {
    FUZZ_CHECK(AuditRows(*g_world->store) == audit_before);
  }
  return 0;
}
