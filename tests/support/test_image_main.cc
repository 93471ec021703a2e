// Writes one of tests/support/test_images.h's sample images to a file, for
// tests outside C++ (tests/browser/app.js: a phone camera's photo).
//
//   kbo_test_image camera WIDTH HEIGHT ORIENTATION OUT
//   kbo_test_image png WIDTH HEIGHT OUT
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/support/test_images.h"

int main(int argc, char** argv) {
  const std::string kind = argc > 1 ? argv[1] : "";
  std::string bytes;
  std::string out;
  if (kind == "camera" && argc == 6) {
    bytes = kbo::testing::CameraJpeg(std::atoi(argv[2]), std::atoi(argv[3]),
                                     std::atoi(argv[4]));
    out = argv[5];
  } else if (kind == "png" && argc == 5) {
    bytes = kbo::testing::SamplePng(std::atoi(argv[2]), std::atoi(argv[3]), false);
    out = argv[4];
  } else {
    std::fprintf(stderr,
                 "usage: kbo_test_image camera W H ORIENTATION OUT | png W H OUT\n");
    return 2;
  }
  if (bytes.empty()) {
    std::fprintf(stderr, "kbo_test_image: the image could not be made\n");
    return 1;
  }
  std::ofstream f(out, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return f.good() ? 0 : 1;
}
