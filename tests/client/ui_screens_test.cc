// The phone screens' parts of the UI API that issue 13 item 4 added:
// conflicts that name their row and its day, and photo thumbnails.

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "client/photo_fetch.h"
#include "client/photo_thumb.h"
#include "client/store.h"
#include "client/ui/ui_api.h"
#include "shared/encoding.h"
#include "shared/fs.h"
#include "shared/signing.h"
#include "shared/sqlite/db.h"
#include "tests/support/client_store.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

namespace kbo::client::ui {
namespace {

using Json = nlohmann::json;
using testing::TempDir;

using testing::OpenStore;

ApiRequest Post(const std::string& entity, const Json& body) {
  ApiRequest r;
  r.method = "POST";
  r.path = "/api/" + entity;
  r.content_type = "application/json";
  r.body = body.dump();
  return r;
}

Json Body(const ApiReply& reply) {
  Json j = Json::parse(reply.body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

std::string Create(UiApi& api, const std::string& entity, const Json& body) {
  ApiReply r = api.Handle(Post(entity, body));
  INFO(r.body);
  REQUIRE(r.http_status == 201);
  return Body(r)["id"].get<std::string>();
}

void AddConflict(ClientStore& store, const std::string& id,
                 const std::string& entity, const std::string& row,
                 const std::string& column, const std::string& current,
                 const std::string& incoming, int seq) {
  Statement ins(store.db(),
                "INSERT INTO conflict (id, entity, row_id, column_name, "
                "current_value, incoming_value, winner, server_seq) VALUES "
                "(?1, ?2, ?3, ?4, ?5, ?6, 'incoming', ?7)");
  ins.Bind(1, std::string_view(id));
  ins.Bind(2, std::string_view(entity));
  ins.Bind(3, std::string_view(row));
  ins.Bind(4, std::string_view(column));
  ins.Bind(5, std::string_view(current));
  ins.Bind(6, std::string_view(incoming));
  ins.Bind(7, static_cast<int64_t>(seq));
  REQUIRE(ins.Run().ok());
}

TEST_CASE("UiApi conflicts: the row's name, what it belongs to, its day",
          "[ui]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  const std::string group = Create(
      api, "producer",
      {{"kind", "group"}, {"name", "กลุ่มทอผ้าบ้านป่าตุ้ม"}, {"district", "5011"}});
  const std::string other = Create(
      api, "producer",
      {{"kind", "group"}, {"name", "กลุ่มน้ำพริกเวียง"}, {"district", "5011"}});
  const std::string ws = Create(api, "workshop",
                                {{"title", "อบรม KBO พร้าว"},
                                 {"fiscal_year", 2567},
                                 {"district", "5011"},
                                 {"start_date", "2024-02-26"}});
  const std::string enrolment =
      Create(api, "enrolment",
             {{"workshop_id", ws},
              {"producer_id", group},
              {"participant_name", "นางบัวผัน ใจดี"}});
  // Day 4 of a course that starts on 26 February 2024 (a leap year).
  const std::string mark = Create(api, "attendance",
                                  {{"workshop_id", ws},
                                   {"enrolment_id", enrolment},
                                   {"day", 4},
                                   {"status", "absent"}});
  const std::string product = Create(
      api, "product", {{"producer_id", group}, {"name", "ผ้าฝ้ายทอมือ"}});
  const std::string visit = Create(
      api, "visit",
      {{"producer_id", group}, {"visited_at", "2024-03-01T03:00:00Z"}});
  const std::string unknown = "7d0e8f21-5a6b-4c7d-9e8f-0a1b2c3d4e5f";
  AddConflict(*store, "c1", "attendance", mark, "status", "absent", "late", 1);
  AddConflict(*store, "c2", "product", product, "description", "a", "b", 2);
  AddConflict(*store, "c3", "visit", visit, "producer_id", group, other, 3);
  AddConflict(*store, "c4", "producer", unknown, "phone", "081", "089", 4);
  AddConflict(*store, "c5", "workshop", ws, "venue", "x", "y", 5);

  ApiRequest get;
  get.method = "GET";
  get.path = "/api/conflicts";
  Json rows = Body(api.Handle(get));
  REQUIRE(rows.size() == 5);
  auto find = [&rows](const std::string& id) {
    for (const Json& r : rows) {
      if (r["id"] == id) return r;
    }
    FAIL("no conflict " << id);
    return Json();
  };
  const Json c1 = find("c1");
  CHECK(c1["subject"]["name"] == "นางบัวผัน ใจดี");
  CHECK(c1["subject"]["context"] == "อบรม KBO พร้าว");
  CHECK(c1["subject"]["day"] == 4);
  CHECK(c1["subject"]["date"] == "2024-02-29");
  CHECK(c1["current_value"] == "absent");  // the code stays; the page names it
  CHECK_FALSE(c1.contains("current_name"));  // status is not a reference

  const Json c2 = find("c2");
  CHECK(c2["subject"]["name"] == "ผ้าฝ้ายทอมือ");
  CHECK(c2["subject"]["context"] == "กลุ่มทอผ้าบ้านป่าตุ้ม");
  CHECK(c2["subject"]["day"].is_null());

  // A reference's two values by their names.
  const Json c3 = find("c3");
  CHECK(c3["subject"]["name"] == "กลุ่มทอผ้าบ้านป่าตุ้ม");
  CHECK(c3["subject"]["at"] == "2024-03-01T03:00:00Z");
  CHECK(c3["current_name"] == "กลุ่มทอผ้าบ้านป่าตุ้ม");
  CHECK(c3["incoming_name"] == "กลุ่มน้ำพริกเวียง");
  CHECK(c3["resolved_name"].is_null());

  // A row this device does not hold: nothing made up.
  const Json c4 = find("c4");
  CHECK(c4["subject"]["name"].is_null());
  CHECK(c4["subject"]["context"].is_null());

  CHECK(find("c5")["subject"]["date"] == "2024-02-26");
}

TEST_CASE("LocalThumbnail: 320 px on the long edge, cached, never enlarged",
          "[ui][photo]") {
  TempDir tmp;
  auto store = OpenStore(tmp.path());
  UiApi api(*store, nullptr);
  const std::string blobs = store->paths().blobs;
  const std::string group = Create(
      api, "producer",
      {{"kind", "group"}, {"name", "กลุ่มทอผ้า"}, {"district", "5011"}});
  auto add = [&](const std::string& bytes, const std::string& name) {
    ApiRequest raw;
    raw.method = "POST";
    raw.path = "/api/photo";
    raw.content_type = "image/jpeg";
    raw.body = bytes;
    raw.query = {{"subject", "producer:" + group}};
    ApiReply r = api.Handle(raw);
    INFO(name << ": " << r.body);
    REQUIRE(r.http_status == 201);
    return Body(r)["sha256"].get<std::string>();
  };
  const std::string tall = add(testing::SampleJpeg(600, 900), "tall");
  const std::string small = add(testing::SampleJpeg(100, 60), "small");

  ApiReply thumb = api.Thumb(tall);
  REQUIRE(thumb.http_status == 200);
  CHECK(thumb.content_type == "image/jpeg");
  testing::ImageSize size = testing::DecodedSize(thumb.body);
  CHECK(size.width == 213);
  CHECK(size.height == 320);
  const std::string cached = ThumbnailPath(blobs, tall);
  REQUIRE(FileExists(cached));
  // The second request is the cached file.
  REQUIRE(WriteFileAtomically(cached, "cached bytes", 0600).ok());
  CHECK(api.Thumb(tall).body == "cached bytes");

  size = testing::DecodedSize(api.Thumb(small).body);
  CHECK(size.width == 100);
  CHECK(size.height == 60);

  CHECK(api.Thumb("../../etc/passwd").http_status == 400);
  CHECK(api.Thumb(std::string(64, 'a')).http_status == 404);

  // A stored blob that does not decode: 415, nothing cached.
  const std::string junk = "this is not a picture at all";
  const std::string junk_sha = HexEncode(Sha256(junk));
  const std::string path = BlobStore(blobs).PathFor(junk_sha);
  REQUIRE(EnsureDir(path.substr(0, path.rfind('/'))).ok());
  REQUIRE(WriteFileAtomically(path, junk, 0600).ok());
  CHECK(LocalThumbnail(blobs, junk_sha).status().code() ==
        Code::kFailedPrecondition);
  CHECK(api.Thumb(junk_sha).http_status == 415);
  CHECK_FALSE(FileExists(ThumbnailPath(blobs, junk_sha)));
}

}  // namespace
}  // namespace kbo::client::ui
