// Fuzzes the Data Channel Establishment Protocol parser (RFC 8832 section 5): an SCTP message of
// PPID 50 as the peer sends it -> dcep::parseOpen / dcep::isAck.
//
// Invariants checked: a DATA_CHANNEL_OPEN that parses re-encodes to exactly the bytes it was read
// from (section 5.1 layout: 12-byte header, label, protocol), and its label/protocol lengths fit
// the input; isAck is true exactly for a first byte of 0x02 (section 5.2).
//
// Threading: single-threaded (the engine calls it on the network thread).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_support.hpp"
#include "tern/transport/dcep.hpp"

namespace dcep = tern::transport::dcep;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  TERN_FUZZ_CHECK(dcep::isAck(data, size) == (size >= 1 && data[0] == dcep::kMessageAck));
  auto open = dcep::parseOpen(data, size);
  if (!open) return 0;
  TERN_FUZZ_CHECK(size >= 12 && data[0] == dcep::kMessageOpen);
  TERN_FUZZ_CHECK(12 + open->label.size() + open->protocol.size() <= size);
  const auto encoded = dcep::encodeOpen(*open);
  TERN_FUZZ_CHECK(encoded.size() == 12 + open->label.size() + open->protocol.size());
  TERN_FUZZ_CHECK(std::memcmp(encoded.data(), data, encoded.size()) == 0);
  auto again = dcep::parseOpen(encoded.data(), encoded.size());
  TERN_FUZZ_CHECK(again && again->label == open->label && again->protocol == open->protocol);
  return 0;
}
