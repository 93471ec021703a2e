// Photos coming down to devices (issue 10, deliverable 6), end to end: a
// real kbo-server on loopback, real kbo devices. A field officer takes a
// photo and syncs; a trainer of the same district syncs and holds its
// thumbnail (made by the server), then fetches the original on demand.

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "client/store.h"
#include "client/sync_client.h"
#include "shared/fs.h"
#include "shared/signing.h"
#include "shared/sqlite/db.h"
#include "tests/integration/field.h"
#include "tests/support/test_db.h"
#include "tests/support/test_images.h"
#include "tools/bench/link_emulator.h"

namespace kbo::testing {
namespace {

bool Has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A producer group recorded on `officer` with a photo of it, not synced.
struct UnsentPhoto {
  std::string producer;
  std::string sha;  // the photo's sha256
};
UnsentPhoto PhotoOfNewProducer(Field& f, const std::string& officer) {
  UnsentPhoto p;
  p.producer = f.Producer(officer, "กลุ่มทอผ้าบ้านป่าตุ้ม", "5011");
  p.sha = f.ProducerPhoto(officer, p.producer, "IMG_0042.jpg");
  return p;
}

// A photo of a producer group taken on `officer` and synced; its sha256.
std::string SentPhoto(Field& f, const std::string& officer) {
  const std::string sha = PhotoOfNewProducer(f, officer).sha;
  f.SyncOk(officer);
  return sha;
}

// The stopped server of data folder `data` no longer holds photo `sha`:
// neither its record nor its file.
void ForgetPhoto(const std::string& data, const std::string& sha) {
  auto db = OpenTestServerDb(data);
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("DELETE FROM blob WHERE sha256 = '" + sha + "'").ok());
  REQUIRE(std::remove((data + "/blobs/" + sha).c_str()) == 0);
}

// How many times the server's log holds `needle`.
size_t Occurrences(const std::string& log, const std::string& needle) {
  size_t n = 0;
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// The requests asking which photos the server lacks, in its log so far.
size_t MissingAsked(Field& f) {
  return Occurrences(f.server().log(), "GET /v1/blobs/missing ");
}

// 1 when the server holds photo `sha` whole, else 0.
int64_t Received(Field& f, const std::string& sha) {
  return f.ServerCount("SELECT count(*) FROM blob WHERE sha256 = '" + sha +
                       "' AND complete_at IS NOT NULL");
}

// The phone app's sync when the signal returns: its one worker is busy for
// the whole of a sync, and a photo on a slow link held a trainer's roll-call
// taps for the length of its upload. Records go; photos wait for a sync the
// person starts.
TEST_CASE("photos: a records-only sync sends the records and leaves the photo for the "
          "next sync",
          "[photos][integration]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const auto [producer, sha] = PhotoOfNewProducer(f, officer);
  {
    auto store = client::ClientStore::Open(officer);
    REQUIRE(store.ok());
    client::SyncSummary summary;
    const Status s = client::RunSyncForUi(**store, &summary, nullptr, /*records_only=*/true);
    INFO(s.ToString() << f.server().log());
    REQUIRE(s.ok());
    CHECK(summary.blobs_uploaded == 0);
  }
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + producer + "'") == 1);
  CHECK(f.ServerCount("SELECT COUNT(*) FROM photo WHERE sha256 = '" + sha + "'") == 1);
  CHECK(Received(f, sha) == 0);
  CHECK(f.KboJson(officer, {"status"})["pending_changes"] == 0);
  CHECK(f.KboJson(officer, {"status"})["pending_blobs"] == 1);
  f.SyncOk(officer);
  CHECK(Received(f, sha) == 1);
  CHECK(f.KboJson(officer, {"status"})["pending_blobs"] == 0);
}

// An enrolled device adding photo rows could fill the server's disk at
// network speed, and then no record could be written. Photos stop first:
// said to the device as the disk (its reason reached no device: every 5xx
// said "cannot reach its database"), the records still go.
TEST_CASE("photos: a server whose disk is nearly full takes the records, says why the photo "
          "waits, and takes it once there is room",
          "[photos][integration]") {
  Field f({"--min-free-mb", "100000000"});  // more than this disk has
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const auto [producer, sha] = PhotoOfNewProducer(f, officer);
  for (int i = 0; i < 2; ++i) {
    CliResult sync = f.Kbo(officer, {"sync"});
    INFO(sync.out << sync.err);
    CHECK(sync.exit_code == 4);  // try again later: everything kept
    CHECK_THAT(sync.err, Catch::Contains("disk is nearly full"));
  }
  CHECK(f.ServerCount("SELECT COUNT(*) FROM producer WHERE id = '" + producer + "'") == 1);
  CHECK(Received(f, sha) == 0);
  CHECK(f.KboJson(officer, {"status"})["pending_blobs"] == 1);
  CHECK(Occurrences(f.server().log(), "DISK NEARLY FULL") == 1);  // not once per chunk
  f.server().Stop();
  f.server().set_extra_args({});
  REQUIRE(f.server().Start());
  f.SyncOk(officer);
  CHECK(Received(f, sha) == 1);
}

