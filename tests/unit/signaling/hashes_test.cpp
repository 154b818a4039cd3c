// XEP-0300 hash values and the RFC 4648 base64 codec.
#include <gtest/gtest.h>

#include "tern/signaling/hashes.hpp"

namespace tern::signaling {
namespace {

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(Base64, Rfc4648TestVectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(bytes(plain)), encoded);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes(plain));
  }
}

TEST(Base64, RejectsMalformed) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!", "Zg==Zg==", "Zh==", "Zm9=v", "Zm9vY  g", "Zm-_"}) {
    EXPECT_FALSE(base64Decode(bad).has_value()) << bad;
  }
}

TEST(Hash, DecodeV2AndV1Hex) {
  Hash v2{"sha-1", "8Xp57/V2ti+n9lXAWf12gs6LYA4=", HashNamespace::V2};
  ASSERT_TRUE(v2.decode().has_value());
  EXPECT_EQ(v2.decode()->size(), 20u);
  Hash hex{"md5", "552da749930852c69ae5d2141d3766b1", HashNamespace::V1};
  ASSERT_TRUE(hex.decode().has_value());
  EXPECT_EQ(hex.decode()->size(), 16u);
  EXPECT_EQ(hex.decode()->front(), 0x55);
  Hash hex_as_v2{"md5", "552da749930852c69ae5d2141d3766b1", HashNamespace::V2};  // base64 of 24 bytes
  EXPECT_EQ(hex_as_v2.decode()->size(), 24u);
  EXPECT_FALSE((Hash{"sha-256", "not base64", HashNamespace::V2}.decode().has_value()));
}

TEST(Hash, FromDigestAndAlgoComparison) {
  const std::vector<std::uint8_t> digest(32, 0xAB);
  Hash h = Hash::fromDigest("sha-256", digest);
  EXPECT_EQ(h.ns, HashNamespace::V2);
  EXPECT_EQ(*h.decode(), digest);
  EXPECT_TRUE(sameHashAlgo("SHA-256", "sha-256"));
  EXPECT_FALSE(sameHashAlgo("sha-256", "sha-1"));
}

}  // namespace
}  // namespace tern::signaling
