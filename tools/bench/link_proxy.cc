// One emulated slow link in front of a server, for benchmarks that drive a
// browser (tools/bench/app.js: the phone app's first load over 3G):
//
//   link_proxy UPSTREAM_PORT edge|3g|drop [SEED]
//
// Prints "listening on http://127.0.0.1:PORT" and forwards to
// 127.0.0.1:UPSTREAM_PORT through tools/bench/link_emulator.h (the profiles
// of bench_links) until it reads a line or end of file on stdin, then
// prints its counters as one JSON line and exits.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tools/bench/link_emulator.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: link_proxy UPSTREAM_PORT edge|3g|drop [SEED]\n");
    return 2;
  }
  const int upstream = std::atoi(argv[1]);
  const std::string name = argv[2];
  const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  if (upstream <= 0 || upstream > 65535) {
    std::fprintf(stderr, "link_proxy: not a port: %s\n", argv[1]);
    return 2;
  }
  for (const kbo::bench::LinkProfile& p : kbo::bench::LinkProfiles()) {
    if (p.name != name) continue;
    kbo::bench::LinkEmulator link(upstream, p, seed);
    std::printf("listening on %s\n", link.url().c_str());
    std::fflush(stdout);
    std::string line;
    std::getline(std::cin, line);
    const kbo::bench::LinkStats s = link.stats();
    std::printf(
        "{\"profile\":\"%s\",\"connections\":%llu,\"bytes_up\":%llu,"
        "\"bytes_down\":%llu,\"lost_segments\":%llu}\n",
        p.name.c_str(), static_cast<unsigned long long>(s.connections),
        static_cast<unsigned long long>(s.bytes_up),
        static_cast<unsigned long long>(s.bytes_down),
        static_cast<unsigned long long>(s.lost_segments));
    return 0;
  }
  std::fprintf(stderr, "link_proxy: no profile '%s' (edge, 3g, drop)\n", name.c_str());
  return 2;
}