TEST_CASE("photos: a trainer receives the field officer's photo as a thumbnail, the original on demand",
          "[integration][photos]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = field.Enrolled("trainer", "trainer", "5011");
  const std::string fang = field.Enrolled("fang", "field_officer", "5009");

  const std::string producer =
      field.Add(officer, {"producer", "add", "--kind", "group", "--name",
                          "กลุ่มทอผ้าบ้านป่าตุ้ม", "--district", "5011"});
  // Taken with the phone turned: stored 1600 x 1200, EXIF orientation 6.
  const std::string jpeg = SampleJpeg(1600, 1200, 6);
  const std::string file = field.dir() + "/IMG_0001.jpg";
  REQUIRE(WriteFileAtomically(file, jpeg, 0600).ok());
  // What syncs is the officer's upload copy (client/photo_copy.h): upright
  // already, no EXIF.
  const std::string sha = field.PhotoSha(
      officer, field.Add(officer, {"photo", "add", file, "--subject",
                                   "producer:" + producer, "--caption",
                                   "ผ้าทอลายน้ำไหล"}));
  const std::string copy = field.UploadCopy(officer, sha);
  field.SyncOk(officer);
  REQUIRE(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + sha +
                            "' AND complete_at IS NOT NULL") == 1);

  // The trainer: the row, and the picture as a thumbnail.
  CliResult sync = field.Sync(trainer);
  INFO(sync.err << field.server().log());
  REQUIRE(sync.exit_code == 0);
  CHECK(Has(sync.out + sync.err, "photo preview"));
  const std::string thumb_path = trainer + "/blobs/thumbs/" + sha + ".jpg";
  auto thumb = ReadFileBounded(thumb_path, 1 << 20);
  REQUIRE(thumb.ok());
  auto size = DecodedSize(*thumb);
  CHECK(size.width == 240);  // turned upright: portrait
  CHECK(size.height == 320);
  CHECK(thumb->size() < jpeg.size());
  const std::string original_path =
      trainer + "/blobs/" + sha.substr(0, 2) + "/" + sha;
  CHECK_FALSE(FileExists(original_path));
  // The server cached it.
  CHECK(FileExists(field.server().data_dir() + "/blobs/thumbs/" + sha + ".jpg"));

  // Again: nothing new to fetch.
  CliResult again = field.Sync(trainer);
  REQUIRE(again.exit_code == 0);
  CHECK_FALSE(Has(again.out + again.err, "photo preview"));

  // The photo as the server holds it, on demand: the same bytes.
  CliResult fetch = field.Kbo(trainer, {"photo", "fetch", sha});
  INFO(fetch.err);
  REQUIRE(fetch.exit_code == 0);
  CHECK(Has(fetch.out, sha));
  auto original = ReadFileBounded(original_path, 64 << 20);
  REQUIRE(original.ok());
  CHECK(HexEncode(Sha256(*original)) == sha);
  CHECK(*original == copy);
  CHECK_FALSE(FileExists(trainer + "/blobs/partial/" + sha));
  // Fetched twice: already held, nothing downloaded.
  CHECK(field.Kbo(trainer, {"photo", "fetch", sha}).exit_code == 0);

  // Fang's officer never sees Phrao's photo, row or picture.
  field.SyncOk(fang);
  CHECK_FALSE(FileExists(fang + "/blobs/thumbs/" + sha + ".jpg"));
  CliResult stranger = field.Kbo(fang, {"photo", "fetch", sha});
  CHECK(stranger.exit_code == 3);

  // A bad name is the person's input.
  CHECK(field.Kbo(trainer, {"photo", "fetch", "not-a-sha"}).exit_code == 2);
}

TEST_CASE("photos: forty photos' thumbnails come down in two requests, not forty",
          "[integration][photos][thumbs]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = field.Enrolled("trainer", "trainer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มผ้าทอพร้าว", "5011");
  std::vector<std::string> shas;
  for (int i = 0; i < 40; ++i) {
    // As taken (no copy to make): forty distinct small pictures, quickly.
    const std::string file = field.dir() + "/IMG_2" + std::to_string(100 + i) + ".jpg";
    REQUIRE(WriteFileAtomically(file, SampleJpeg(320 + i, 240), 0600).ok());
    shas.push_back(field.PhotoSha(
        officer, field.Add(officer, {"photo", "add", file, "--as-taken", "--subject",
                                     "producer:" + producer})));
  }
  field.SyncOk(officer);
  const size_t log_start = field.server().log().size();
  CliResult sync = field.Sync(trainer);
  INFO(sync.out << sync.err);
  REQUIRE(sync.exit_code == 0);
  CHECK(Has(sync.out, "received 40 photo previews"));
  for (const std::string& sha : shas) {
    auto thumb = ReadFileBounded(trainer + "/blobs/thumbs/" + sha + ".jpg", 1 << 20);
    REQUIRE(thumb.ok());
    CHECK(thumb->rfind("\xff\xd8\xff", 0) == 0);
  }
  const auto count = [&](const std::string& what) {
    const std::string log = field.server().log().substr(log_start);
    size_t n = 0;
    for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
    return n;
  };
  // The server logs a request before answering it: both are there.
  CHECK(count("POST /v1/thumbs ") == 2);  // 32 + 8
  CHECK(count("GET /v1/thumbs/") == 0);
  // Held now: the next sync asks for none.
  CliResult again = field.Sync(trainer);
  REQUIRE(again.exit_code == 0);
  CHECK_FALSE(Has(again.out, "preview"));
  CHECK(count("POST /v1/thumbs ") == 2);
}

TEST_CASE("photos: a photo not yet uploaded comes down with a later sync",
          "[integration][photos]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = field.Enrolled("trainer", "trainer", "5011");
  const std::string producer =
      field.Add(officer, {"producer", "add", "--kind", "group", "--name",
                          "กลุ่มจักสาน", "--district", "5011"});
  const std::string jpeg = SampleJpeg(800, 600);
  const std::string file = field.dir() + "/IMG_0002.jpg";
  REQUIRE(WriteFileAtomically(file, jpeg, 0600).ok());
  const std::string sha = field.PhotoSha(
      officer,
      field.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer}));
  field.SyncOk(officer);
  // The blob vanishes from the server as if its upload had not finished.
  const std::string blob = field.server().data_dir() + "/blobs/" + sha;
  auto bytes = ReadFileBounded(blob, 64 << 20);
  REQUIRE(bytes.ok());
  REQUIRE(std::remove(blob.c_str()) == 0);

  field.SyncOk(trainer);  // not fatal
  CHECK_FALSE(FileExists(trainer + "/blobs/thumbs/" + sha + ".jpg"));
  CHECK_FALSE(FileExists(trainer + "/blobs/thumbs/" + sha + ".none"));
  CliResult fetch = field.Kbo(trainer, {"photo", "fetch", sha});
  CHECK(fetch.exit_code != 0);
  CHECK_FALSE(FileExists(trainer + "/blobs/" + sha.substr(0, 2) + "/" + sha));

  REQUIRE(WriteFileAtomically(blob, *bytes, 0600).ok());
  field.SyncOk(trainer);
  CHECK(FileExists(trainer + "/blobs/thumbs/" + sha + ".jpg"));
}

