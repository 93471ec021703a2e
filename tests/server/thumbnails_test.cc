#include "server/thumbnails.h"

#include <catch2/catch.hpp>
#include <string>

#include "shared/fs.h"
#include "shared/signing.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_images.h"

namespace kbo::server::testing {
namespace {

using kbo::testing::DecodedSize;
using kbo::testing::InterlacedPng16;
using kbo::testing::PixelAt;
using kbo::testing::ProgressiveJpeg;
using kbo::testing::SampleJpeg;
using kbo::testing::SamplePng;

template <size_t N>
std::string Bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

bool Contains(const std::string& hay, std::string_view needle) {
  return hay.find(needle) != std::string::npos;
}

TEST_CASE("Thumbnails: the long edge is 320 px, as JPEG, never enlarged",
          "[thumbnails]") {
  auto wide = MakeThumbnail(SampleJpeg(1600, 1200), ThumbnailOptions{});
  REQUIRE(wide.ok());
  CHECK(wide->substr(0, 3) == "\xFF\xD8\xFF");
  auto size = DecodedSize(*wide);
  CHECK(size.width == 320);
  CHECK(size.height == 240);

  auto tall = MakeThumbnail(SampleJpeg(600, 1200), ThumbnailOptions{});
  REQUIRE(tall.ok());
  size = DecodedSize(*tall);
  CHECK(size.width == 160);
  CHECK(size.height == 320);

  auto small = MakeThumbnail(SampleJpeg(100, 80), ThumbnailOptions{});
  REQUIRE(small.ok());
  size = DecodedSize(*small);
  CHECK(size.width == 100);
  CHECK(size.height == 80);
}

TEST_CASE("Thumbnails: EXIF orientation is applied and metadata stripped",
          "[thumbnails]") {
  // Stored 400 x 200 with orientation 6 (turn 90 degrees clockwise to view):
  // the picture is portrait.
  const std::string photo = SampleJpeg(400, 200, 6);
  REQUIRE(Contains(photo, "Exif"));
  auto thumb = MakeThumbnail(photo, ThumbnailOptions{});
  REQUIRE(thumb.ok());
  auto size = DecodedSize(*thumb);
  CHECK(size.width == 160);
  CHECK(size.height == 320);
  // The gradient ran left (dark) to right (light); turned clockwise it runs
  // top (dark) to bottom (light).
  CHECK(PixelAt(*thumb, 80, 5) < 60);
  CHECK(PixelAt(*thumb, 80, 314) > 190);
  // No EXIF (no orientation to apply twice, no GPS), no XMP, no ICC.
  CHECK_FALSE(Contains(*thumb, "Exif"));
  CHECK_FALSE(Contains(*thumb, "http://ns.adobe.com/xap"));
  CHECK_FALSE(Contains(*thumb, "ICC_PROFILE"));
}

TEST_CASE("Thumbnails: a PNG with alpha becomes a flat RGB JPEG",
          "[thumbnails]") {
  auto thumb = MakeThumbnail(SamplePng(640, 480, true), ThumbnailOptions{});
  REQUIRE(thumb.ok());
  auto size = DecodedSize(*thumb);
  CHECK(size.width == 320);
  CHECK(size.height == 240);
  CHECK(size.bands == 3);
}

TEST_CASE("Thumbnails: garbage and truncated images are refused, never a crash",
          "[thumbnails][untrusted]") {
  const std::string photo = SampleJpeg(800, 600);
  for (const std::string& bad :
       {std::string(), std::string("not an image at all"),
        Bytes("\xFF\xD8\xFF\xE0garbage after a JPEG start"),
        Bytes("\x89PNG\r\n\x1A\n\0\0\0\rIHDRbroken"),
        Bytes("RIFF\x10\0\0\0WEBPVP8 junk")}) {
    CAPTURE(bad.size());
    auto r = MakeThumbnail(bad, ThumbnailOptions{});
    CHECK_FALSE(r.ok());
    CHECK(r.status().reason() == "no_thumbnail");
  }
  // Every cut of a real photo: a refusal or a (partial) picture, no crash.
  for (size_t len : {size_t{2}, size_t{3}, size_t{20}, size_t{100},
                     size_t{400}, photo.size() / 3, photo.size() / 2,
                     photo.size() - 10, photo.size() - 1}) {
    CAPTURE(len);
    auto r = MakeThumbnail(photo.substr(0, len), ThumbnailOptions{});
    if (r.ok()) {
      CHECK(DecodedSize(*r).width == 320);
    } else {
      CHECK(r.status().code() == Code::kFailedPrecondition);
    }
  }
  // Bytes flipped in the middle of the scan data.
  std::string flipped = photo;
  for (size_t i = flipped.size() / 2; i < flipped.size() / 2 + 64; ++i) {
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5A);
  }
  auto r = MakeThumbnail(flipped, ThumbnailOptions{});
  CHECK((r.ok() || r.status().reason() == "no_thumbnail"));
}

TEST_CASE("Thumbnails: absurd dimensions are refused from the header",
          "[thumbnails][untrusted]") {
  // A small JPEG whose frame header claims 60000 x 60000 (3.6 gigapixels):
  // refused before a pixel is decoded (it would need 10 GB).
  std::string photo = SampleJpeg(64, 48);
  size_t sof = photo.find("\xFF\xC0");
  REQUIRE(sof != std::string::npos);
  // FFC0 len:2 precision:1 height:2 width:2
  photo[sof + 5] = '\xEA';
  photo[sof + 6] = '\x60';
  photo[sof + 7] = '\xEA';
  photo[sof + 8] = '\x60';
  auto r = MakeThumbnail(photo, ThumbnailOptions{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kResourceExhausted);
  CHECK(r.status().reason() == "too_large");

  // The cap is an option: 200 x 200 is over a 10,000-pixel cap.
  ThumbnailOptions small;
  small.max_jpeg_pixels = 10000;
  auto capped = MakeThumbnail(SampleJpeg(200, 200), small);
  REQUIRE_FALSE(capped.ok());
  CHECK(capped.status().reason() == "too_large");
}

TEST_CASE("Thumbnails: an interlaced PNG too large to decode whole is refused "
          "from its header",
          "[thumbnails][untrusted]") {
  // 4000 x 3000, 16-bit RGBA: 96 MB of pixels, decoded whole (Adam7), from
  // a file of a few hundred KB.
  const std::string big = InterlacedPng16(4000, 3000);
  REQUIRE(big.size() > 28);
  REQUIRE(big[24] == 16);  // bits a sample
  REQUIRE(big[28] == 1);   // interlaced
  auto r = MakeThumbnail(big, ThumbnailOptions{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kResourceExhausted);
  CHECK(r.status().reason() == "too_large");
  CHECK(r.status().message().find("interlaced PNG of 4000 x 3000") != std::string::npos);
  // Under the cap, one is a thumbnail like any other.
  auto small = MakeThumbnail(InterlacedPng16(800, 600), ThumbnailOptions{});
  REQUIRE(small.ok());
  CHECK(DecodedSize(*small).width == 320);
  // Not interlaced, the same size streams: made.
  CHECK(MakeThumbnail(SamplePng(4000, 3000, true), ThumbnailOptions{}).ok());
}

TEST_CASE("Thumbnails: a progressive JPEG too large to decode whole is refused from "
          "its header",
          "[thumbnails][untrusted]") {
  // 2000 x 1500, 4:2:0: 9 MB of coefficients; over a 4 MiB cap, under
  // the default.
  const std::string progressive = ProgressiveJpeg(2000, 1500);
  REQUIRE(progressive.find("\xFF\xC2") != std::string::npos);
  ThumbnailOptions capped;
  capped.max_progressive_bytes = uint64_t{4} << 20;
  auto r = MakeThumbnail(progressive, capped);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().reason() == "too_large");
  CHECK(r.status().message().find("progressive JPEG of 2000 x 1500") != std::string::npos);
  CHECK(MakeThumbnail(progressive, ThumbnailOptions{}).ok());
  // Dressed so a reader of its markers loses the frame (a restart marker
  // before it, a stray byte between segments): refused all the same.
  std::string rst = progressive;
  rst.insert(2, "\xFF\xD0", 2);
  std::string stray = progressive;
  stray.insert(2, "\x00", 1);
  auto dressed_rst = MakeThumbnail(rst, capped);
  REQUIRE_FALSE(dressed_rst.ok());
  CHECK(dressed_rst.status().reason() == "too_large");
  // (libvips itself refuses the stray byte's header.)
  auto dressed_stray = MakeThumbnail(stray, capped);
  REQUIRE_FALSE(dressed_stray.ok());
  CHECK((dressed_stray.status().reason() == "too_large" ||
         dressed_stray.status().reason() == "no_thumbnail"));
  // A baseline JPEG of the same size is decoded shrunk, whatever the cap.
  CHECK(MakeThumbnail(SampleJpeg(2000, 1500), capped).ok());
}

TEST_CASE("ThumbnailCache: made once, cached on disk, bad photos remembered",
          "[thumbnails]") {
  kbo::testing::TempDir tmp;
  const std::string blobs = tmp.File("blobs");
  REQUIRE(EnsureDir(blobs).ok());
  const std::string photo = SampleJpeg(1024, 768);
  const std::string sha = HexEncode(Sha256(photo));
  ThumbnailCache cache(blobs);

  auto missing = cache.Get(sha);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().reason() == "not_uploaded");
  CHECK_FALSE(FileExists(blobs + "/thumbs/" + sha + ".none"));

  REQUIRE(WriteFileAtomically(blobs + "/" + sha, photo, 0600).ok());
  auto first = cache.Get(sha);
  REQUIRE(first.ok());
  CHECK(DecodedSize(*first).width == 320);
  REQUIRE(FileExists(cache.PathFor(sha)));
  CHECK(cache.PathFor(sha) == blobs + "/thumbs/" + sha + ".jpg");
  // The second answer is the file on disk.
  REQUIRE(WriteFileAtomically(cache.PathFor(sha), "\xFF\xD8\xFF cached", 0600).ok());
  auto second = cache.Get(sha);
  REQUIRE(second.ok());
  CHECK(*second == "\xFF\xD8\xFF cached");

  // A corrupt "photo": refused once, then remembered without decoding.
  const std::string junk = "\xFF\xD8\xFF\xE0 this is no JPEG";
  const std::string junk_sha = HexEncode(Sha256(junk));
  REQUIRE(WriteFileAtomically(blobs + "/" + junk_sha, junk, 0600).ok());
  auto bad = cache.Get(junk_sha);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().reason() == "no_thumbnail");
  CHECK(FileExists(blobs + "/thumbs/" + junk_sha + ".none"));
  auto again = cache.Get(junk_sha);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().reason() == "no_thumbnail");

  CHECK(cache.Get("../../etc/passwd").status().code() ==
        Code::kInvalidArgument);
}

TEST_CASE("Thumbnails: the placeholder is SVG with its label escaped",
          "[thumbnails]") {
  const std::string svg = PlaceholderSvg("<ไม่มีภาพย่อ>");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(Contains(svg, "&lt;ไม่มีภาพย่อ&gt;"));
}

}  // namespace
}  // namespace kbo::server::testing
