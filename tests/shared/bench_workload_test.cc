#include "tools/bench/workload.h"

#include <catch2/catch.hpp>

#include "shared/signing.h"

namespace kbo {
namespace {

TEST_CASE("Bench workload: the generator matches the published checksum",
          "[bench][workload]") {
  const bench::Workload w = bench::GenerateWorkload(100000, 42);
  const std::string tsv = bench::ToTsv(w);
  CHECK(tsv.substr(0, tsv.find('\n')) ==
        "253f5f5a-8d57-43e4-acb3-d01b34e136a9\t1c66c574-040e-47d8-9c46-2b217b522abb\t"
        "ded09b48-cac8-4180-be57-f21af39afc53\t1\tpresent\t"
        "Present; recorded offline on the tablet\t2025-01-06T08:18:39Z\ttablet-19");
  CHECK(HexEncode(Sha256(tsv)) == bench::kWorkloadSha256);
}

}  // namespace
}  // namespace kbo