TEST_CASE("photos: what syncs is the upload copy, and the original stays on the device",
          "[integration][photos]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มเครื่องเงิน", "5011");
  // A camera's photo, taken with the phone turned: 3000 x 2000 stored,
  // EXIF orientation 6.
  const std::string jpeg = SampleJpeg(3000, 2000, 6);
  const std::string original_sha = HexEncode(Sha256(jpeg));
  const std::string file = field.dir() + "/IMG_0003.jpg";
  REQUIRE(WriteFileAtomically(file, jpeg, 0600).ok());
  const std::string id =
      field.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer});
  const json row = field.KboJson(officer, {"show", "photo", id});
  const std::string sha = row["sha256"].get<std::string>();
  CHECK(sha != original_sha);
  CHECK(row["mime"] == "image/jpeg");
  CHECK(row["height"] == 1600);  // upright: portrait, the long edge 1600

  field.SyncOk(officer);
  // The server holds the copy, byte for byte, and nothing of the original.
  auto held = ReadFileBounded(field.server().data_dir() + "/blobs/" + sha, 64 << 20);
  REQUIRE(held.ok());
  CHECK(*held == field.UploadCopy(officer, sha));
  CHECK(HexEncode(Sha256(*held)) == sha);
  CHECK(static_cast<int64_t>(held->size()) == row["bytes"].get<int64_t>());
  CHECK(held->size() < jpeg.size());
  const ImageSize size = DecodedSize(*held);
  CHECK(size.width == row["width"].get<int>());
  CHECK(size.height == 1600);
  CHECK(size.width < size.height);
  CHECK_FALSE(Has(*held, std::string("Exif\0\0", 6)));
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + sha +
                          "' AND complete_at IS NOT NULL") == 1);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" +
                          original_sha + "'") == 0);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM photo WHERE sha256 = '" + sha +
                          "' AND bytes = " + std::to_string(held->size()) +
                          " AND height = 1600") == 1);
  // The original, byte-identical, stays on the device.
  auto kept = ReadFileBounded(officer + "/blobs/originals/" +
                                  original_sha.substr(0, 2) + "/" + original_sha,
                              64 << 20);
  REQUIRE(kept.ok());
  CHECK(*kept == jpeg);
  CHECK(Field::Count(officer + "/field.db",
                     "SELECT COUNT(*) FROM photo_original WHERE upload_sha256 = '" +
                         sha + "' AND original_sha256 = '" + original_sha +
                         "' AND original_bytes = " + std::to_string(jpeg.size())) ==
        1);
  CHECK(field.KboJson(officer, {"status"})["pending_blobs"] == 0);
}

// Originals on request (issue 12; docs/protocol.md §8): photos sync as
// upload copies; the office asks for one photo as taken, and the device that
// took it sends it with its next sync -- and only that device can.
TEST_CASE("photos: the office asks for an original, and the device that took it sends it with its next sync",
          "[integration][photos][originals]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = field.Enrolled("trainer", "trainer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มผ้าฝ้ายพร้าว", "5011");
  const std::string jpeg = SampleJpeg(3000, 2000, 6);
  const std::string original_sha = HexEncode(Sha256(jpeg));
  const std::string file = field.dir() + "/IMG_0004.jpg";
  REQUIRE(WriteFileAtomically(file, jpeg, 0600).ok());
  const std::string id =
      field.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer});
  const std::string sha = field.PhotoSha(officer, id);
  field.SyncOk(officer);
  field.SyncOk(trainer);
  const std::string held_original = field.server().data_dir() + "/blobs/" + original_sha;
  CHECK_FALSE(FileExists(held_original));

  // Nobody asked: a sync sends no original.
  CliResult quiet = field.Sync(officer);
  REQUIRE(quiet.exit_code == 0);
  CHECK_FALSE(Has(quiet.out, "original"));

  // Asked for by a photo that does not exist, or not a uuid: refused.
  CHECK(field.Server({"photo", "ask-original", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"})
            .exit_code == 3);
  CHECK(field.Server({"photo", "ask-original", "IMG_0004.jpg"}).exit_code == 2);
  CliResult ask = field.Server({"photo", "ask-original", id});
  INFO(ask.err);
  REQUIRE(ask.exit_code == 0);
  CHECK(Has(ask.out, "asked device"));
  // Asking twice keeps one request.
  REQUIRE(field.Server({"photo", "ask-original", id}).exit_code == 0);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM original_request WHERE photo_id = '" +
                          id + "' AND upload_sha256 = '" + sha + "'") == 1);

  // The trainer syncs: not asked (the officer took it), sends nothing.
  CliResult other = field.Sync(trainer);
  REQUIRE(other.exit_code == 0);
  CHECK_FALSE(Has(other.out, "original"));
  // Nor can the trainer send it when it tries: it keeps no original of it.
  CliResult not_here = field.Kbo(trainer, {"photo", "upload-originals", "--photo", id});
  CHECK(not_here.exit_code == 3);
  CHECK(Has(not_here.err, "no original on this device"));

  // The officer's next sync sends it, byte for byte.
  CliResult sent = field.Sync(officer);
  INFO(sent.err << field.server().log());
  REQUIRE(sent.exit_code == 0);
  CHECK(Has(sent.out, "sent 1 original as taken"));
  auto held = ReadFileBounded(held_original, 64 << 20);
  REQUIRE(held.ok());
  CHECK(*held == jpeg);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + original_sha +
                          "' AND complete_at IS NOT NULL AND bytes = " +
                          std::to_string(jpeg.size())) == 1);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM photo_original WHERE photo_id = '" + id +
                          "' AND upload_sha256 = '" + sha + "' AND sha256 = '" +
                          original_sha + "' AND mime = 'image/jpeg'") == 1);
  // The request is answered: the next sync sends nothing more, and the
  // copy is untouched.
  CliResult after = field.Sync(officer);
  REQUIRE(after.exit_code == 0);
  CHECK_FALSE(Has(after.out, "original"));
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + sha +
                          "' AND complete_at IS NOT NULL") == 1);
  CHECK(field.KboJson(officer, {"status"})["pending_blobs"] == 0);
}

