#include "client/blob_store.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "shared/signing.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

namespace fs = std::filesystem;

// SOI, SOF0 (width x height, 3 components), a few scan bytes, EOI; `tag`
// varies the scan bytes so photos of one size can differ.
std::string TinyJpeg(uint16_t width, uint16_t height, char tag = 'a') {
  std::string j = "\xFF\xD8\xFF\xC0";
  j += std::string("\x00\x11\x08", 3);
  j.push_back(static_cast<char>(height >> 8));
  j.push_back(static_cast<char>(height & 0xFF));
  j.push_back(static_cast<char>(width >> 8));
  j.push_back(static_cast<char>(width & 0xFF));
  j += std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
  j += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
  j += std::string(200, tag);
  j += "\xFF\xD9";
  return j;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

using testing::FilesUnder;

TEST_CASE("BlobStore: a photo is stored under its SHA-256 with mode 0600",
          "[blob]") {
  testing::TempDir home;
  const std::string blobs = home.File("blobs");
  BlobStore store(blobs);
  const std::string photo = TinyJpeg(640, 480);
  WriteFile(home.File("photo.jpg"), photo);

  auto r = store.AddPhotoFile(home.File("photo.jpg"));
  REQUIRE(r.ok());
  CHECK(r->sha256 == HexEncode(Sha256(photo)));
  CHECK(IsBlobName(r->sha256));
  CHECK(r->bytes == static_cast<int64_t>(photo.size()));
  CHECK(r->info.mime == "image/jpeg");
  CHECK(r->info.width == 640);
  CHECK(r->info.height == 480);

  const std::string path = store.PathFor(r->sha256);
  CHECK(path == blobs + "/" + r->sha256.substr(0, 2) + "/" + r->sha256);
  CHECK(store.Has(r->sha256));
  CHECK(FilesUnder(blobs) == std::vector<std::string>{path});

  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto back = store.Read(r->sha256, kDefaultMaxPhotoBytes);
  REQUIRE(back.ok());
  CHECK(*back == photo);
}

TEST_CASE("BlobStore: a PNG is stored too", "[blob]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  std::string png("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", 16);
  png += std::string("\x00\x00\x01\x00\x00\x00\x00\xC0\x08\x02\0\0\0", 13);
  png += std::string(4, '\0');
  WriteFile(home.File("scan.png"), png);
  auto r = store.AddPhotoFile(home.File("scan.png"));
  REQUIRE(r.ok());
  CHECK(r->info.mime == "image/png");
  CHECK(r->info.width == 256);
  CHECK(r->info.height == 192);
}

TEST_CASE("BlobStore: adding the same photo twice stores it once", "[blob]") {
  testing::TempDir home;
  const std::string blobs = home.File("blobs");
  BlobStore store(blobs);
  const std::string photo = TinyJpeg(1024, 768);
  WriteFile(home.File("IMG_0001.jpg"), photo);
  WriteFile(home.File("copy of IMG_0001.jpg"), photo);
  WriteFile(home.File("other.jpg"), TinyJpeg(1024, 768, 'b'));

  auto first = store.AddPhotoFile(home.File("IMG_0001.jpg"));
  auto again = store.AddPhotoFile(home.File("IMG_0001.jpg"));
  auto copy = store.AddPhotoFile(home.File("copy of IMG_0001.jpg"));
  auto other = store.AddPhotoFile(home.File("other.jpg"));
  REQUIRE(first.ok());
  REQUIRE(again.ok());
  REQUIRE(copy.ok());
  REQUIRE(other.ok());
  CHECK(again->sha256 == first->sha256);
  CHECK(copy->sha256 == first->sha256);
  CHECK(copy->info.width == 1024);
  CHECK(other->sha256 != first->sha256);
  CHECK(FilesUnder(blobs).size() == 2);  // and no temp files left over
}

TEST_CASE("BlobStore: a missing file is kNotFound", "[blob]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  auto r = store.AddPhotoFile(home.File("nope.jpg"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kNotFound);
  CHECK_THAT(r.status().message(), Catch::Contains("nope.jpg"));
  CHECK(FilesUnder(home.File("blobs")).empty());
}

TEST_CASE("BlobStore: a text file is refused by name, nothing stored",
          "[blob]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  WriteFile(home.File("photo.txt"), "ผู้ผลิต: กลุ่มทอผ้าบ้านพร้าว\n");
  auto r = store.AddPhotoFile(home.File("photo.txt"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().message() ==
        home.File("photo.txt") + " is not a JPEG or PNG image");
  CHECK(FilesUnder(home.File("blobs")).empty());
}

TEST_CASE("BlobStore: a damaged JPEG is refused by name", "[blob]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  WriteFile(home.File("half.jpg"), TinyJpeg(640, 480).substr(0, 10));
  auto r = store.AddPhotoFile(home.File("half.jpg"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().message() ==
        home.File("half.jpg") +
            " is a damaged JPEG image (no width and height found)");
}

TEST_CASE("BlobStore: a folder is refused", "[blob]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  fs::create_directory(home.File("DCIM"));
  auto r = store.AddPhotoFile(home.File("DCIM"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
}

TEST_CASE("BlobStore: a file over the cap is refused in MiB, nothing stored",
          "[blob]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  const std::string path = home.File("photo.jpg");
  // Sparse files: refused from their size alone, before any byte is read.
  SECTION("25.3 MiB against the default 20 MiB") {
    WriteFile(path, "");
    fs::resize_file(path, 26528972);  // 25.29999... MiB
    auto r = store.AddPhotoFile(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message() == path + " is 25.3 MiB; the limit is 20 MiB");
  }
  SECTION("one byte over never reads as equal to the limit") {
    WriteFile(path, "");
    fs::resize_file(path, kDefaultMaxPhotoBytes + 1);
    auto r = store.AddPhotoFile(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == path + " is 20.1 MiB; the limit is 20 MiB");
  }
  SECTION("a configured cap") {
    WriteFile(path, TinyJpeg(640, 480));
    auto r = store.AddPhotoFile(path, 100);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK_THAT(r.status().message(),
               Catch::EndsWith("; the limit is 100 bytes"));
  }
  SECTION("exactly at the cap is accepted") {
    const std::string photo = TinyJpeg(640, 480);
    WriteFile(path, photo);
    CHECK(store.AddPhotoFile(path, photo.size()).ok());
    return;
  }
  CHECK(FilesUnder(home.File("blobs")).empty());
}

TEST_CASE("BlobStore: AddPhotoBytes names the photo as told", "[blob]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  auto bad = store.AddPhotoBytes("hello", "upload.jpg");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "upload.jpg is not a JPEG or PNG image");
  auto good = store.AddPhotoBytes(TinyJpeg(8, 8), "upload.jpg");
  REQUIRE(good.ok());
  CHECK(store.Has(good->sha256));
}

TEST_CASE("BlobStore: Read detects a damaged blob, adding again repairs it",
          "[blob]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  const std::string photo = TinyJpeg(640, 480);
  WriteFile(home.File("photo.jpg"), photo);
  auto r = store.AddPhotoFile(home.File("photo.jpg"));
  REQUIRE(r.ok());

  std::string damaged = photo;
  damaged[100] ^= 0x01;
  WriteFile(store.PathFor(r->sha256), damaged);
  auto read = store.Read(r->sha256, kDefaultMaxPhotoBytes);
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().code() == Code::kCorruption);
  CHECK_THAT(read.status().message(), Catch::Contains(r->sha256));

  SECTION("a truncated blob is damaged too") {
    WriteFile(store.PathFor(r->sha256), photo.substr(0, 50));
    auto cut = store.Read(r->sha256, kDefaultMaxPhotoBytes);
    REQUIRE_FALSE(cut.ok());
    CHECK(cut.status().code() == Code::kCorruption);
  }
  SECTION("adding the photo again replaces the damaged copy") {
    auto again = store.AddPhotoFile(home.File("photo.jpg"));
    REQUIRE(again.ok());
    CHECK(again->sha256 == r->sha256);
    auto healed = store.Read(r->sha256, kDefaultMaxPhotoBytes);
    REQUIRE(healed.ok());
    CHECK(*healed == photo);
  }
}

TEST_CASE("BlobStore: blob names are 64 lowercase hex digits, nothing else",
          "[blob][untrusted]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  const std::string absent(64, 'a');
  CHECK(IsBlobName(absent));
  CHECK_FALSE(store.Has(absent));
  auto missing = store.Read(absent, 1 << 20);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);

  for (const std::string& bad :
       {std::string(), std::string(63, 'a'), std::string(65, 'a'),
        std::string(64, 'A'), std::string(64, 'g'),
        "../../../../etc/passwd" + std::string(42, 'a'),
        std::string("aa/") + std::string(61, 'a')}) {
    CAPTURE(bad);
    CHECK_FALSE(IsBlobName(bad));
    CHECK(store.PathFor(bad).empty());
    CHECK_FALSE(store.Has(bad));
    auto r = store.Read(bad, 1 << 20);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("BlobStore: Read honours its size cap", "[blob]") {
  testing::TempDir home;
  BlobStore store(home.File("blobs"));
  const std::string photo = TinyJpeg(640, 480);
  auto r = store.AddPhotoBytes(photo, "photo.jpg");
  REQUIRE(r.ok());
  auto small = store.Read(r->sha256, photo.size() - 1);
  REQUIRE_FALSE(small.ok());
  CHECK(small.status().code() == Code::kResourceExhausted);
  CHECK(store.Read(r->sha256, photo.size()).ok());
}

}  // namespace
}  // namespace kbo::client
