// Adaptive audio jitter buffer. See tern/media/jitter_buffer.hpp for the delay model.
#include <tern/media/jitter_buffer.hpp>

#include <algorithm>

namespace tern::media {
namespace {

// RFC 3550 appendix A.1: sequence jumps beyond these are a restart candidate.
constexpr std::int64_t kMaxDropout = 3000;
// A transit change this large is a timestamp base change, not jitter: restart the statistics.
constexpr std::int64_t kTransitResetUs = 5000000;
constexpr std::size_t kRecentPlayed = 256;

}  // namespace

AudioJitterBuffer::AudioJitterBuffer(Config config) : config_(config) {
  if (config_.frameMs == 0) config_.frameMs = 20;
  if (config_.clockRate == 0) config_.clockRate = 48000;
  if (config_.historyPackets == 0) config_.historyPackets = 1;
  if (config_.maxPackets == 0) config_.maxPackets = 1;
  config_.maxDelayUs = std::max(config_.maxDelayUs, config_.minDelayUs);
  frameTs_ = static_cast<std::int64_t>(config_.clockRate) * config_.frameMs / 1000;
  frameUs_ = static_cast<std::int64_t>(config_.frameMs) * 1000;
  pullMarginUs_ = (config_.pullIntervalMs > 0 ? static_cast<std::int64_t>(config_.pullIntervalMs) * 1000
                                              : frameUs_) / 2;
}

std::int64_t AudioJitterBuffer::tsToUs(std::int64_t ts) const {
  // Exact for 48 kHz and 8/16 kHz; the division truncates toward zero for negative values,
  // which only happens right after a wraparound below the first timestamp. Whole seconds and
  // the remainder are converted apart: ts * 1000000 would overflow once a hostile sender has
  // pushed the unwrapped timestamp past 2^43 (about 4300 packets, each 2^31 ahead).
  const auto rate = static_cast<std::int64_t>(config_.clockRate);
  return ts / rate * 1000000 + ts % rate * 1000000 / rate;
}

void AudioJitterBuffer::reset() {
  packets_.clear();
  seqUnwrap_.reset();
  tsUnwrap_.reset();
  haveSeq_ = false;
  started_ = false;
  recentPlayed_.clear();
  transits_.clear();
  probationSeq_.reset();
  // The peak (a property of the network path) is kept, the transit history (tied to the old
  // timestamp base) is not.
}

std::int64_t AudioJitterBuffer::peakAt(std::int64_t nowUs) const {
  const std::int64_t elapsed = std::max<std::int64_t>(0, nowUs - peakSetUs_);
  const std::int64_t decay = elapsed * config_.peakDecayPerSecondUs / 1000000;
  return std::max<std::int64_t>(0, peakUs_ - decay);
}

std::int64_t AudioJitterBuffer::targetDelayUs(std::int64_t nowUs) const {
  std::int64_t t = std::max(quantileSpreadUs_ + frameUs_ / 2, peakAt(nowUs));
  if (config_.fecHoldUs > 0 && lastLossUs_ && nowUs - *lastLossUs_ < config_.fecHoldUs) {
    t = std::max(t, quantileSpreadUs_ + frameUs_ + pullMarginUs_);
  }
  return std::clamp(t, config_.minDelayUs, config_.maxDelayUs);
}

AudioJitterBuffer::Stats AudioJitterBuffer::stats(std::int64_t nowUs) const {
  Stats s = stats_;
  s.targetDelayUs = targetDelayUs(nowUs);
  return s;
}

void AudioJitterBuffer::updateDelayStats(std::int64_t transitUs, std::int64_t nowUs) {
  if (!transits_.empty() && (transitUs < minTransitUs_ - kTransitResetUs ||
                             transitUs > minTransitUs_ + kTransitResetUs)) {
    transits_.clear();
  }
  transits_.push_back(transitUs);
  while (transits_.size() > config_.historyPackets) transits_.pop_front();
  std::vector<std::int64_t> sorted(transits_.begin(), transits_.end());
  minTransitUs_ = *std::min_element(sorted.begin(), sorted.end());
  const double q = std::clamp(config_.quantile, 0.0, 1.0);
  const auto k = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
  quantileSpreadUs_ = sorted[k] - minTransitUs_;
  // Grow fast: a packet later than the current target raises it immediately.
  const std::int64_t spread = transitUs - minTransitUs_;
  const std::int64_t need = spread + frameUs_ / 2;
  if (need > targetDelayUs(nowUs)) {
    peakUs_ = need;
    peakSetUs_ = nowUs;
  }
}

void AudioJitterBuffer::insert(std::uint16_t seq, std::uint32_t timestamp, bool marker,
                               const std::uint8_t* payload, std::size_t size,
                               std::int64_t arrivalUs) {
  if (payload == nullptr && size > 0) return;
  if (haveSeq_) {
    const std::int64_t delta = seqUnwrap_.peek(seq) - maxSeq_;
    if (delta > kMaxDropout || delta < -kMaxDropout) {
      // Possibly a restarted peer: accept once the next packet confirms the new sequence.
      if (probationSeq_ && *probationSeq_ == seq) {
        ++stats_.resets;
        reset();
      } else {
        probationSeq_ = static_cast<std::uint16_t>(seq + 1);
        ++stats_.discarded;
        return;
      }
    }
  }
  probationSeq_.reset();
  const std::int64_t ext = seqUnwrap_.unwrap(seq);
  const std::int64_t ts = tsUnwrap_.unwrap(timestamp);
  if (!haveSeq_ || ext > maxSeq_) maxSeq_ = ext;
  haveSeq_ = true;
  ++stats_.received;
  updateDelayStats(arrivalUs - tsToUs(ts), arrivalUs);

  if (started_ && ext < nextSeq_) {
    if (recentPlayed_.count(ext) != 0) {
      ++stats_.duplicates;
    } else {
      ++stats_.late;
    }
    return;
  }
  if (packets_.count(ext) != 0) {
    ++stats_.duplicates;
    return;
  }
  Packet p;
  p.ts = ts;
  p.marker = marker;
  if (size > 0) p.payload.assign(payload, payload + size);
  packets_.emplace(ext, std::move(p));
  while (packets_.size() > config_.maxPackets) {
    const std::int64_t oldest = packets_.begin()->first;
    packets_.erase(packets_.begin());
    ++stats_.discarded;
    if (started_) nextSeq_ = std::max(nextSeq_, oldest + 1);
  }
}

void AudioJitterBuffer::rememberPlayed(std::int64_t seq) {
  recentPlayed_.insert(seq);
  while (recentPlayed_.size() > kRecentPlayed) recentPlayed_.erase(recentPlayed_.begin());
}

std::int64_t AudioJitterBuffer::dueUs(std::int64_t ts, std::int64_t nowUs) const {
  return tsToUs(ts) + minTransitUs_ + targetDelayUs(nowUs);
}

AudioJitterBuffer::Pull AudioJitterBuffer::makeFrame(std::map<std::int64_t, Packet>::iterator it,
                                                     std::int64_t nowUs) {
  Pull out;
  out.kind = Pull::Kind::Frame;
  out.seq = static_cast<std::uint16_t>(it->first);
  out.timestamp = static_cast<std::uint32_t>(it->second.ts);
  out.marker = it->second.marker;
  out.payload = std::move(it->second.payload);
  stats_.currentDelayUs = nowUs - tsToUs(it->second.ts) - minTransitUs_;
  slotTs_ = it->second.ts + frameTs_;
  nextSeq_ = it->first + 1;
  rememberPlayed(it->first);
  packets_.erase(it);
  ++stats_.played;
  return out;
}

AudioJitterBuffer::Pull AudioJitterBuffer::pull(std::int64_t nowUs) {
  Pull out;
  const std::int64_t half = pullMarginUs_;
  if (packets_.empty()) {
    out.reason = started_ ? Pull::Reason::Empty : Pull::Reason::Buffering;
    return out;
  }
  if (!started_) {
    const auto first = packets_.begin();
    if (nowUs + half < dueUs(first->second.ts, nowUs)) {
      out.reason = Pull::Reason::Buffering;
      return out;
    }
    started_ = true;
    nextSeq_ = first->first;
    slotTs_ = first->second.ts;
  }
  for (;;) {
    auto it = packets_.find(nextSeq_);
    if (it != packets_.end()) {
      const std::int64_t due = dueUs(it->second.ts, nowUs);
      if (nowUs + half < due) {
        out.reason = it->second.ts > slotTs_ ? Pull::Reason::Gap : Pull::Reason::Waiting;
        if (out.reason == Pull::Reason::Waiting) ++stats_.concealed;
        return out;
      }
      const bool behind = nowUs - due > frameUs_;
      const bool mayShrink =
          !lastShrinkUs_ || nowUs - *lastShrinkUs_ >= config_.minShrinkIntervalUs;
      if (behind && mayShrink && packets_.size() >= 2) {
        // More than a frame behind the target: discard this frame to catch up.
        rememberPlayed(it->first);
        slotTs_ = it->second.ts + frameTs_;
        nextSeq_ = it->first + 1;
        packets_.erase(it);
        ++stats_.discarded;
        lastShrinkUs_ = nowUs;
        continue;
      }
      return makeFrame(it, nowUs);
    }
    // The next packet is missing; later ones are buffered (packets_ holds only seq > nextSeq_).
    const auto first = packets_.begin();
    if (first->first > nextSeq_ + 1) {
      const std::int64_t missing = first->first - nextSeq_;
      if (nowUs - dueUs(slotTs_, nowUs) > frameUs_) {
        // Their slots went by while the buffer was empty (an outage): count them lost and
        // resume with the first packet at its own due time, without spending periods on them.
        stats_.lost += static_cast<std::uint64_t>(missing);
        lastLossUs_ = nowUs;
        nextSeq_ = first->first;
        // Those slots passed (concealed by the caller): the first packet after them is not a
        // DTX gap, and if it is not due yet the period is one more to conceal.
        slotTs_ = first->second.ts;
        continue;
      }
      if (nowUs + half >= dueUs(first->second.ts, nowUs) - frameUs_) {
        // The slot of the last missing one has come: count the others lost and report that
        // one, with the FEC source.
        stats_.lost += static_cast<std::uint64_t>(missing - 1);
        if (missing > 1) lastLossUs_ = nowUs;
        nextSeq_ = first->first - 1;
        slotTs_ = first->second.ts - frameTs_;
      }
    }
    if (nowUs + half < dueUs(slotTs_, nowUs)) {
      out.reason = Pull::Reason::Waiting;
      ++stats_.concealed;
      return out;
    }
    out.kind = Pull::Kind::Lost;
    out.seq = static_cast<std::uint16_t>(nextSeq_);
    out.timestamp = static_cast<std::uint32_t>(slotTs_);
    auto next = packets_.find(nextSeq_ + 1);
    if (next != packets_.end()) {
      out.payload = next->second.payload;
      ++stats_.fecAvailable;
    }
    ++nextSeq_;  // not remembered as played: if it still arrives, it counts as late
    slotTs_ += frameTs_;
    ++stats_.lost;
    lastLossUs_ = nowUs;
    ++stats_.concealed;
    return out;
  }
}

}  // namespace tern::media