TEST_CASE("photos: the office withdraws a request before the device syncs, and the original stays on the device",
          "[integration][photos][originals]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มจักสานพร้าว", "5011");
  const std::string jpeg = SampleJpeg(2600, 1800);
  const std::string original_sha = HexEncode(Sha256(jpeg));
  const std::string file = field.dir() + "/IMG_0007.jpg";
  REQUIRE(WriteFileAtomically(file, jpeg, 0600).ok());
  const std::string id =
      field.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer});
  field.SyncOk(officer);
  const std::string held_original = field.server().data_dir() + "/blobs/" + original_sha;

  // Nothing asked: nothing to withdraw (exit 1, failed precondition); a
  // photo that does not exist: exit 3; not a uuid: usage.
  CliResult none = field.Server({"photo", "cancel-original", id});
  CHECK(none.exit_code == 1);
  CHECK(Has(none.err, "no open request"));
  CHECK(field.Server({"photo", "cancel-original", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"})
            .exit_code == 3);
  CHECK(field.Server({"photo", "cancel-original", "IMG_0007.jpg"}).exit_code == 2);

  // Asked by mistake, withdrawn: the device's sync sends nothing.
  REQUIRE(field.Server({"photo", "ask-original", id}).exit_code == 0);
  CliResult cancel = field.Server({"photo", "cancel-original", id});
  INFO(cancel.err);
  REQUIRE(cancel.exit_code == 0);
  CHECK(Has(cancel.out, "withdrew the request"));
  CHECK(field.ServerCount("SELECT COUNT(*) FROM original_request") == 0);
  CHECK(field.ServerCount(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'original_request_cancelled'") == 1);
  CliResult quiet = field.Sync(officer);
  REQUIRE(quiet.exit_code == 0);
  CHECK_FALSE(Has(quiet.out, "original"));
  CHECK_FALSE(FileExists(held_original));
  CHECK(field.KboJson(officer, {"status"})["originals_to_send"] == 0);

  // Asked again, it goes; once held, there is nothing left to withdraw.
  REQUIRE(field.Server({"photo", "ask-original", id}).exit_code == 0);
  CliResult sent = field.Sync(officer);
  REQUIRE(sent.exit_code == 0);
  CHECK(Has(sent.out, "sent 1 original as taken"));
  CHECK(FileExists(held_original));
  CliResult late = field.Server({"photo", "cancel-original", id});
  CHECK(late.exit_code == 1);
  CHECK(Has(late.err, "held already"));
}

TEST_CASE("photos: asked for the original of a photo sent as taken, the device answers with what the server holds",
          "[integration][photos][originals]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มจักสาน", "5011");
  const std::string png = SampleJpeg(2000, 1500);
  const std::string file = field.dir() + "/certificate.jpg";
  REQUIRE(WriteFileAtomically(file, png, 0600).ok());
  const std::string id = field.Add(
      officer, {"photo", "add", file, "--subject", "producer:" + producer, "--as-taken"});
  const std::string sha = field.PhotoSha(officer, id);
  CHECK(sha == HexEncode(Sha256(png)));
  field.SyncOk(officer);
  REQUIRE(field.Server({"photo", "ask-original", id}).exit_code == 0);
  const std::string log_before = field.server().log();
  CliResult answered = field.Sync(officer);
  INFO(answered.err);
  REQUIRE(answered.exit_code == 0);
  CHECK(Has(answered.out, "1 original asked for already on the server"));
  // Nothing uploaded again: the notice's answer said it is whole.
  CHECK_FALSE(Has(field.server().log().substr(log_before.size()), "PUT /v1/blobs/"));
  CHECK(field.ServerCount("SELECT COUNT(*) FROM photo_original WHERE photo_id = '" + id +
                          "' AND upload_sha256 = '" + sha + "' AND sha256 = '" + sha +
                          "'") == 1);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM original_request") == 1);
  CliResult quiet = field.Sync(officer);
  REQUIRE(quiet.exit_code == 0);
  CHECK_FALSE(Has(quiet.out, "original"));
}

TEST_CASE("photos: a device that keeps no original, or lost it, says so, and its sync and other photos go on",
          "[integration][photos][originals]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มไม้แกะสลัก", "5011");
  std::vector<std::string> ids, originals;
  for (int i = 0; i < 2; ++i) {
    originals.push_back(SampleJpeg(2600 + 100 * i, 1700));
    const std::string file = field.dir() + "/IMG_20" + std::to_string(i) + ".jpg";
    REQUIRE(WriteFileAtomically(file, originals.back(), 0600).ok());
    ids.push_back(
        field.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer}));
  }
  field.SyncOk(officer);
  // The first as if recorded by a kbo that kept no originals; the second's
  // file lost.
  const std::string first_sha = field.PhotoSha(officer, ids[0]);
  {
    auto db = Db::Open(officer + "/field.db");
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("DELETE FROM photo_original WHERE upload_sha256 = '" +
                        first_sha + "'").ok());
  }
  const std::string lost = HexEncode(Sha256(originals[1]));
  REQUIRE(std::remove((officer + "/blobs/originals/" + lost.substr(0, 2) + "/" + lost)
                          .c_str()) == 0);
  REQUIRE(field.Server({"photo", "ask-original", ids[0]}).exit_code == 0);
  REQUIRE(field.Server({"photo", "ask-original", ids[1]}).exit_code == 0);

  CliResult said = field.Sync(officer);
  INFO(said.out << said.err << field.server().log());
  REQUIRE(said.exit_code == 0);  // the sync itself is fine
  CHECK(Has(said.out, "1 original asked for could not go"));
  CHECK(field.ServerCount("SELECT COUNT(*) FROM original_request WHERE photo_id = '" +
                          ids[0] + "' AND declined_reason = 'no_original'") == 1);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM original_request WHERE photo_id = '" +
                          ids[1] + "' AND declined_reason = 'missing'") == 1);
  // Nothing is asked any more: the next sync is quiet and asks for no list.
  const std::string log_before = field.server().log();
  CliResult quiet = field.Sync(officer);
  REQUIRE(quiet.exit_code == 0);
  CHECK_FALSE(Has(quiet.out, "original"));
  CHECK_FALSE(Has(field.server().log().substr(log_before.size()), "/v1/photos/originals"));
  // The person asks again for the lost one: refused at once, with why.
  CliResult again = field.Kbo(officer, {"photo", "upload-originals", "--photo", ids[1]});
  CHECK(again.exit_code == 5);
  CHECK(Has(again.err, "is not on this device"));
  const json status = field.KboJson(officer, {"status"});
  CHECK(status["originals_held_back"] == 1);
  CHECK(status["originals_to_send"] == 0);
}

