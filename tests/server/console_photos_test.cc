// The console's photo gallery (issue 10, deliverable 6) through
// console::Console::Handle: a signed-in viewer of Phrao sees Phrao's photos
// with their subjects' names, captions, who took them and when, thumbnails
// made by the server; another district's photo is 404.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "server/enrolment.h"
#include <chrono>
#include <thread>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "server/blob_service.h"
#include "server/console/console.h"
#include "server/console/users.h"
#include "server/photo_downloads.h"
#include "server/push_service.h"
#include "server/storage/blobs.h"
#include "server/storage/originals.h"
#include "shared/fs.h"
#include "shared/signing.h"
#include "tests/server/server_fixture.h"
#include "tests/support/test_images.h"

namespace kbo::server::testing {
namespace {

using console::Console;
using console::Reply;
using console::Request;
using console::Users;
using console::WebRole;
using nlohmann::json;

constexpr char kPassword[] = "ภาพถ่ายพร้าว-2569";

// A browser: keeps cookies, follows nothing (from console_test.cc).
struct Browser {
  explicit Browser(Console& c) : console(c) {}
  Console& console;
  std::map<std::string, std::string> cookies;

  Reply Send(Request r) {
    r.cookies = cookies;
    r.remote_addr = "192.0.2.10";
    Reply reply = console.Handle(r);
    for (auto [it, end] = reply.headers.equal_range("Set-Cookie"); it != end;
         ++it) {
      const std::string& c = it->second;
      const size_t eq = c.find('='), semi = c.find(';');
      const std::string name = c.substr(0, eq);
      const std::string value = c.substr(eq + 1, semi - eq - 1);
      if (c.find("Max-Age=0") != std::string::npos) {
        cookies.erase(name);
      } else {
        cookies[name] = value;
      }
    }
    return reply;
  }
  Reply Get(const std::string& path,
            std::multimap<std::string, std::string> query = {}) {
    Request r;
    r.method = "GET";
    r.path = path;
    r.query = std::move(query);
    return Send(r);
  }
  Reply Post(const std::string& path,
             std::multimap<std::string, std::string> form) {
    Request r;
    r.method = "POST";
    r.path = path;
    r.content_type = "application/x-www-form-urlencoded";
    r.form = std::move(form);
    return Send(r);
  }
  void SignIn(const std::string& login) {
    Reply form = Get("/login");
    REQUIRE(form.status == 200);
    std::smatch m;
    REQUIRE(std::regex_search(
        form.body, m, std::regex("name=\"login_token\" value=\"([0-9a-f]+)\"")));
    Reply r = Post("/login", {{"login", login},
                              {"password", kPassword},
                              {"login_token", m[1].str()}});
    REQUIRE(r.status == 303);
  }
};

RowChange Photo(const Uuid& id, const Hlc& hlc, const std::string& subject_type,
                const Uuid& subject, const std::string& sha,
                const std::string& district, const std::string& caption,
                const std::string& taken_at) {
  return Row("photo", id, hlc,
             {{"subject_type", T(subject_type), 0},
              {"subject_id", T(subject.ToString()), 0},
              {"sha256", T(sha), 0},
              {"bytes", I(1000), 0},
              {"mime", T("image/jpeg"), 0},
              {"width", I(1600), 0},
              {"height", I(1200), 0},
              {"taken_at", T(taken_at), 0},
              {"caption", T(caption), 0},
              {"district_code", T(district), 0}});
}

struct GalleryFixture {
  ServerFixture f;
  Console console{*f.store};
  TestDevice somchai, fang;
  Uuid producer = Uuid::Random(), workshop = Uuid::Random(),
       fang_producer = Uuid::Random();
  Uuid photo = Uuid::Random(), pending = Uuid::Random(),
       fang_photo = Uuid::Random();
  std::string jpeg = kbo::testing::SampleJpeg(1600, 1200);
  std::string sha = HexEncode(Sha256(jpeg));
  std::string pending_sha = std::string(64, 'a');
  std::string fang_jpeg = kbo::testing::SampleJpeg(640, 480);
  std::string fang_sha = HexEncode(Sha256(fang_jpeg));

