#ifndef KBO_TESTS_SUPPORT_CLIENT_STORE_H_
#define KBO_TESTS_SUPPORT_CLIENT_STORE_H_
// A device's store opened in a test's folder (the test fails if it cannot).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>

#include "client/store.h"

namespace kbo::testing {

inline std::unique_ptr<client::ClientStore> OpenStore(const std::string& dir) {
  auto s = client::ClientStore::Open(dir);
  REQUIRE(s.ok());
  return std::move(s).value();
}

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_CLIENT_STORE_H_