TEST_CASE("photos: kbo photo upload-originals sends the originals now, and cut off, they go with the next sync",
          "[integration][photos][originals]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มเครื่องปั้นดินเผา", "5011");
  std::vector<std::string> originals;
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    originals.push_back(SampleJpeg(2400 + 100 * i, 1800));
    const std::string file = field.dir() + "/IMG_10" + std::to_string(i) + ".jpg";
    REQUIRE(WriteFileAtomically(file, originals.back(), 0600).ok());
    ids.push_back(
        field.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer}));
  }
  // Usage: neither photos nor --all; a photo that is not a uuid.
  CHECK(field.Kbo(officer, {"photo", "upload-originals"}).exit_code == 2);
  CHECK(field.Kbo(officer, {"photo", "upload-originals", "--photo", "x"}).exit_code == 2);
  CHECK(field.Kbo(officer, {"photo", "upload-originals", "--photo",
                            "1b4e28ba-2fa1-41d2-883f-0016d3cca427"})
            .exit_code == 3);

  // The first photo, before its row was ever synced, with the server out of
  // reach: exit 4, nothing lost, still asked for.
  CliResult cut = field.Kbo(officer, {"photo", "upload-originals", "--photo", ids[0],
                                      "--server", "http://127.0.0.1:9"});
  CHECK(cut.exit_code == 4);
  CHECK(Has(cut.err, "stay asked for"));
  // After the failure's own line, not before it.
  INFO(cut.err);
  CHECK(cut.err.rfind("kbo: the originals stay asked for") > cut.err.find("kbo: cannot reach"));
  CHECK(cut.err.find("kbo: cannot reach") != std::string::npos);
  CHECK(Field::Count(officer + "/field.db",
                     "SELECT COUNT(*) FROM original_send WHERE announced_at IS NULL") == 1);
  CHECK(field.KboJson(officer, {"status"})["originals_to_send"] == 1);
  // The next plain sync pushes the row, the copy, then the original.
  CliResult later = field.Sync(officer);
  INFO(later.err << field.server().log());
  REQUIRE(later.exit_code == 0);
  CHECK(Has(later.out, "sent 1 original as taken"));
  const auto server_holds = [&](const std::string& bytes) {
    auto held = ReadFileBounded(
        field.server().data_dir() + "/blobs/" + HexEncode(Sha256(bytes)), 64 << 20);
    return held.ok() && *held == bytes;
  };
  CHECK(server_holds(originals[0]));
  CHECK_FALSE(server_holds(originals[1]));

  // --all: the other one, at once; the first is not sent again.
  const std::string log_before = field.server().log();
  CliResult all = field.Kbo(officer, {"photo", "upload-originals", "--all"});
  INFO(all.err);
  REQUIRE(all.exit_code == 0);
  CHECK(Has(all.out, "sent 1 original as taken"));
  CHECK(server_holds(originals[1]));
  const std::string log_after = field.server().log().substr(log_before.size());
  CHECK_FALSE(Has(log_after, HexEncode(Sha256(originals[0]))));
  CliResult again = field.Kbo(officer, {"photo", "upload-originals", "--all"});
  REQUIRE(again.exit_code == 0);
  CHECK(Has(again.out, "no originals to send (2 sent before"));
}

TEST_CASE("photos: a photo added and deleted before a sync is not sent, "
          "counted or bundled, and no sync says it was held back",
          "[integration][photos]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มเครื่องเงิน", "5011");
  const std::string file = field.dir() + "/IMG_0009.jpg";
  REQUIRE(WriteFileAtomically(file, SampleJpeg(640, 480), 0600).ok());
  const std::string photo =
      field.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer});
  CHECK(field.KboJson(officer, {"status"})["pending_blobs"] == 1);
  REQUIRE(field.Kbo(officer, {"delete", "photo", photo}).exit_code == 0);
  // Once it stayed "to upload" for good, every sync saying it was held
  // back (refused?), and every bundle carried it.
  CHECK(field.KboJson(officer, {"status"})["pending_blobs"] == 0);
  for (int i = 0; i < 2; ++i) {
    CliResult sync = field.Sync(officer);
    INFO(sync.out << sync.err);
    REQUIRE(sync.exit_code == 0);
    CHECK_FALSE(Has(sync.err, "kept here"));
    CHECK_FALSE(Has(sync.out, "kept here"));
  }
  CHECK(field.KboJson(officer, {"status"})["pending_blobs"] == 0);
  CliResult bundle = field.Kbo(officer, {"bundle", "export",
                                         field.dir() + "/b.kbo", "--photos"});
  INFO(bundle.err);
  REQUIRE(bundle.exit_code == 0);
  CHECK(Has(bundle.out, ", 0 photos ("));
}

TEST_CASE("photos: one photo larger than the server takes is set aside, the "
          "others still go, and it is not sent again",
          "[integration][photos]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มเครื่องเงิน", "5011");
  // 65 MiB: a PNG's signature, then nothing a picture needs.
  std::string huge("\x89PNG\r\n\x1a\n", 8);
  huge.resize(size_t{65} << 20, '\0');
  const std::string file = field.dir() + "/scan.png";
  REQUIRE(WriteFileAtomically(file, huge, 0600).ok());

  // Recorded now: refused sent as taken (the server would not take it).
  CliResult taken = field.Kbo(officer, {"photo", "add", file, "--subject",
                                        "producer:" + producer, "--max-mib",
                                        "100", "--as-taken"});
  CHECK(taken.exit_code == 2);
  CHECK(Has(taken.err, "may be at most 64 MiB"));
  CHECK(field.KboJson(officer, {"status"})["pending_blobs"] == 0);

  // As an older kbo queued it: first in the queue, before a good photo.
  const std::string sha = HexEncode(Sha256(huge));
  REQUIRE(EnsureDir(officer + "/blobs/" + sha.substr(0, 2)).ok());
  REQUIRE(WriteFileAtomically(officer + "/blobs/" + sha.substr(0, 2) + "/" + sha,
                              huge, 0600)
              .ok());
  {
    auto db = Db::Open(officer + "/field.db");
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("INSERT INTO blob_upload (sha256, bytes, mime) VALUES ('" +
                        sha + "', " + std::to_string(huge.size()) +
                        ", 'image/png')").ok());
  }
  const std::string good = field.dir() + "/IMG_0007.jpg";
  REQUIRE(WriteFileAtomically(good, SampleJpeg(800, 600), 0600).ok());
  const std::string good_sha = field.PhotoSha(
      officer, field.Add(officer, {"photo", "add", good, "--subject",
                                   "producer:" + producer}));

  CliResult first = field.Sync(officer);
  INFO(first.out << first.err << field.server().log());
  CHECK(first.exit_code == 0);
  CHECK(Has(first.out + first.err, "1 photo larger than the server takes"));
  // The good photo went; the large one is kept on the device, set aside.
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" +
                          good_sha + "' AND complete_at IS NOT NULL") == 1);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + sha +
                          "'") == 0);
  CHECK(FileExists(officer + "/blobs/" + sha.substr(0, 2) + "/" + sha));
  // Known to be too large before anything was sent: not one request names it.
  CHECK(field.server().log().find(sha) == std::string::npos);
  json status = field.KboJson(officer, {"status"});
  CHECK(status["pending_blobs"] == 0);
  CHECK(status["photos_refused"] == 1);
  CliResult shown = field.Kbo(officer, {"status"});
  CHECK(Has(shown.out, "the server refused as larger than it takes"));

  // Not in a bundle either, and said so.
  CliResult bundled =
      field.Kbo(officer, {"bundle", "export", field.dir() + "/b.kbo", "--photos"});
  CHECK(bundled.exit_code == 0);
  CHECK(Has(bundled.err, "1 photo larger than a server takes is not in the bundle"));
  // Not sent again: the next sync has nothing to say of it.
  CliResult again = field.Sync(officer);
  CHECK(again.exit_code == 0);
  CHECK_FALSE(Has(again.out + again.err, "larger than"));
  CHECK(field.KboJson(officer, {"status"})["photos_refused"] == 1);
}

