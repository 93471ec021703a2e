#include "client/photo_copy.h"

#include <optional>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "client/image_info.h"
#include "shared/fs.h"
#include "shared/image.h"
#include "shared/signing.h"
#include "tests/support/client_store.h"
#include "tests/support/sample_data.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

namespace kbo::client {
namespace {

using testing::FilesUnder;
using testing::TempDir;

std::string Held(const std::string& path) {
  Result<std::string> bytes = ReadFileBounded(path, size_t{64} << 20);
  REQUIRE(bytes.ok());
  return *bytes;
}

bool HasExif(const std::string& jpeg) {
  return jpeg.find(std::string("Exif\0\0", 6)) != std::string::npos;
}

TEST_CASE("PhotoCopy: a camera photo becomes an upright, smaller JPEG with no "
          "EXIF, the position stays with the row, and the original is kept",
          "[photo_copy]") {
  TempDir home;
  const std::string blobs = home.File("blobs");
  // 3000 x 2000 as stored, EXIF orientation 6 (the phone was turned), GPS.
  const std::string camera = testing::CameraJpeg(3000, 2000, 6);
  REQUIRE(!camera.empty());
  Result<ImageInfo> camera_info = ReadImageInfo(camera);
  REQUIRE(camera_info.ok());
  REQUIRE(camera_info->lat);  // the fixture is what it says

  Result<StoredPhoto> photo = StorePhoto(blobs, camera, "IMG_0001.jpg", {});
  INFO(photo.status().ToString());
  REQUIRE(photo.ok());
  CHECK(photo->copied);
  const StoredBlob& up = photo->upload;
  CHECK(up.info.mime == "image/jpeg");
  // Upright: portrait, the long edge 1600, the short one in proportion.
  CHECK(up.info.height == 1600);
  CHECK(up.info.width >= 1066);
  CHECK(up.info.width <= 1067);
  REQUIRE(up.info.lat);
  REQUIRE(up.info.lon);
  CHECK(*up.info.lat == Approx(testing::kCameraLat).margin(1e-6));
  CHECK(*up.info.lon == Approx(testing::kCameraLon).margin(1e-6));

  const std::string copy =
      Held(BlobStore(blobs).PathFor(up.sha256));
  CHECK(HexEncode(Sha256(copy)) == up.sha256);
  CHECK(static_cast<int64_t>(copy.size()) == up.bytes);
  CHECK(copy.size() < camera.size());
  CHECK_FALSE(HasExif(copy));
  Result<ImageInfo> copy_info = ReadImageInfo(copy);
  REQUIRE(copy_info.ok());
  CHECK_FALSE(copy_info->lat);  // nothing of the position in the file
  const testing::ImageSize size = testing::DecodedSize(copy);
  CHECK(size.width == up.info.width);
  CHECK(size.height == 1600);
  // The pixels were turned, not just the tag dropped: the gradient that
  // rose left to right in the stored image rises top to bottom upright.
  CHECK(testing::PixelAt(copy, size.width / 2, 2) < 40);
  CHECK(testing::PixelAt(copy, size.width / 2, size.height - 3) > 215);

  // The original, byte for byte, under blobs/originals/.
  CHECK(photo->original.sha256 == HexEncode(Sha256(camera)));
  CHECK(photo->original.info.width == 3000);
  CHECK(Held(BlobStore(OriginalsDir(blobs)).PathFor(photo->original.sha256)) ==
        camera);
  CHECK(FilesUnder(blobs).size() == 2);

  // The row's cells: the copy's, with the original's position.
  RowValues row;
  SetPhotoCells(*photo, &row);
  CHECK(row["sha256"] == Value::Text(up.sha256));
  CHECK(row["bytes"] == Value::Integer(static_cast<int64_t>(copy.size())));
  CHECK(row["height"] == Value::Integer(1600));
  CHECK(row["lat"] == Value::Real(*camera_info->lat));
  CHECK(row.count("taken_at") == 0);  // the fixture has no date
  const std::optional<ClientStore::PhotoOriginal> original =
      OriginalRecord(*photo);
  REQUIRE(original);
  CHECK(original->sha256 == photo->original.sha256);
  CHECK(original->bytes == static_cast<int64_t>(camera.size()));
  CHECK(original->height == 2000);
}

TEST_CASE("StorePageCopy: the phone app's copy is stored as given with the "
          "date and position of the photo as taken, and claims no original",
          "[photo_copy]") {
  TempDir home;
  auto store = testing::OpenStore(home.File("device"));
  testing::PhraoFixture f(*store);
  const std::string blobs = store->paths().blobs;
  // What the page sends: its canvas copy (no EXIF) and the head of the
  // camera's file (EXIF with GPS).
  const std::string camera = testing::CameraJpeg(3000, 2000, 6);
  const std::string page_copy = testing::SampleJpeg(1600, 1067);
  const std::string head = camera.substr(0, 64 * 1024);

  Result<StoredPhoto> photo =
      StorePageCopy(blobs, page_copy, "IMG_0002.jpg", head, size_t{20} << 20);
  INFO(photo.status().ToString());
  REQUIRE(photo.ok());
  CHECK_FALSE(photo->original_kept);
  CHECK(photo->upload.sha256 == HexEncode(Sha256(page_copy)));
  REQUIRE(photo->upload.info.lat);
  CHECK(*photo->upload.info.lat == Approx(testing::kCameraLat).margin(1e-6));
  CHECK_FALSE(OriginalRecord(*photo));  // nothing to note, nothing to send
  CHECK(FilesUnder(blobs).size() == 1);  // the copy only

  // Recorded as the app records it, the office's request finds no original
  // (SyncClient declines it: "no_original"), not the copy passed off as one.
  RowValues row{{"subject_type", Value::Text("producer")},
                {"subject_id", Value::Text(f.producer.ToString())},
                {"district_code", Value::Text("5011")}};
  SetPhotoCells(*photo, &row);
  Result<Uuid> id = store->RecordPhoto(std::move(row), nullptr);
  REQUIRE(id.ok());
  Result<std::optional<ClientStore::OwnOriginal>> own = store->OriginalOf(*id);
  REQUIRE(own.ok());
  CHECK_FALSE(own->has_value());

  // A picture the page could not draw comes as it was, with no head: those
  // bytes are the original.
  Result<StoredPhoto> as_is =
      StorePageCopy(blobs, camera, "IMG_0003.jpg", "", size_t{20} << 20);
  REQUIRE(as_is.ok());
  CHECK(as_is->original_kept);
  const std::optional<ClientStore::PhotoOriginal> kept = OriginalRecord(*as_is);
  REQUIRE(kept);
  CHECK(kept->sha256 == HexEncode(Sha256(camera)));
  RowValues row2{{"subject_type", Value::Text("producer")},
                 {"subject_id", Value::Text(f.producer.ToString())},
                 {"district_code", Value::Text("5011")}};
  SetPhotoCells(*as_is, &row2);
  Result<Uuid> id2 = store->RecordPhoto(std::move(row2), &*kept);
  REQUIRE(id2.ok());
  Result<std::optional<ClientStore::OwnOriginal>> own2 = store->OriginalOf(*id2);
  REQUIRE(own2.ok());
  REQUIRE(own2->has_value());
  CHECK((*own2)->original_sha256 == kept->sha256);
}

TEST_CASE("PhotoCopy: long edge and quality are the caller's", "[photo_copy]") {
  TempDir home;
  const std::string camera = testing::SampleJpeg(2000, 1500);
  UploadCopyOptions small;
  small.long_edge = 640;
  small.quality = 40;
  Result<StoredPhoto> a = StorePhoto(home.File("blobs"), camera, "a.jpg", small);
  REQUIRE(a.ok());
  CHECK(a->upload.info.width == 640);
  CHECK(a->upload.info.height == 480);
  UploadCopyOptions fine;
  fine.long_edge = 640;
  fine.quality = 95;
  Result<StoredPhoto> b = StorePhoto(home.File("blobs"), camera, "b.jpg", fine);
  REQUIRE(b.ok());
  CHECK(b->upload.bytes > a->upload.bytes);
  // Never enlarged.
  UploadCopyOptions big;
  big.long_edge = 8192;
  Result<StoredPhoto> c = StorePhoto(home.File("blobs"), camera, "c.jpg", big);
  REQUIRE(c.ok());
  CHECK(c->upload.info.width == 2000);
  CHECK(c->upload.info.height == 1500);
}

TEST_CASE("PhotoCopy: a PNG becomes a JPEG, flattened on white",
          "[photo_copy]") {
  TempDir home;
  const std::string png = testing::SamplePng(2400, 1200, /*alpha=*/true);
  Result<StoredPhoto> photo = StorePhoto(home.File("blobs"), png, "scan.png", {});
  REQUIRE(photo.ok());
  CHECK(photo->copied);
  CHECK(photo->upload.info.mime == "image/jpeg");
  CHECK(photo->upload.info.width == 1600);
  CHECK(photo->upload.info.height == 800);
  CHECK(photo->original.info.mime == "image/png");
  const std::string copy =
      Held(BlobStore(home.File("blobs")).PathFor(photo->upload.sha256));
  CHECK(testing::DecodedSize(copy).bands == 3);
}

TEST_CASE("PhotoCopy: a tiny picture goes as it is only if a copy gains "
          "nothing", "[photo_copy]") {
  TempDir home;
  const std::string blobs = home.File("blobs");
  SECTION("no metadata, and a JPEG would be larger: kept as it is") {
    const std::string png = testing::SamplePng(4, 3, false);
    Result<StoredPhoto> photo = StorePhoto(blobs, png, "dot.png", {});
    REQUIRE(photo.ok());
    CHECK_FALSE(photo->copied);
    CHECK(photo->upload.sha256 == HexEncode(Sha256(png)));
    CHECK(photo->original.sha256 == photo->upload.sha256);
    CHECK(photo->upload.info.mime == "image/png");
    CHECK(FilesUnder(blobs).size() == 1);  // one file, in blobs/ only
    CHECK(FilesUnder(OriginalsDir(blobs)).empty());
  }
  SECTION("EXIF (a position, an orientation): copied even if larger") {
    const std::string jpeg = testing::CameraJpeg(40, 30, 6);
    Result<StoredPhoto> photo = StorePhoto(blobs, jpeg, "tiny.jpg", {});
    REQUIRE(photo.ok());
    CHECK(photo->copied);
    CHECK(photo->upload.info.width == 30);  // upright, not enlarged
    CHECK(photo->upload.info.height == 40);
    CHECK(photo->upload.info.lat);
    CHECK_FALSE(HasExif(Held(BlobStore(blobs).PathFor(photo->upload.sha256))));
  }
  SECTION("as taken: no copy, whatever it holds") {
    const std::string jpeg = testing::CameraJpeg(400, 300, 6);
    UploadCopyOptions as_taken;
    as_taken.as_taken = true;
    Result<StoredPhoto> photo = StorePhoto(blobs, jpeg, "doc.jpg", as_taken);
    REQUIRE(photo.ok());
    CHECK_FALSE(photo->copied);
    CHECK(photo->upload.sha256 == HexEncode(Sha256(jpeg)));
    CHECK(photo->upload.info.width == 400);
  }
}

TEST_CASE("PhotoCopy: a photo of a high-resolution phone camera (over 50 "
          "megapixels) becomes its copy, and an absurd size is refused in "
          "words the screens translate",
          "[photo_copy]") {
  TempDir home;
  const std::string blobs = home.File("blobs");
  // 8000 x 7000 (56 MP), turned: a phone's high-resolution mode. It was
  // refused ("the limit is 50 megapixels"), the visit with it.
  const std::string camera = testing::CameraJpeg(8000, 7000, 6);
  REQUIRE(!camera.empty());
  Result<StoredPhoto> photo = StorePhoto(blobs, camera, "IMG_108MP.jpg", {});
  INFO(photo.status().ToString());
  REQUIRE(photo.ok());
  CHECK(photo->upload.info.height == 1600);  // upright, the long edge 1600

  // A header that claims far more (a JPEG of 32000 x 32000, a PNG of
  // 8000 x 7000): refused before a pixel is decoded, in one sentence (no
  // "; ": the screens read a message's parts apart).
  std::string huge = testing::SampleJpeg(64, 48);
  const size_t sof = huge.find("\xFF\xC0");
  REQUIRE(sof != std::string::npos);
  huge[sof + 5] = '\x7D';  // 32000 = 0x7D00
  huge[sof + 6] = '\x00';
  huge[sof + 7] = '\x7D';
  huge[sof + 8] = '\x00';
  for (const std::string& bytes : {huge, testing::SamplePng(8000, 7000, false)}) {
    Result<JpegCopy> refused = MakeJpegCopy(bytes, JpegCopyOptions{});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().reason() == "too_many_pixels");
    CHECK(refused.status().message().find("; ") == std::string::npos);
    CHECK_THAT(refused.status().message(), Catch::Contains("megapixels a photo may have"));
  }
}

TEST_CASE("PhotoCopy: the original not written (a full disk) takes the upload copy "
          "back with it, so nothing is left behind",
          "[photo_copy]") {
  // The copy was written, the original failed for want of room, and the
  // message said nothing was recorded while the copy stayed on the disk.
  TempDir home;
  const std::string blobs = home.File("blobs");
  const std::string camera = testing::CameraJpeg(3000, 2000, 1);
  REQUIRE(!camera.empty());
  // No originals folder can be made: a file holds its name.
  REQUIRE(::mkdir(blobs.c_str(), 0700) == 0);
  REQUIRE(WriteFileAtomically(OriginalsDir(blobs), "in the way", 0600).ok());
  Result<StoredPhoto> photo = StorePhoto(blobs, camera, "IMG_0002.jpg", {});
  REQUIRE_FALSE(photo.ok());
  size_t photos = 0;
  for (const auto& e : std::filesystem::directory_iterator(blobs)) {
    if (IsBlobName(e.path().filename().string())) ++photos;
  }
  CHECK(photos == 0);
  // With room again, it is recorded.
  REQUIRE(::unlink(OriginalsDir(blobs).c_str()) == 0);
  REQUIRE(StorePhoto(blobs, camera, "IMG_0002.jpg", {}).ok());
}

TEST_CASE("PhotoCopy: what is not a picture is refused, nothing written",
          "[photo_copy]") {
  TempDir home;
  const std::string blobs = home.File("blobs");
  // A JPEG whose header reads (640 x 480) but which has no quantisation
  // table: libvips cannot decode it.
  std::string header_only = "\xFF\xD8\xFF\xC0";
  header_only += std::string("\x00\x11\x08\x01\xE0\x02\x80", 7);
  header_only += std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
  header_only += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
  header_only += std::string(300, 'q');
  header_only += "\xFF\xD9";
  REQUIRE(ReadImageInfo(header_only).ok());  // the headers alone pass

  Result<StoredPhoto> bad = StorePhoto(blobs, header_only, "broken.jpg", {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidArgument);
  CHECK(bad.status().message().rfind("broken.jpg does not decode as a picture",
                                     0) == 0);
  // A photo cut short (copied half-way from a card): its headers read, its
  // pixels stop; refused, not stored as a picture half flat grey.
  for (const std::string& whole :
       {testing::CameraJpeg(3000, 2000, 1), testing::SamplePng(1200, 800, false)}) {
    const std::string cut = whole.substr(0, whole.size() / 3);
    REQUIRE(ReadImageInfo(cut).ok());
    Result<StoredPhoto> half = StorePhoto(blobs, cut, "cut", {});
    INFO(half.status().ToString());
    REQUIRE_FALSE(half.ok());
    CHECK(half.status().code() == Code::kInvalidArgument);
    CHECK(half.status().message().rfind("cut does not decode as a picture", 0) == 0);
    // Said as the person meets it: what to do comes before libvips' words.
    const std::string said = half.status().message();
    CHECK(said.find("cut short") != std::string::npos);
    CHECK(said.find("copy it again") < said.find("(the image does not decode"));
    // A thumbnail of a photo already stored is made as well as it decodes.
    CHECK(MakeJpegCopy(cut, JpegCopyOptions{}).ok());
  }
  Result<StoredPhoto> text = StorePhoto(blobs, "hello", "notes.txt", {});
  REQUIRE_FALSE(text.ok());
  CHECK(text.status().code() == Code::kInvalidArgument);
  CHECK(text.status().message() == "notes.txt is not a JPEG or PNG image");
  UploadCopyOptions tight;
  tight.max_bytes = 100;
  Result<StoredPhoto> big =
      StorePhoto(blobs, testing::SampleJpeg(64, 48), "big.jpg", tight);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == Code::kInvalidArgument);
  CHECK(FilesUnder(blobs).empty());
}

}  // namespace
}  // namespace kbo::client
