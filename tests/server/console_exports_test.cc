// The console's exports (server/console/exports.cc): office users only,
// within their districts, downloads as attachments, each one audited.

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include "server/console/console.h"
#include "server/console/users.h"
#include "tests/server/console_client.h"
#include "tests/server/export_fixture.h"

namespace kbo::server::testing {
namespace {

using console::Console;
using console::Reply;
using console::Request;
using console::Users;
using console::WebRole;

constexpr char kPassword[] = "ผ้าทอพร้าว-2569";

// The console as a browser meets it, signing in with kPassword.
struct Visitor : ConsoleClient {
  explicit Visitor(Console& c) : ConsoleClient(c, kPassword, "192.0.2.20") {}
};

std::string Header(const Reply& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

void AddUser(ServerStore& store, const std::string& login, WebRole role,
             const std::string& districts) {
  Users users(store);
  auto scope = Scope::Parse(districts);
  REQUIRE(scope.ok());
  REQUIRE(users.Add(login, role, *scope, kPassword, "test").ok());
}

TEST_CASE("console exports: an office user downloads only their districts",
          "[console][export]") {
  ExportFixture fx;
  AddUser(*fx.store, "fang_office", WebRole::kOffice, kFang);
  AddUser(*fx.store, "viewer", WebRole::kViewer, "all");
  Console console(*fx.store);

  Visitor office{console};
  office.SignIn("fang_office");
  Reply page = office.Get("/exports");
  REQUIRE(page.status == 200);
  CHECK_THAT(page.body, Catch::Contains("name=\"fiscal_year\"") &&
                            Catch::Contains("name=\"district\"") &&
                            Catch::Contains("action=\"/exports/xlsx\"") &&
                            Catch::Contains("value=\"2567\"") &&
                            Catch::Contains("value=\"5009\"") &&
                            !Catch::Contains("value=\"5011\""));

  Reply xlsx = office.Get("/exports/xlsx", {{"lang", "th"}});
  REQUIRE(xlsx.status == 200);
  CHECK(xlsx.content_type ==
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  CHECK(Header(xlsx, "Content-Disposition") ==
        "attachment; filename=\"kbo-th.xlsx\"");
  REQUIRE(xlsx.body.rfind("PK", 0) == 0);
  const std::string path = fx.tmp.File("download.xlsx");
  {
    std::ofstream out(path, std::ios::binary);
    out << xlsx.body;
  }
  const std::vector<XlsxSheet> sheets = ReadXlsx(path);
  const XlsxSheet* producers = FindSheet(sheets, "ผู้ผลิต");
  REQUIRE(producers != nullptr);
  CHECK(producers->Contains("ร้านกาแฟฝาง"));
  CHECK(producers->Contains("0899999999"));
  for (const XlsxSheet& s : sheets) {
    CAPTURE(s.name);
    CHECK_FALSE(s.Contains("กลุ่มทอผ้าบ้านป่าตุ้ม"));  // Phrao's
  }

  Reply csv = office.Get(
      "/exports/csv",
      {{"sheet", "producer"}, {"fiscal_year", "2567"}, {"lang", "en"}});
  REQUIRE(csv.status == 200);
  CHECK(csv.content_type == "text/csv; charset=utf-8");
  CHECK(Header(csv, "Content-Disposition") ==
        "attachment; filename=\"kbo-2567-en-producer.csv\"");
  CHECK(csv.body.rfind("\xEF\xBB\xBF"
                       "Kind,Name,District",
                       0) == 0);
  CHECK_THAT(csv.body, Catch::Contains("ร้านกาแฟฝาง") &&
                           Catch::Contains("089-999-9999") &&
                           !Catch::Contains("กลุ่มทอผ้าบ้านป่าตุ้ม"));

  // Another district, a bad year, an unknown sheet: refused, nothing sent.
  Reply phrao = office.Get("/exports/xlsx", {{"district", kPhrao}});
  CHECK(phrao.status == 403);
  CHECK(phrao.content_type.rfind("text/html", 0) == 0);
  CHECK(office.Get("/exports/xlsx", {{"fiscal_year", "2024"}}).status == 400);
  CHECK(office.Get("/exports/csv", {{"sheet", "nothing"}}).status == 400);
  // Said in the page's language.
  Reply western = office.Get("/exports/xlsx", {{"fiscal_year", "2024"}, {"lang", "th"}});
  CHECK(western.status == 400);
  CHECK_THAT(western.body, Catch::Contains("ปีงบประมาณต้องเป็นปี พ.ศ.") &&
                               Catch::Contains("หมายถึงปีงบประมาณ 2567"));
  Reply theirs = office.Get("/exports/xlsx", {{"district", kPhrao}, {"lang", "th"}});
  CHECK(theirs.status == 403);
  CHECK_THAT(theirs.body, Catch::Contains("ไม่ได้อยู่ในอำเภอที่คุณดูแล"));
  Reply unknown = office.Get("/exports/xlsx", {{"district", "9999"}, {"lang", "en"}});
  CHECK(unknown.status == 400);
  CHECK_THAT(unknown.body, Catch::Contains("unknown district code"));

  // Every download is in the audit log, with its filters.
  Result<std::vector<console::AuditEntry>> audit =
      console::ReadAudit(*fx.store, 50);
  REQUIRE(audit.ok());
  int exports = 0;
  for (const console::AuditEntry& e : *audit) {
    if (e.action != "export") continue;
    ++exports;
    CHECK(e.actor == "user:fang_office");
    CHECK_THAT(e.detail, Catch::Contains("scope=5009"));
  }
  CHECK(exports == 2);

  // A viewer reads, but does not export.
  Visitor viewer{console};
  viewer.SignIn("viewer");
  CHECK(viewer.Get("/exports").status == 403);
  CHECK(viewer.Get("/exports/xlsx").status == 403);
  CHECK(viewer.Get("/exports/csv", {{"sheet", "producer"}}).status == 403);
}

}  // namespace
}  // namespace kbo::server::testing