TEST_CASE("photos: a photo whose every row on the server gives it another size is held "
          "back, kept, and the others still go",
          "[integration][photos]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มเครื่องเงิน", "5011");
  const std::string odd_file = field.dir() + "/IMG_0008.jpg";
  REQUIRE(WriteFileAtomically(odd_file, SampleJpeg(640, 480), 0600).ok());
  const std::string odd = field.PhotoSha(
      officer, field.Add(officer, {"photo", "add", odd_file, "--subject", "producer:" + producer}));
  // Its row reaches the server by a bundle, without the photo; there its
  // size reads otherwise (as a row another device wrote would).
  // (A small photo's size in a bundle is in KiB: it said "0.0 MiB".)
  CliResult carried =
      field.Kbo(officer, {"bundle", "export", field.dir() + "/with.kbo", "--photos"});
  REQUIRE(carried.exit_code == 0);
  CHECK(Has(carried.out, "1 photo ("));
  CHECK(Has(carried.out, " KiB)"));
  CHECK_FALSE(Has(carried.out, "0.0 MiB"));
  const std::string bundle = field.dir() + "/rows.kbo";
  REQUIRE(field.Kbo(officer, {"bundle", "export", bundle}).exit_code == 0);
  REQUIRE(RunServerCli({"--data", field.server().data_dir(), "bundle", "import", bundle})
              .exit_code == 0);
  {
    auto db = OpenTestServerDb(field.server().data_dir());
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("UPDATE photo SET bytes = 999 WHERE sha256 = '" + odd + "'").ok());
  }
  const std::string good_file = field.dir() + "/IMG_0009.jpg";
  REQUIRE(WriteFileAtomically(good_file, SampleJpeg(800, 600), 0600).ok());
  const std::string good = field.PhotoSha(
      officer, field.Add(officer, {"photo", "add", good_file, "--subject", "producer:" + producer}));
  CliResult r = field.Sync(officer);
  INFO(r.out << r.err << field.server().log());
  CHECK(r.exit_code == 0);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + good +
                          "' AND complete_at IS NOT NULL") == 1);
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + odd + "'") == 0);
  CHECK(FileExists(officer + "/blobs/" + odd.substr(0, 2) + "/" + odd));
  CHECK(field.KboJson(officer, {"status"})["pending_blobs"] == 1);
}

TEST_CASE("photos: over a slow link a large photo goes up in chunks the link "
          "carries before the device stops waiting, none sent twice",
          "[integration][photos][slow_link]") {
  Field field;
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มผ้าทอ", "5011");
  // 1.5 MiB as taken (a picture, then bytes a JPEG reader skips).
  std::string big = SampleJpeg(800, 600);
  big.append(size_t{1536} << 10, '\0');
  const std::string file = field.dir() + "/IMG_0100.jpg";
  REQUIRE(WriteFileAtomically(file, big, 0600).ok());
  const std::string sha = field.PhotoSha(
      officer, field.Add(officer, {"photo", "add", file, "--subject",
                                   "producer:" + producer, "--as-taken"}));
  // 2 Mbit/s: a whole 1 MiB chunk takes over 4 s to arrive, longer than
  // this device waits for an answer (3 s); EDGE's 1 MiB takes 42 s against
  // the default 30 s.
  bench::LinkEmulator link(field.server().port(),
                           bench::LinkProfile{"slow", 2e6, 40, 0, 0, 0}, 1);
  auto store = client::ClientStore::Open(officer);
  REQUIRE(store.ok());
  client::SyncOptions options;
  options.server_url = link.url();
  options.timeouts.read_ms = 3000;
  client::SyncClient sync(**store, options);
  Result<client::SyncSummary> done = sync.Sync();
  INFO(done.status().ToString() << field.server().log());
  REQUIRE(done.ok());
  CHECK(done->blobs_uploaded == 1);
  CHECK(done->blob_bytes == big.size());  // each byte once
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + sha +
                          "' AND complete_at IS NOT NULL") == 1);
}

TEST_CASE("Photos: after the server is restored from a backup, a photo it lost "
          "goes up again, and a photo file it kept counts as received",
          "[photos][integration][restore]") {
  Field f;
  f.ExpectSentBack();
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string producer = f.Producer(officer, "กลุ่มทอผ้าบ้านป่าตุ้ม", "5011");
  f.SyncOk(officer);
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  const std::string backup = f.dir() + "/backup";
  BackupTestServerDb(data, backup);
  REQUIRE(f.server().Start());

  // Two photos after the backup, both received.
  std::vector<std::string> shas;
  for (int i = 0; i < 2; ++i) {
    const std::string file = f.dir() + "/IMG_000" + std::to_string(i) + ".jpg";
    REQUIRE(WriteFileAtomically(file, SampleJpeg(640 + 16 * i, 480), 0600).ok());
    shas.push_back(f.PhotoSha(
        officer, f.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer})));
  }
  f.SyncOk(officer);
  const auto received = [&](const std::string& sha) {
    return f.ServerCount("SELECT count(*) FROM blob WHERE sha256 = '" + sha +
                         "' AND complete_at IS NOT NULL");
  };
  REQUIRE(received(shas[0]) == 1);
  REQUIRE(received(shas[1]) == 1);

  // The restore: server.db from the backup; of the photo files, the first
  // survived (blobs/ newer than the database), the second was lost.
  REQUIRE(f.server().Stop() == 0);
  RestoreTestServerDb(data, backup);
  REQUIRE(std::remove((data + "/blobs/" + shas[1]).c_str()) == 0);
  REQUIRE(f.server().Start());
  // The file that survived is received again at start, before any sync.
  CHECK(received(shas[0]) == 1);
  CHECK(received(shas[1]) == 0);

  // The officer's next sync sends its lost change set again, and the lost
  // photo with it; the one the server holds is not sent.
  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err);
  REQUIRE(synced.exit_code == 0);
  CHECK(received(shas[0]) == 1);
  CHECK(received(shas[1]) == 1);
  Result<std::string> back = ReadFileBounded(data + "/blobs/" + shas[1], size_t{64} << 20);
  REQUIRE(back.ok());
  CHECK(*back == f.UploadCopy(officer, shas[1]));
  CHECK(f.ServerCount("SELECT count(*) FROM photo") == 2);
  CHECK(f.KboJson(officer, {"status"})["pending_blobs"] == 0);
}

