#include <cstdio>
#include <cstring>

#include "shared/version.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("kbo-server %s\n", kbo::kVersion);
    return 0;
  }
  std::printf("usage: kbo-server [--data DIR] COMMAND ...\n");
  return argc >= 2 && std::strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