  GalleryFixture() {
    f.Enroll(somchai, kPhrao, "trainer");
    f.Enroll(fang, kFang, "field_officer");
    REQUIRE(f.store->db()
                .Exec("UPDATE device SET label = 'สมชาย พร้าว A14' WHERE "
                      "device_id = '" + somchai.id.ToString() + "'")
                .ok());
    PushService push(*f.store);
    REQUIRE(push.Push(f.Record(somchai.id),
                      somchai.SealNext(
                          {Producer(producer, somchai.HlcAt(kT0), kPhrao),
                           Row("workshop", workshop, somchai.HlcAt(kT0),
                               {{"title", T("อบรมพัฒนาผลิตภัณฑ์ KBO พร้าว"), 0},
                                {"fiscal_year", I(2567), 0},
                                {"district_code", T(kPhrao), 0},
                                {"start_date", T("2024-03-11"), 0}}),
                           Photo(photo, somchai.HlcAt(kT0 + 1), "workshop",
                                 workshop, sha, kPhrao, "ต้นแบบกระเป๋าผ้าทอ",
                                 "2024-03-11T03:15:00Z"),
                           Photo(pending, somchai.HlcAt(kT0 + 2), "producer",
                                 producer, pending_sha, kPhrao,
                                 "ร้านของกลุ่ม", "2024-03-10T03:15:00Z")}))
                .ok());
    REQUIRE(push.Push(f.Record(fang.id),
                      fang.SealNext(
                          {Producer(fang_producer, fang.HlcAt(kT0), kFang,
                                    "กลุ่มเครื่องเงินฝาง"),
                           Photo(fang_photo, fang.HlcAt(kT0 + 1), "producer",
                                 fang_producer, fang_sha, kFang,
                                 "เครื่องเงินฝาง", "2024-03-12T03:15:00Z")}))
                .ok());
    BlobService blobs(*f.store);
    REQUIRE(blobs.PutWhole(sha, jpeg).ok());
    REQUIRE(blobs.PutWhole(fang_sha, fang_jpeg).ok());
    Users users(*f.store);
    auto phrao = Scope::Parse(kPhrao);
    REQUIRE(phrao.ok());
    REQUIRE(users.Add("viewer", WebRole::kViewer, *phrao, kPassword, "test").ok());
    auto all = Scope::Parse("all");
    REQUIRE(all.ok());
    REQUIRE(users.Add("office", WebRole::kOffice, *all, kPassword, "test").ok());
  }
};

bool Has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST_CASE("console photos: a progress photo is named by its product, producer "
          "and stage, and filtered as progress",
          "[console][photos]") {
  GalleryFixture g;
  const Uuid product = Uuid::Random(), progress = Uuid::Random(), shot = Uuid::Random();
  PushService push(*g.f.store);
  REQUIRE(push.Push(g.f.Record(g.somchai.id),
                    g.somchai.SealNext(
                        {Row("product", product, g.somchai.HlcAt(kT0 + 10),
                             {{"producer_id", T(g.producer.ToString()), 0},
                              {"name", T("กระเป๋าผ้าทอลายดอกพร้าว"), 0},
                              {"district_code", T(kPhrao), 0}}),
                         Row("progress", progress, g.somchai.HlcAt(kT0 + 11),
                             {{"product_id", T(product.ToString()), 0},
                              {"stage", T("packaging"), 0},
                              {"percent", I(40), 0},
                              {"district_code", T(kPhrao), 0}}),
                         Photo(shot, g.somchai.HlcAt(kT0 + 12), "progress", progress,
                               g.sha, kPhrao, "บรรจุภัณฑ์ใหม่", "2024-03-13T03:15:00Z")}))
              .ok());
  Browser b{g.console};
  b.SignIn("viewer");
  Reply only = b.Get("/api/photos", {{"subject", "progress"}});
  REQUIRE(only.status == 200);  // it was 400: not a subject the gallery knew
  json j = json::parse(only.body);
  REQUIRE(j["photos"].size() == 1);
  const std::string name = j["photos"][0]["subject_name"];
  // It read "ความคืบหน้า 1a2b3c4d".
  CHECK(Has(name, "กระเป๋าผ้าทอลายดอกพร้าว"));
  CHECK(Has(name, ValueLabel(Lang::kTh, "progress", "stage", Value::Text("packaging"))));
  CHECK_FALSE(Has(name, progress.ToString().substr(0, 8)));
  CHECK(Has(b.Get("/photos", {{"lang", "th"}}).body, "<option value=\"progress\""));
}

TEST_CASE("console photos: a Phrao viewer's gallery names subject, caption, taker and time",
          "[console][photos]") {
  GalleryFixture g;
  Browser b{g.console};
  b.SignIn("viewer");
  Reply page = b.Get("/photos");
  REQUIRE(page.status == 200);
  CHECK(Has(page.body, "อบรมพัฒนาผลิตภัณฑ์ KBO พร้าว"));  // the workshop's title
  CHECK(Has(page.body, "ต้นแบบกระเป๋าผ้าทอ"));           // the caption
  CHECK(Has(page.body, "สมชาย พร้าว A14"));              // who took it
  CHECK(Has(page.body, console::Escape(RoleLabel(Lang::kTh, "trainer"))));
  CHECK(Has(page.body, "2567"));  // Buddhist Era
  CHECK(Has(page.body, "10:15"));  // Bangkok time (03:15 UTC + 7)
  CHECK(Has(page.body, "/thumb/" + g.sha));
  CHECK(Has(page.body, "href=\"/blob/" + g.sha));
  CHECK(Has(page.body, "viewport"));
  // Not yet uploaded: said so, no broken image.
  CHECK(Has(page.body, "ยังไม่ได้อัปโหลดภาพ"));
  CHECK_FALSE(Has(page.body, "/thumb/" + g.pending_sha));
  // Nothing of Fang.
  CHECK_FALSE(Has(page.body, "เครื่องเงินฝาง"));
  CHECK_FALSE(Has(page.body, g.fang_sha));

  // English on request.
  Reply en = b.Get("/photos", {{"lang", "en"}});
  REQUIRE(en.status == 200);
  CHECK(Has(en.body, "Not yet uploaded"));
  CHECK(Has(en.body, "2024"));
}

TEST_CASE("console photos: a photo whose file carried no date shows when it was "
          "recorded",
          "[console][photos]") {
  GalleryFixture g;
  // Recorded on the device at 2024-03-10 10:00 Bangkok (03:00 UTC), from a
  // picture with no EXIF date.
  RowChange undated = Photo(Uuid::Random(), g.somchai.HlcAt(kT0 + 3600 * 1000),
                            "workshop", g.workshop, std::string(64, 'c'), kPhrao,
                            "ภาพจากแชต", "");
  undated.cells.erase(std::remove_if(undated.cells.begin(), undated.cells.end(),
                                     [](const CellWrite& c) { return c.column == "taken_at"; }),
                      undated.cells.end());
  PushService push(*g.f.store);
  REQUIRE(push.Push(g.f.Record(g.somchai.id), g.somchai.SealNext({undated})).ok());
  Browser b{g.console};
  b.SignIn("viewer");
  json j = json::parse(b.Get("/api/photos").body);
  bool seen = false;
  for (const json& p : j["photos"]) {
    if (p["caption"] != "ภาพจากแชต") continue;
    seen = true;
    CHECK(p["taken_at"] == "");
    CHECK(p["recorded_at"] == "2024-03-10T03:00:00Z");
  }
  CHECK(seen);
  Reply page = b.Get("/photos");
  REQUIRE(page.status == 200);
  // "recorded" and the Bangkok time of the recording, together.
  const size_t said = page.body.find("บันทึกเมื่อ ");
  REQUIRE(said != std::string::npos);
  CHECK(page.body.substr(said, page.body.find("</span>", said) - said).find("10:00") !=
        std::string::npos);
}

TEST_CASE("console photos: the JSON twin, filters and pages", "[console][photos]") {
  GalleryFixture g;
  Browser b{g.console};
  b.SignIn("viewer");
  Reply api = b.Get("/api/photos");
  REQUIRE(api.status == 200);
  json j = json::parse(api.body);
  REQUIRE(j["photos"].size() == 2);
  CHECK(j["more"] == false);
  const json& first = j["photos"][0];  // newest first
  CHECK(first["sha256"] == g.sha);
  CHECK(first["subject_type"] == "workshop");
  CHECK(first["subject_name"] == "อบรมพัฒนาผลิตภัณฑ์ KBO พร้าว");
  CHECK(first["caption"] == "ต้นแบบกระเป๋าผ้าทอ");
  CHECK(first["received"] == true);
  CHECK(first["taken_by"]["label"] == "สมชาย พร้าว A14");
  CHECK(first["taken_by"]["role"] == "trainer");
  CHECK(first["thumbnail_url"] == "/thumb/" + g.sha);
  CHECK(j["photos"][1]["received"] == false);
  CHECK(j["photos"][1]["subject_name"] == "กลุ่มทอผ้าบ้านป่าตุ้ม");

  Reply only = b.Get("/api/photos", {{"subject", "workshop"},
                                     {"id", g.workshop.ToString()}});
  REQUIRE(only.status == 200);
  CHECK(json::parse(only.body)["photos"].size() == 1);
  Reply producers = b.Get("/api/photos", {{"subject", "producer"}});
  CHECK(json::parse(producers.body)["photos"].size() == 1);
  {
    // A photo of a row since deleted (the producer, its photo left live)
    // is under a deleted row: out of the gallery, as out of the exports.
    Db& db = g.f.store->db();
    REQUIRE(db.Exec("UPDATE producer SET deleted = 1 WHERE id = '" + g.producer.ToString() +
                    "'")
                .ok());
    CHECK(json::parse(b.Get("/api/photos").body)["photos"].size() == 1);
    REQUIRE(db.Exec("UPDATE producer SET deleted = 0 WHERE id = '" + g.producer.ToString() +
                    "'")
                .ok());
    CHECK(json::parse(b.Get("/api/photos").body)["photos"].size() == 2);
  }
  CHECK(b.Get("/api/photos", {{"subject", "nonsense"}}).status == 400);
  CHECK(b.Get("/api/photos", {{"page", "-1"}}).status == 400);
  CHECK(b.Get("/api/photos", {{"page", "1"}}).status == 200);
  // The page says why in its language; the JSON twin in English.
  Reply bad_page = b.Get("/photos", {{"page", "-1"}, {"lang", "th"}});
  CHECK(bad_page.status == 400);
  CHECK_THAT(bad_page.body, Catch::Contains("เลขหน้าต้องอยู่ระหว่าง 0 ถึง 1000"));
  CHECK_THAT(b.Get("/api/photos", {{"subject", "nonsense"}}).body,
             Catch::Contains("subject must be workshop"));
  CHECK_THAT(b.Get("/photos", {{"subject", "nonsense"}, {"lang", "th"}}).body,
             Catch::Contains("ภาพถ่ายต้องเป็นของการอบรม"));
  // Another district's filter is refused and said (a district's code is
  // no secret; a list answered "none" would read as no photos).
  Reply fang = b.Get("/api/photos", {{"district", kFang}});
  CHECK(fang.status == 403);
  CHECK_THAT(fang.body, Catch::Contains("district_not_yours"));
  CHECK_THAT(b.Get("/photos", {{"district", kFang}, {"lang", "th"}}).body,
             Catch::Contains("ไม่ได้อยู่ในอำเภอที่คุณดูแล"));

  // The office (all districts) sees Fang too, and pages of 48.
  Browser o{g.console};
  o.SignIn("office");
  json all = json::parse(o.Get("/api/photos").body);
  CHECK(all["photos"].size() == 3);
  PushService push(*g.f.store);
  std::vector<RowChange> more;
  for (int i = 0; i < 50; ++i) {
    more.push_back(Photo(Uuid::Random(), g.somchai.HlcAt(kT0 + 100 + i),
                         "workshop", g.workshop, std::string(63, 'b') +
                         "0123456789"[i % 10], kPhrao, "ภาพที่ " + std::to_string(i),
                         "2024-03-13T03:15:00Z"));
  }
  REQUIRE(push.Push(g.f.Record(g.somchai.id), g.somchai.SealNext(more)).ok());
  json p0 = json::parse(o.Get("/api/photos").body);
  CHECK(p0["photos"].size() == 48);
  CHECK(p0["more"] == true);
  json p1 = json::parse(o.Get("/api/photos", {{"page", "1"}}).body);
  CHECK(p1["photos"].size() == 5);
  CHECK(p1["more"] == false);
  Reply html = o.Get("/photos", {{"page", "1"}});
  REQUIRE(html.status == 200);
  CHECK(Has(html.body, "page=0"));
}

TEST_CASE("console photos: thumbnails made by the server, scoped like the originals",
          "[console][photos]") {
  GalleryFixture g;
  Browser b{g.console};
  b.SignIn("viewer");
  Reply thumb = b.Get("/thumb/" + g.sha);
  REQUIRE(thumb.status == 200);
  CHECK(thumb.content_type == "image/jpeg");
  auto size = kbo::testing::DecodedSize(thumb.body);
  CHECK(size.width == 320);
  CHECK(size.height == 240);
  CHECK(thumb.body.size() < g.jpeg.size());
  // Cached on disk under blobs/thumbs/.
  CHECK(FileExists(g.f.store->paths().blobs + "/thumbs/" + g.sha + ".jpg"));
  Reply original = b.Get("/blob/" + g.sha);
  REQUIRE(original.status == 200);
  CHECK(original.body == g.jpeg);

  // A photo of Fang, for a viewer of Phrao: 404, thumbnail and original.
  CHECK(b.Get("/thumb/" + g.fang_sha).status == 404);
  CHECK(b.Get("/blob/" + g.fang_sha).status == 404);
  CHECK_FALSE(FileExists(g.f.store->paths().blobs + "/thumbs/" + g.fang_sha + ".jpg"));
  // A photo nobody names: 404 too.
  CHECK(b.Get("/thumb/" + std::string(64, 'c')).status == 404);
  // Not uploaded yet: 404 with a placeholder picture.
  Reply pending = b.Get("/thumb/" + g.pending_sha);
  CHECK(pending.status == 404);
  CHECK(pending.content_type == "image/svg+xml");

  // A corrupt upload gets a placeholder, not an error page.
  Browser o{g.console};
  o.SignIn("office");
  CHECK(o.Get("/thumb/" + g.fang_sha).status == 200);  // all districts
}

TEST_CASE("console photos: a corrupt photo gets the placeholder", "[console][photos]") {
  GalleryFixture g;
  const std::string junk = "\xFF\xD8\xFF\xE0 not really a JPEG at all";
  const std::string junk_sha = HexEncode(Sha256(junk));
  PushService push(*g.f.store);
  REQUIRE(push.Push(g.f.Record(g.somchai.id),
                    g.somchai.SealNext({Photo(Uuid::Random(),
                                              g.somchai.HlcAt(kT0 + 50),
                                              "workshop", g.workshop, junk_sha,
                                              kPhrao, "เสีย", "2024-03-11T04:00:00Z")}))
              .ok());
  BlobService blobs(*g.f.store);
  REQUIRE(blobs.PutWhole(junk_sha, junk).ok());
  Browser b{g.console};
  b.SignIn("viewer");
  Reply r = b.Get("/thumb/" + junk_sha);
  CHECK(r.status == 200);
  CHECK(r.content_type == "image/svg+xml");
  CHECK(Has(r.body, "ไม่มีภาพย่อ"));
}

// A photo's bytes are read, and its thumbnail decoded, after the store's
// lock is released (Reply::unlocked): a hostile image took 13 s to decode
// with the lock held, and every device's sync waited. The blob is made a
// pipe, so the console's read waits on this test: while it does, the store
// must be free.
TEST_CASE("console photos: a photo is read and its thumbnail made without "
          "holding the store's lock",
          "[console][photos]") {
  const std::string path = GENERATE(std::string("/blob/"), std::string("/thumb/"));
  GalleryFixture g;
  Browser b{g.console};
  b.SignIn("viewer");
  const std::string blob = g.f.store->paths().blobs + "/" + g.sha;
  REQUIRE(::unlink(blob.c_str()) == 0);
  REQUIRE(::mkfifo(blob.c_str(), 0600) == 0);
  Reply reply;
  std::thread reader([&] { reply = b.Get(path + g.sha); });
  // Opens once the console has begun to read it (tried without waiting,
  // for at most 20 s: a handler that never reads it fails the test, not
  // hangs it).
  int fd = -1;
  for (int i = 0; i < 2000 && fd < 0; ++i) {
    fd = ::open(blob.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (fd < 0) {
    // Never opened: let the reader go (it is blocked only if it opened).
    reader.join();
    FAIL("the console never read the photo's file: " << reply.status);
  }
  REQUIRE(::fcntl(fd, F_SETFL, 0) == 0);  // blocking writes from here
  const bool store_free =
      g.f.store->mutex().try_lock_for(std::chrono::seconds(2));
  if (store_free) g.f.store->mutex().unlock();
  CHECK(::write(fd, g.jpeg.data(), g.jpeg.size()) ==
        static_cast<ssize_t>(g.jpeg.size()));
  ::close(fd);
  reader.join();
  CHECK(store_free);
  REQUIRE(reply.status == 200);
  CHECK(reply.content_type == "image/jpeg");
  if (path == "/blob/") {
    CHECK(reply.body == g.jpeg);
  } else {
    CHECK(kbo::testing::DecodedSize(reply.body).width == 320);
  }
}

// Originals on request (issue 12; docs/protocol.md §8): the office asks,
// only the device that took the photo is asked and may name the original,
// the original's upload is refused until named, and once whole the gallery
// links it, scoped like the photo; it is kept while the photo lives.
TEST_CASE("console photos: an original is not asked of a revoked device, which never syncs "
          "again",
          "[console][photos][originals]") {
  GalleryFixture g;
  REQUIRE(Enrolment(*g.f.store).Revoke(g.somchai.id.ToString()).ok());
  Browser o{g.console};
  o.SignIn("office");
  std::smatch m;
  const std::string page = o.Get("/photos").body;
  REQUIRE(std::regex_search(page, m, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")));
  // It said "asked", and the gallery showed the request open for good.
  Reply asked = o.Post("/photos/original", {{"csrf", m[1].str()}, {"photo", g.photo.ToString()}});
  CHECK(asked.status == 409);
  CHECK(Has(asked.body, "ถูกยกเลิกสิทธิ์แล้ว"));
  CHECK(g.f.Count("SELECT COUNT(*) FROM original_request") == 0);
}

TEST_CASE("console photos: a revoked phone that enrols again naming its old identity, "
          "proved by its key, is asked for the originals that identity took, and may "
          "send them",
          "[console][photos][originals]") {
  // The office revoked Somchai's phone (reported lost, then found) and gave
  // it a new token: kbo enrols it as a new device. The originals of the
  // photos it took before could then never be had.
  GalleryFixture g;
  BlobService blobs(*g.f.store);
  Browser o{g.console};
  o.SignIn("office");
  std::smatch m;
  const std::string page = o.Get("/photos").body;
  REQUIRE(std::regex_search(page, m, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")));
  const std::string csrf = m[1].str();
  // SECTION: asked before the revocation, or after the new enrolment.
  const bool asked_first = GENERATE(true, false);
  CAPTURE(asked_first);
  if (asked_first) {
    REQUIRE(o.Post("/photos/original", {{"csrf", csrf}, {"photo", g.photo.ToString()}})
                .status == 303);
  }
  g.f.Pulled(g.somchai);
  const int64_t served = static_cast<int64_t>(g.f.NextSeq()) - 1;
  REQUIRE(served > 0);
  Enrolment enrolment(*g.f.store);
  REQUIRE(enrolment.Revoke(g.somchai.id.ToString()).ok());
  TestDevice phone;
  auto enrol = [&](const KeyPair& signer) {
    auto token = enrolment.CreateToken("trainer", kPhrao, 3600000);
    REQUIRE(token.ok());
    EnrollRequest req{*token, phone.id, phone.key.public_key(), std::nullopt, std::nullopt};
    req.predecessor = wire::EnrollPredecessor{
        g.somchai.id, signer.Sign(wire::kSuccessorDomain,
                                  wire::SuccessorMessage(g.somchai.id, phone.id,
                                                         phone.key.public_key()))};
    return enrolment.Enroll(req);
  };
  // Signed by another key: refused, nothing stored.
  KeyPair stranger = KeyPair::Generate();
  auto forged = enrol(stranger);
  CHECK(forged.status().reason() == "bad_signature");
  CHECK(g.f.Count("SELECT count(*) FROM device WHERE device_id = '" + phone.id.ToString() +
                  "'") == 0);
  REQUIRE(enrol(g.somchai.key).ok());
  CHECK(g.f.Text("SELECT successor_id FROM device WHERE device_id = '" +
                 g.somchai.id.ToString() + "'") == phone.id.ToString());
  // What the old identity was served, the phone's home holds: the bases it
  // writes over those rows are taken as seen (a new device's would not be).
  CHECK(g.f.Count("SELECT served_seq FROM device WHERE device_id = '" +
                  phone.id.ToString() + "'") == served);
  if (!asked_first) {
    REQUIRE(o.Post("/photos/original", {{"csrf", csrf}, {"photo", g.photo.ToString()}})
                .status == 303);
  }
  CHECK(*blobs.RequestedOriginals(g.f.Record(phone.id)) ==
        std::vector<std::string>{g.photo.ToString()});
  const std::string original = kbo::testing::SampleJpeg(3200, 2400);
  wire::OriginalNotice notice;
  notice.photo_id = g.photo;
  notice.upload_sha256 = g.sha;
  notice.sha256 = HexEncode(Sha256(original));
  notice.bytes = original.size();
  notice.mime = "image/jpeg";
  REQUIRE(blobs.AnnounceOriginal(g.f.Record(phone.id), notice).ok());
  REQUIRE(blobs.PutChunkFor(g.f.Record(phone.id), notice.sha256, 0, original.size(),
                            notice.sha256, original)
              ->complete);
  CHECK(blobs.RequestedOriginals(g.f.Record(phone.id))->empty());
}

TEST_CASE("console photos: the office asks for an original, and only the device that took it may send it",
          "[console][photos][originals]") {
  GalleryFixture g;
  TestDevice malee;
  g.f.Enroll(malee, kPhrao, "trainer");
  const std::string original = kbo::testing::SampleJpeg(3200, 2400);
  const std::string original_sha = HexEncode(Sha256(original));
  BlobService blobs(*g.f.store);

  // A viewer sees no button and may not ask.
  Browser v{g.console};
  v.SignIn("viewer");
  CHECK_FALSE(Has(v.Get("/photos").body, "/photos/original"));
  Browser o{g.console};
  o.SignIn("office");
  Reply page = o.Get("/photos");
  REQUIRE(page.status == 200);
  CHECK(Has(page.body, "action=\"/photos/original\""));
  CHECK(Has(page.body, "ขอภาพต้นฉบับ"));
  std::smatch m;
  REQUIRE(std::regex_search(page.body, m,
                            std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")));
  const std::string csrf = m[1].str();
  CHECK(v.Post("/photos/original", {{"photo", g.photo.ToString()}}).status == 403);
  // Without the CSRF token: refused, nothing asked.
  CHECK(o.Post("/photos/original", {{"photo", g.photo.ToString()}}).status == 403);
  CHECK(o.Post("/photos/original", {{"csrf", csrf}, {"photo", "nonsense"}}).status == 400);
  CHECK(o.Post("/photos/original", {{"csrf", csrf}, {"photo", Uuid::Random().ToString()}})
            .status == 404);
  Result<std::vector<std::string>> none = blobs.RequestedOriginals(g.f.Record(g.somchai.id));
  REQUIRE(none.ok());
  CHECK(none->empty());

  Reply asked = o.Post("/photos/original", {{"csrf", csrf}, {"photo", g.photo.ToString()}});
  REQUIRE(asked.status == 303);
  CHECK(Has(o.Get("/photos").body, "ขอภาพต้นฉบับแล้ว"));
  // Asked of Somchai, who took it; not of Malee (same district) or Fang.
  auto of_somchai = blobs.RequestedOriginals(g.f.Record(g.somchai.id));
  REQUIRE(of_somchai.ok());
  CHECK(*of_somchai == std::vector<std::string>{g.photo.ToString()});
  CHECK(blobs.RequestedOriginals(g.f.Record(malee.id))->empty());
  CHECK(blobs.RequestedOriginals(g.f.Record(g.fang.id))->empty());

  // Its upload is refused until the device that took it names it.
  const auto put = [&](const TestDevice& d) {
    return blobs.PutChunkFor(g.f.Record(d.id), original_sha, 0, original.size(),
                             HexEncode(Sha256(original)), original);
  };
  CHECK(put(g.somchai).status().reason() == "blob_not_named");
  wire::OriginalNotice notice;
  notice.photo_id = g.photo;
  notice.upload_sha256 = g.sha;
  notice.sha256 = original_sha;
  notice.bytes = original.size();
  notice.mime = "image/jpeg";
  CHECK(blobs.AnnounceOriginal(g.f.Record(g.fang.id), notice).status().code() ==
        Code::kNotFound);  // not in its districts
  CHECK(blobs.AnnounceOriginal(g.f.Record(malee.id), notice).status().reason() ==
        "not_taken_here");
  wire::OriginalNotice stale = notice;
  stale.upload_sha256 = std::string(64, 'e');
  CHECK(blobs.AnnounceOriginal(g.f.Record(g.somchai.id), stale).status().reason() ==
        "photo_changed");
  wire::OriginalNotice huge = notice;
  huge.bytes = BlobService::kDefaultMaxBlobBytes + 1;
  CHECK(blobs.AnnounceOriginal(g.f.Record(g.somchai.id), huge).status().code() ==
        Code::kResourceExhausted);
  wire::OriginalNotice of_nothing = notice;
  of_nothing.photo_id = Uuid::Random();
  CHECK(blobs.AnnounceOriginal(g.f.Record(g.somchai.id), of_nothing).status().code() ==
        Code::kNotFound);
  // Malee pushes a row of her own naming the same copy (she pulled it): she
  // may name an "original" for HER row, but it is not the original of
  // Somchai's photo, and it answers nobody's request.
  PushService push(*g.f.store);
  const Uuid copycat = Uuid::Random();
  REQUIRE(push.Push(g.f.Record(malee.id),
                    malee.SealNext({Photo(copycat, malee.HlcAt(kT0 + 5), "workshop",
                                          g.workshop, g.sha, kPhrao, "สำเนา",
                                          "2024-03-11T05:00:00Z")}))
              .ok());
  const std::string fake = kbo::testing::SampleJpeg(800, 600);
  wire::OriginalNotice claim = notice;
  claim.photo_id = copycat;
  claim.sha256 = HexEncode(Sha256(fake));
  claim.bytes = fake.size();
  REQUIRE(blobs.AnnounceOriginal(g.f.Record(malee.id), claim).ok());
  REQUIRE(blobs.PutWhole(claim.sha256, fake).ok());
  CHECK(*blobs.RequestedOriginals(g.f.Record(g.somchai.id)) ==
        std::vector<std::string>{g.photo.ToString()});
  Result<std::vector<storage::OriginalState>> states =
      storage::Originals(g.f.store->db()).StatesOf({g.photo.ToString()});
  REQUIRE(states.ok());
  CHECK((*states)[0].sha256.empty());
  CHECK_FALSE((*states)[0].complete);
  CHECK(g.f.Count("SELECT count(*) FROM photo_original WHERE photo_id = '" +
                  g.photo.ToString() + "'") == 0);

  Result<std::optional<BlobState>> named =
      blobs.AnnounceOriginal(g.f.Record(g.somchai.id), notice);
  REQUIRE(named.ok());
  REQUIRE(named->has_value());
  CHECK((*named)->received == 0);
  CHECK_FALSE((*named)->complete);
  // The same notice again changes nothing; another original is refused.
  CHECK(blobs.AnnounceOriginal(g.f.Record(g.somchai.id), notice).ok());
  wire::OriginalNotice other = notice;
  other.sha256 = std::string(64, 'd');
  CHECK(blobs.AnnounceOriginal(g.f.Record(g.somchai.id), other).status().reason() ==
        "original_differs");
  CHECK(g.f.Count("SELECT count(*) FROM photo_original WHERE photo_id = '" +
                  g.photo.ToString() + "'") == 1);
  // Named now: it goes up like any photo (checked whole against its name).
  Result<BlobState> whole = put(g.somchai);
  REQUIRE(whole.ok());
  CHECK(whole->complete);
  CHECK(blobs.RequestedOriginals(g.f.Record(g.somchai.id))->empty());

  // The gallery links it; /blob serves it, scoped like its photo.
  Reply linked = o.Get("/photos");
  CHECK(Has(linked.body, "href=\"/blob/" + original_sha + "\""));
  json api = json::parse(o.Get("/api/photos").body);
  bool listed = false;
  for (const json& p : api["photos"]) {
    if (p["id"] == g.photo.ToString()) {
      listed = true;
      CHECK(p["as_taken"]["received"] == true);
      CHECK(p["as_taken"]["sha256"] == original_sha);
      CHECK(p["as_taken"]["url"] == "/blob/" + original_sha);
    } else if (p["id"] == copycat.ToString()) {
      CHECK(p["as_taken"]["sha256"] == claim.sha256);  // Malee's own row only
    } else {
      CHECK(p["as_taken"].is_null());
    }
  }
  CHECK(listed);
  Reply bytes = v.Get("/blob/" + original_sha);
  REQUIRE(bytes.status == 200);
  CHECK(bytes.body == original);
  CHECK(bytes.content_type == "image/jpeg");
  Users users(*g.f.store);
  REQUIRE(users.Add("fangview", WebRole::kViewer, *Scope::Parse(kFang), kPassword, "test")
              .ok());
  Browser fv{g.console};
  fv.SignIn("fangview");
  CHECK(fv.Get("/blob/" + original_sha).status == 404);

  // Kept while the photo lives: never marked unnamed.
  REQUIRE(storage::Blobs(g.f.store->db()).MarkUnnamed("2030-01-01T00:00:00Z").ok());
  CHECK(g.f.Count("SELECT count(*) FROM blob WHERE sha256 = '" + original_sha +
                  "' AND unnamed_since IS NULL") == 1);
  // Deleted: its original is unnamed (collected after the retention), no
  // longer served, and a notice for it is refused.
  REQUIRE(push.Push(g.f.Record(g.somchai.id),
                    g.somchai.SealNext({Row("photo", g.photo, g.somchai.HlcAt(kT0 + 9),
                                            {{"deleted", I(1), 0}})}))
              .ok());
  REQUIRE(storage::Blobs(g.f.store->db()).MarkUnnamed("2030-01-02T00:00:00Z").ok());
  CHECK(g.f.Count("SELECT count(*) FROM blob WHERE sha256 = '" + original_sha +
                  "' AND unnamed_since = '2030-01-02T00:00:00Z'") == 1);
  CHECK(v.Get("/blob/" + original_sha).status == 404);
  CHECK(blobs.AnnounceOriginal(g.f.Record(g.somchai.id), notice).status().code() ==
        Code::kNotFound);
}

TEST_CASE("console photos: a device that keeps no original declines, and asking again re-opens",
          "[console][photos][originals]") {
  GalleryFixture g;
  BlobService blobs(*g.f.store);
  Browser o{g.console};
  o.SignIn("office");
  json me = json::parse(o.Get("/api/me").body);
  const std::string csrf = me["csrf"].get<std::string>();
  REQUIRE(o.Post("/photos/original", {{"csrf", csrf}, {"photo", g.photo.ToString()}})
              .status == 303);
  wire::OriginalNotice no;
  no.photo_id = g.photo;
  no.declined = "no_original";
  TestDevice malee;
  g.f.Enroll(malee, kPhrao, "trainer");
  CHECK(blobs.AnnounceOriginal(g.f.Record(malee.id), no).status().reason() ==
        "not_taken_here");
  Result<std::optional<BlobState>> declined =
      blobs.AnnounceOriginal(g.f.Record(g.somchai.id), no);
  REQUIRE(declined.ok());
  CHECK_FALSE(declined->has_value());
  CHECK(blobs.RequestedOriginals(g.f.Record(g.somchai.id))->empty());
  Reply page = o.Get("/photos");
  CHECK(Has(page.body, "อุปกรณ์ไม่มีภาพต้นฉบับนี้"));
  CHECK(Has(page.body, "action=\"/photos/original\""));  // may ask again
  json api = json::parse(o.Get("/api/photos").body);
  for (const json& p : api["photos"]) {
    if (p["id"] == g.photo.ToString()) CHECK(p["as_taken"]["declined"] == "no_original");
  }
  REQUIRE(o.Post("/photos/original", {{"csrf", csrf}, {"photo", g.photo.ToString()}})
              .status == 303);
  CHECK(*blobs.RequestedOriginals(g.f.Record(g.somchai.id)) ==
        std::vector<std::string>{g.photo.ToString()});
}

TEST_CASE("console photos: the office withdraws an open request, a viewer may not, "
          "and with nothing open there is nothing to withdraw",
          "[console][photos][originals]") {
  GalleryFixture g;
  BlobService blobs(*g.f.store);
  Browser o{g.console};
  o.SignIn("office");
  json me = json::parse(o.Get("/api/me").body);
  const std::string csrf = me["csrf"].get<std::string>();
  const std::string id = g.photo.ToString();
  // Nothing asked yet: no cancel button, and a cancel is refused (409).
  CHECK_FALSE(Has(o.Get("/photos").body, "/photos/original/cancel"));
  CHECK(o.Post("/photos/original/cancel", {{"csrf", csrf}, {"photo", id}}).status == 409);

  REQUIRE(o.Post("/photos/original", {{"csrf", csrf}, {"photo", id}}).status == 303);
  Reply page = o.Get("/photos");
  CHECK(Has(page.body, "action=\"/photos/original/cancel\""));
  CHECK(Has(page.body, "ยกเลิกคำขอ"));
  // A viewer sees the request but no button, and may not withdraw it;
  // without the CSRF token, nor may the office; bad or unknown photos.
  Browser v{g.console};
  v.SignIn("viewer");
  const std::string viewer_page = v.Get("/photos").body;
  CHECK(Has(viewer_page, "ขอภาพต้นฉบับแล้ว"));
  CHECK_FALSE(Has(viewer_page, "/photos/original/cancel"));
  CHECK(v.Post("/photos/original/cancel", {{"photo", id}}).status == 403);
  CHECK(o.Post("/photos/original/cancel", {{"photo", id}}).status == 403);
  CHECK(o.Post("/photos/original/cancel", {{"csrf", csrf}, {"photo", "x"}}).status == 400);
  CHECK(o.Post("/photos/original/cancel",
               {{"csrf", csrf}, {"photo", Uuid::Random().ToString()}})
            .status == 404);
  CHECK(*blobs.RequestedOriginals(g.f.Record(g.somchai.id)) ==
        std::vector<std::string>{id});

  // Withdrawn: the device is no longer asked, the gallery offers to ask
  // again, and the audit log says who withdrew it.
  Reply cancelled = o.Post("/photos/original/cancel", {{"csrf", csrf}, {"photo", id}});
  REQUIRE(cancelled.status == 303);
  CHECK(blobs.RequestedOriginals(g.f.Record(g.somchai.id))->empty());
  page = o.Get("/photos");
  CHECK_FALSE(Has(page.body, "ขอภาพต้นฉบับแล้ว"));
  CHECK(Has(page.body, "action=\"/photos/original\""));
  CHECK(g.f.Count("SELECT COUNT(*) FROM audit_log WHERE action = "
                  "'original_request_cancelled' AND subject = 'photo:" + id + "'") == 1);
  // Twice: nothing left to withdraw. The JSON twin says the same.
  CHECK(o.Post("/photos/original/cancel", {{"csrf", csrf}, {"photo", id}}).status == 409);
  REQUIRE(o.Post("/photos/original", {{"csrf", csrf}, {"photo", id}}).status == 303);
  console::Request json_req;
  json_req.method = "POST";
  json_req.path = "/api/photos/original/cancel";
  json_req.content_type = "application/json";
  json_req.body = json{{"photo", id}}.dump();
  json_req.csrf_header = csrf;
  Reply api = o.Send(json_req);
  REQUIRE(api.status == 200);
  CHECK(json::parse(api.body)["requested"] == false);
  CHECK(blobs.RequestedOriginals(g.f.Record(g.somchai.id))->empty());
}

TEST_CASE("photo downloads: a device gets only photos named in its districts, in chunks",
          "[photos][untrusted]") {
  GalleryFixture g;
  BlobService blobs(*g.f.store);
  CHECK(AuthorizePhotoDownload(blobs, g.f.Record(g.somchai.id), g.sha).ok());
  CHECK(AuthorizePhotoDownload(blobs, g.f.Record(g.fang.id), g.sha).code() ==
        Code::kNotFound);
  CHECK(AuthorizePhotoDownload(blobs, g.f.Record(g.somchai.id), g.fang_sha)
            .code() == Code::kNotFound);
  CHECK(AuthorizePhotoDownload(blobs, g.f.Record(g.somchai.id), "../x").code() ==
        Code::kInvalidArgument);

  const std::string dir = g.f.store->paths().blobs;
  auto first = ReadOriginalChunk(dir, g.sha, 0);
  REQUIRE(first.ok());
  CHECK(first->total == g.jpeg.size());
  CHECK(first->bytes == g.jpeg);  // under 1 MiB: one chunk
  auto tail = ReadOriginalChunk(dir, g.sha, 100);
  REQUIRE(tail.ok());
  CHECK(tail->bytes == g.jpeg.substr(100));
  auto end = ReadOriginalChunk(dir, g.sha, g.jpeg.size());
  REQUIRE(end.ok());
  CHECK(end->bytes.empty());
  CHECK(ReadOriginalChunk(dir, g.sha, g.jpeg.size() + 1).status().code() ==
        Code::kInvalidArgument);
  auto missing = ReadOriginalChunk(dir, g.pending_sha, 0);
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().reason() == "not_uploaded");
}

}  // namespace
}  // namespace kbo::server::testing