TEST_CASE("Photos: a photo whose row the server's backup holds but whose file "
          "went up after it goes up again when the server is restored",
          "[photos][integration][restore]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string sha = SentPhoto(f, officer);
  const auto received = [&]() { return Received(f, sha); };
  REQUIRE(received() == 1);
  // The backup as taken between the photo's row and its file: the row in
  // server.db, the file not yet in blobs/.
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  const std::string backup = f.dir() + "/backup";
  BackupTestServerDb(data, backup);
  REQUIRE(f.server().Start());
  // Another device's work after the backup: the restored server is behind.
  f.Producer(trainer, "กลุ่มจักสานบ้านแม่แวน", "5011");
  f.SyncOk(trainer);

  REQUIRE(f.server().Stop() == 0);
  RestoreTestServerDb(data, backup);
  ForgetPhoto(data, sha);
  REQUIRE(f.server().Start());
  REQUIRE(received() == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM photo") == 1);

  // None of the officer's change sets was lost, yet its next sync learns
  // the server was restored and sends the photo again.
  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err << f.server().log());
  REQUIRE(synced.exit_code == 0);
  CHECK(received() == 1);
  Result<std::string> back = ReadFileBounded(data + "/blobs/" + sha, size_t{64} << 20);
  REQUIRE(back.ok());
  CHECK(*back == f.UploadCopy(officer, sha));
  CHECK(f.KboJson(officer, {"status"})["pending_blobs"] == 0);
  // Asked once per restore, not at every sync: the epoch it checked
  // against is noted.
  CHECK(Field::Count(officer + "/field.db",
                     "SELECT server_seq_epoch FROM sync_state") == 1);
  const size_t asked = MissingAsked(f);
  f.SyncOk(officer);
  CHECK(MissingAsked(f) == asked);
}


// The same, restored whole with sequence-high-water (no epoch moves): the
// device learns of the restore from the pull it is sent back on.
TEST_CASE("Photos: a photo whose file went up after the backup goes up again when the "
          "server is restored whole, sequence-high-water with it",
          "[photos][integration][restore]") {
  Field f;
  f.ExpectSentBack();
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string sha = SentPhoto(f, officer);
  const auto received = [&]() { return Received(f, sha); };
  REQUIRE(received() == 1);
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  const std::string backup = f.dir() + "/backup";
  BackupTestServerWhole(data, backup);
  REQUIRE(f.server().Start());
  // The trainer's work after the backup reaches the officer.
  f.Producer(trainer, "กลุ่มจักสานบ้านแม่แวน", "5011");
  f.SyncOk(trainer);
  f.SyncOk(officer);

  REQUIRE(f.server().Stop() == 0);
  RestoreTestServerWhole(data, backup);
  ForgetPhoto(data, sha);  // the backup as taken between the photo's row and its file
  REQUIRE(f.server().Start());
  REQUIRE(received() == 0);

  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err << f.server().log());
  REQUIRE(synced.exit_code == 0);
  CHECK(received() == 1);
  CHECK(f.KboJson(officer, {"status"})["pending_blobs"] == 0);
}

// The device notes that it must ask with the cursors the server sent it
// back to: a sync cut between the two (the server does not send it back
// again) still asks the next time, and once.
TEST_CASE("Photos: a device that was sent back asks for its photos at its next whole "
          "sync, and then no more",
          "[photos][integration][restore]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string sha = SentPhoto(f, officer);
  const auto received = [&]() { return Received(f, sha); };
  REQUIRE(received() == 1);
  const std::string data = f.server().data_dir();
  const auto lose_photo = [&] {
    REQUIRE(f.server().Stop() == 0);
    ForgetPhoto(data, sha);
    REQUIRE(f.server().Start());
  };
  lose_photo();
  // As a sync cut after the server sent the device back leaves it.
  {
    auto db = Db::Open(officer + "/field.db");
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("UPDATE sync_state SET photos_recheck = 1").ok());
  }
  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err << f.server().log());
  REQUIRE(synced.exit_code == 0);
  CHECK(received() == 1);
  CHECK(Field::Count(officer + "/field.db", "SELECT photos_recheck FROM sync_state") == 0);
  // Asked once: the next sync does not ask again.
  const size_t asked = MissingAsked(f);
  REQUIRE(f.Sync(officer).exit_code == 0);
  CHECK(MissingAsked(f) == asked);
}

// A data folder restored whole (sequence-high-water with it) from a backup
// taken after the photo's row came and before its file did, the device not
// having pulled since: no cursor of it is past the backup and no epoch
// moves. It asks on its pull whether the server still holds its newest
// photo (X-KBO-Last-Upload), and sends it again.
TEST_CASE("Photos: a photo whose file was the device's last word before a whole "
          "restore goes up again, and only the device that sent it asks",
          "[photos][integration][restore]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  f.Producer(trainer, "กลุ่มจักสานบ้านแม่แวน", "5011");
  f.SyncOk(trainer);
  const std::string sha = SentPhoto(f, officer);
  REQUIRE(Received(f, sha) == 1);
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  const std::string backup = f.dir() + "/backup";
  BackupTestServerWhole(data, backup);
  RestoreTestServerWhole(data, backup);
  ForgetPhoto(data, sha);  // the backup as taken between the photo's row and its file
  REQUIRE(f.server().Start());
  REQUIRE(Received(f, sha) == 0);

  // The trainer never sent a photo: it does not ask.
  f.SyncOk(trainer);
  CHECK(MissingAsked(f) == 0);
  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err << f.server().log());
  REQUIRE(synced.exit_code == 0);
  CHECK(MissingAsked(f) == 1);
  CHECK(Received(f, sha) == 1);
  Result<std::string> back = ReadFileBounded(data + "/blobs/" + sha, size_t{64} << 20);
  REQUIRE(back.ok());
  CHECK(*back == f.UploadCopy(officer, sha));
  CHECK(f.KboJson(officer, {"status"})["pending_blobs"] == 0);
  // Held again: the next syncs do not ask.
  f.SyncOk(officer);
  f.SyncOk(trainer);
  CHECK(MissingAsked(f) == 1);
}

