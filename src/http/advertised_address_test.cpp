#include "http/advertised_address.hpp"

#include <gtest/gtest.h>

namespace rbee::http {
namespace {

TEST(AdvertisedAddressTest, LoopbackPeerIsReachedFromLoopback) {
  auto local = local_address_toward("http://127.0.0.1:7833/v1/hives/heartbeat");
  ASSERT_TRUE(local) << local.error().message;
  EXPECT_EQ(*local, "127.0.0.1");
  EXPECT_EQ(advertised_host("0.0.0.0", "http://127.0.0.1:7833"), "127.0.0.1");
}

TEST(AdvertisedAddressTest, AConcreteBindAddressIsKept) {
  EXPECT_EQ(advertised_host("10.77.0.2", "http://10.77.0.1:7833"), "10.77.0.2");
  EXPECT_EQ(advertised_host("fd00::2", "http://[fd00::1]:7833"), "[fd00::2]");
  EXPECT_EQ(advertised_host("hive.lan", ""), "hive.lan");
}

TEST(AdvertisedAddressTest, WildcardWithoutPeerFallsBackToLoopback) {
  EXPECT_EQ(advertised_host("0.0.0.0", ""), "127.0.0.1");
  // A peer URL that names no host cannot be routed to either.
  EXPECT_EQ(advertised_host("0.0.0.0", "http://:7833"), "127.0.0.1");
}

TEST(AdvertisedAddressTest, BadUrlsAreClearErrors) {
  auto no_host = local_address_toward("http://:7833/x");
  ASSERT_FALSE(no_host);
  EXPECT_EQ(no_host.error().code, ErrorCode::kInvalidArgument);
  auto bracket = local_address_toward("http://[::1");
  ASSERT_FALSE(bracket);
}

}  // namespace
}  // namespace rbee::http
