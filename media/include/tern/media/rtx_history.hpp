// Retransmission history: a bounded store of recently sent RTP packets, keyed by sequence
// number, used to answer generic NACKs (RFC 4585 section 6.2.1) by resending the same packet
// (no RFC 4588 RTX encapsulation). Entries leave when the store is full (oldest first) or when
// they are older than the age limit.
//
// Threading: no locking; one thread at a time. Time is passed in (microseconds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace tern::media {

class RtxHistory {
 public:
  struct Config {
    std::size_t maxPackets = 1024;
    std::int64_t maxAgeUs = 1000000;
    /// Do not resend the same packet twice within this interval (a NACK repeated before the
    /// retransmission could arrive).
    std::int64_t minResendIntervalUs = 0;
  };
  RtxHistory() : RtxHistory(Config{}) {}
  explicit RtxHistory(Config config) : config_(config) {}

  /// Stores a serialized RTP packet (sequence number read from bytes 2..3). Packets shorter
  /// than 12 bytes are ignored. A packet with a sequence number already stored replaces it.
  void store(const std::uint8_t* packet, std::size_t size, std::int64_t nowUs);

  /// The stored packet for `seq` if present and not older than the age limit (and not resent
  /// within minResendIntervalUs); marks it resent at `nowUs`.
  std::optional<std::vector<std::uint8_t>> retransmit(std::uint16_t seq, std::int64_t nowUs);

  /// Answers a NACK list: the packets that can be resent, in list order.
  std::vector<std::vector<std::uint8_t>> retransmit(const std::vector<std::uint16_t>& seqs,
                                                    std::int64_t nowUs);

  std::size_t size() const noexcept { return entries_.size(); }
  void clear() noexcept { entries_.clear(); }

 private:
  struct Entry {
    std::uint16_t seq = 0;
    std::int64_t storedUs = 0;
    std::optional<std::int64_t> resentUs;
    std::vector<std::uint8_t> bytes;
  };
  void expire(std::int64_t nowUs);
  Config config_;
  std::deque<Entry> entries_;  // in send order
};

}  // namespace tern::media