// Review: the newest photo was found by the device's clock, which a clock
// set back puts out of order: the one confirmed last is asked about.
TEST_CASE("Photos: the photo a device asks the server about is the one confirmed last, "
          "whatever its clock said then",
          "[photos][integration][restore]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string first = SentPhoto(f, officer);
  const std::string producer = f.Producer(officer, "กลุ่มจักสานบ้านแม่แวน", "5011");
  const std::string file = f.dir() + "/IMG_0043.jpg";
  REQUIRE(WriteFileAtomically(file, SampleJpeg(704, 480), 0600).ok());
  const std::string second = f.PhotoSha(
      officer, f.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer}));
  f.SyncOk(officer);
  REQUIRE(Received(f, second) == 1);
  {
    // Its clock had been set back a year when the second went up.
    auto db = Db::Open(officer + "/field.db");
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("UPDATE blob_upload SET done_at = '2025-01-01T00:00:00Z' WHERE "
                        "sha256 = '" + second + "'").ok());
  }
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  ForgetPhoto(data, second);
  REQUIRE(f.server().Start());
  f.SyncOk(officer);
  CHECK(Received(f, second) == 1);
  CHECK(Received(f, first) == 1);
}

// The server's answer is for photos the device's districts name: a device
// asking about another district's photo by its hash learns nothing.
TEST_CASE("Photos: the server says whether it holds a device's last photo only for a "
          "photo of the device's districts",
          "[photos][integration][restore]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string other = f.Enrolled("fang", "field_officer", "5009");
  const std::string sha = SentPhoto(f, officer);
  REQUIRE(Received(f, sha) == 1);
  // The Fang device claims the Phrao photo as its own last upload.
  {
    auto db = Db::Open(other + "/field.db");
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("INSERT INTO blob_upload (sha256, bytes, mime, uploaded_bytes, "
                        "done_at) VALUES ('" + sha + "', 10, 'image/jpeg', 10, "
                        "'2026-12-01T00:00:00Z')").ok());
  }
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  ForgetPhoto(data, sha);
  REQUIRE(f.server().Start());
  f.SyncOk(other);
  CHECK(MissingAsked(f) == 0);
  // The Phrao device that sent it asks, and sends it again.
  f.SyncOk(officer);
  CHECK(MissingAsked(f) == 1);
  CHECK(Received(f, sha) == 1);
}

// Regression (walk-through): two photos lost by a restore made every sync
// of the device that took them fail ("bind: bad parameter or other API
// misuse") while its status said nothing was left to send.
TEST_CASE("Photos: every photo a restored server lost goes up again, not only one",
          "[photos][integration][restore]") {
  Field f;
  const std::string officer = f.Enrolled("officer", "field_officer", "5011");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  const std::string producer = f.Producer(officer, "กลุ่มทอผ้าบ้านป่าตุ้ม", "5011");
  std::vector<std::string> shas;
  for (int i = 0; i < 3; ++i) {
    const std::string file = f.dir() + "/IMG_01" + std::to_string(i) + ".jpg";
    REQUIRE(WriteFileAtomically(file, SampleJpeg(640 + 16 * i, 480), 0600).ok());
    shas.push_back(f.PhotoSha(
        officer, f.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer})));
  }
  f.SyncOk(officer);
  const std::string data = f.server().data_dir();
  REQUIRE(f.server().Stop() == 0);
  const std::string backup = f.dir() + "/backup";
  BackupTestServerDb(data, backup);
  REQUIRE(f.server().Start());
  f.Producer(trainer, "กลุ่มจักสานบ้านแม่แวน", "5011");
  f.SyncOk(trainer);
  // Restored: the rows kept, the three photos' files and records lost.
  REQUIRE(f.server().Stop() == 0);
  RestoreTestServerDb(data, backup);
  {
    auto db = OpenTestServerDb(data);
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("DELETE FROM blob").ok());
  }
  for (const std::string& sha : shas) REQUIRE(std::remove((data + "/blobs/" + sha).c_str()) == 0);
  REQUIRE(f.server().Start());

  CliResult synced = f.Sync(officer);
  INFO(synced.out << synced.err << f.server().log());
  REQUIRE(synced.exit_code == 0);
  for (const std::string& sha : shas) {
    Result<std::string> back = ReadFileBounded(data + "/blobs/" + sha, size_t{64} << 20);
    REQUIRE(back.ok());
    CHECK(*back == f.UploadCopy(officer, sha));
  }
  CHECK(f.KboJson(officer, {"status"})["pending_blobs"] == 0);
}

}  // namespace
}  // namespace kbo::testing

namespace kbo::testing {
namespace {

TEST_CASE("photos: a photo moved with its producer to another district stays on "
          "the device that took it, which still sends its original when asked",
          "[integration][photos][originals][moved]") {
  Field field;
  const std::string office = field.Enrolled("office", "central_office", "all");
  const std::string officer = field.Enrolled("officer", "field_officer", "5011");
  const std::string producer = field.Producer(officer, "กลุ่มผ้าฝ้ายย้ายอำเภอ", "5011");
  const std::string plain = field.Producer(officer, "กลุ่มเครื่องเงิน", "5011");
  const std::string jpeg = SampleJpeg(3000, 2000, 6);
  const std::string original_sha = HexEncode(Sha256(jpeg));
  const std::string file = field.dir() + "/IMG_0101.jpg";
  REQUIRE(WriteFileAtomically(file, jpeg, 0600).ok());
  const std::string id =
      field.Add(officer, {"photo", "add", file, "--subject", "producer:" + producer});
  field.SyncOk(officer);
  field.SyncOk(office);
  REQUIRE(field.Kbo(office, {"edit", "producer", producer, "--set", "district_code=5009"})
              .exit_code == 0);
  field.SyncOk(office);
  REQUIRE(field.Server({"photo", "ask-original", id}).exit_code == 0);

  CliResult sent = field.Sync(officer);
  INFO(sent.out << sent.err << field.server().log());
  REQUIRE(sent.exit_code == 0);
  CHECK(Has(sent.out, "1 row moved to a district outside this device's"));
  CHECK(Has(sent.out, "sent 1 original as taken"));
  CHECK(field.ServerCount("SELECT COUNT(*) FROM blob WHERE sha256 = '" + original_sha +
                          "' AND complete_at IS NOT NULL") == 1);
  // The producer left the device; the photo stayed, in its new district,
  // not to be changed here.
  CHECK(field.Kbo(officer, {"show", "producer", producer}).exit_code != 0);
  CHECK(field.KboJson(officer, {"show", "photo", id})["district_code"] == "5009");
  CHECK(field.Kbo(officer, {"edit", "photo", id, "--set", "caption=x"}).exit_code == 2);
  (void)plain;
}

}  // namespace
}  // namespace kbo::testing
