// Retransmission history for NACK answers. See tern/media/rtx_history.hpp.
#include <tern/media/rtx_history.hpp>

#include <tern/media/rtp_packet.hpp>

#include <algorithm>

namespace tern::media {

void RtxHistory::expire(std::int64_t nowUs) {
  while (!entries_.empty() && (entries_.size() > config_.maxPackets ||
                               nowUs - entries_.front().storedUs > config_.maxAgeUs)) {
    entries_.pop_front();
  }
}

void RtxHistory::store(const std::uint8_t* packet, std::size_t size, std::int64_t nowUs) {
  if (packet == nullptr || size < 12 || config_.maxPackets == 0) return;
  const std::uint16_t seq = readU16(packet + 2);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.seq == seq; });
  if (it != entries_.end()) entries_.erase(it);
  entries_.push_back(Entry{seq, nowUs, std::nullopt, {packet, packet + size}});
  expire(nowUs);
}

std::optional<std::vector<std::uint8_t>> RtxHistory::retransmit(std::uint16_t seq,
                                                                std::int64_t nowUs) {
  expire(nowUs);
  // Recent packets are at the back, and NACKs ask for recent packets: search backwards.
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->seq != seq) continue;
    if (it->resentUs && nowUs - *it->resentUs < config_.minResendIntervalUs) return std::nullopt;
    it->resentUs = nowUs;
    return it->bytes;
  }
  return std::nullopt;
}

std::vector<std::vector<std::uint8_t>> RtxHistory::retransmit(
    const std::vector<std::uint16_t>& seqs, std::int64_t nowUs) {
  std::vector<std::vector<std::uint8_t>> out;
  for (auto s : seqs) {
    if (auto p = retransmit(s, nowUs)) out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace tern::media
