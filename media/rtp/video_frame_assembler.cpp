// VP8 frame assembly, NACK scheduling and keyframe requests. See tern/media/jitter_buffer.hpp.
#include <tern/media/jitter_buffer.hpp>

#include <algorithm>

namespace tern::media {
namespace {
constexpr std::int64_t kMaxDropout = 3000;  // RFC 3550 A.1: larger jumps mean a restart
}  // namespace

void VideoFrameAssembler::reset() {
  packets_.clear();
  missing_.clear();
  unwrap_.reset();
  haveHighest_ = false;
  anchored_ = false;
  waitingForKeyframe_ = true;
  lastPictureId_.reset();
}

void VideoFrameAssembler::breakChain() {
  waitingForKeyframe_ = true;
  keyframeWanted_ = true;
}

void VideoFrameAssembler::dropBefore(std::int64_t seq) {
  packets_.erase(packets_.begin(), packets_.lower_bound(seq));
  missing_.erase(missing_.begin(), missing_.lower_bound(seq));
}

bool VideoFrameAssembler::insert(std::uint16_t seq, std::uint32_t timestamp, bool marker,
                                 const std::uint8_t* payload, std::size_t size,
                                 std::int64_t nowUs) {
  Packet p;
  p.ts = timestamp;
  p.marker = marker;
  p.arrivalUs = nowUs;
  if (size == 0) {
    p.filler = true;
  } else {
    auto v = depacketizeVp8(payload, size);
    if (!v) {
      ++stats_.malformed;
      return false;
    }
    p.descriptor = v->descriptor;
    p.data.assign(v->data, v->data + v->size);
  }
  if (haveHighest_) {
    const std::int64_t delta = unwrap_.peek(seq) - highest_;
    if (delta > kMaxDropout || delta < -kMaxDropout) {
      ++stats_.resets;
      reset();
    }
  }
  const std::int64_t ext = unwrap_.unwrap(seq);
  ++stats_.packets;
  if (anchored_ && ext < nextSeq_) {
    ++stats_.late;
    return false;
  }
  if (packets_.count(ext) != 0) {
    ++stats_.duplicates;
    return false;
  }
  if (missing_.erase(ext) != 0) ++stats_.recovered;
  if (!haveHighest_) {
    highest_ = ext;
    haveHighest_ = true;
  } else if (ext > highest_) {
    const std::int64_t gap = ext - highest_ - 1;
    if (gap > static_cast<std::int64_t>(config_.maxMissing)) {
      // Too much is missing to repair with NACKs: start over from a keyframe.
      if (!packets_.empty()) ++stats_.framesDropped;
      packets_.clear();
      missing_.clear();
      // Everything up to the old highest is given up: older packets are late from now on, so
      // that no frame from before the gap comes out after frames already emitted.
      anchored_ = true;
      nextSeq_ = highest_ + 1;
      breakChain();
    } else {
      for (std::int64_t s = highest_ + 1; s < ext; ++s) missing_[s] = Missing{nowUs, {}, 0};
    }
    highest_ = ext;
  }
  packets_.emplace(ext, std::move(p));
  if (packets_.size() > config_.maxPackets) {
    // Bound memory: give up the oldest data and ask for a keyframe.
    while (packets_.size() > config_.maxPackets) packets_.erase(packets_.begin());
    missing_.erase(missing_.begin(), missing_.lower_bound(packets_.begin()->first));
    if (anchored_) nextSeq_ = packets_.begin()->first;
    ++stats_.framesDropped;
    breakChain();
  }
  return true;
}

std::optional<VideoFrameAssembler::FrameSpan> VideoFrameAssembler::completeFrameAt(
    std::int64_t first) const {
  auto it = packets_.find(first);
  if (it == packets_.end() || it->second.filler || !it->second.descriptor.startsFrame()) {
    return std::nullopt;
  }
  const std::uint32_t ts = it->second.ts;
  std::int64_t expect = first;
  for (; it != packets_.end(); ++it, ++expect) {
    if (it->first != expect || it->second.filler || it->second.ts != ts) return std::nullopt;
    if (expect != first && it->second.descriptor.startsFrame()) return std::nullopt;
    if (it->second.marker) return FrameSpan{first, expect};
  }
  return std::nullopt;
}

std::optional<VideoFrameAssembler::FrameSpan> VideoFrameAssembler::firstCompleteFrameAfter(
    std::int64_t from) const {
  for (auto it = packets_.lower_bound(from); it != packets_.end(); ++it) {
    if (it->second.filler || !it->second.descriptor.startsFrame()) continue;
    if (auto span = completeFrameAt(it->first)) return span;
  }
  return std::nullopt;
}

AssembledFrame VideoFrameAssembler::build(const FrameSpan& span) const {
  AssembledFrame f;
  auto it = packets_.find(span.first);
  f.rtpTimestamp = it->second.ts;
  f.pictureId = it->second.descriptor.pictureId;
  f.firstSeq = static_cast<std::uint16_t>(span.first);
  f.lastSeq = static_cast<std::uint16_t>(span.last);
  for (; it != packets_.end() && it->first <= span.last; ++it) {
    f.data.insert(f.data.end(), it->second.data.begin(), it->second.data.end());
    f.completedUs = std::max(f.completedUs, it->second.arrivalUs);
  }
  if (auto info = parseVp8PayloadHeader(f.data.data(), f.data.size())) {
    f.keyframe = info->keyframe;
    f.width = info->width;
    f.height = info->height;
  }
  return f;
}

bool VideoFrameAssembler::isKeyframe(const FrameSpan& span) const {
  const Packet& first = packets_.find(span.first)->second;
  // The P bit is in the first byte; a key frame header needs 10 bytes, which a small first
  // packet may not hold: then look at the whole frame.
  if (!first.data.empty() && (first.data[0] & 0x01) != 0) return false;
  if (first.data.size() >= 10) {
    auto info = parseVp8PayloadHeader(first.data.data(), first.data.size());
    return info && info->keyframe;
  }
  return build(span).keyframe;
}

bool VideoFrameAssembler::headTimedOut(std::int64_t nowUs, std::int64_t until,
                                       bool stuckIfNothingMissing) const {
  const std::int64_t retryWait = 2 * std::max(rttUs_, config_.minNackIntervalUs);
  bool anyMissing = false;
  for (auto it = missing_.lower_bound(nextSeq_); it != missing_.end() && it->first < until; ++it) {
    anyMissing = true;
    const Missing& m = it->second;
    if (nowUs - m.detectedUs >= config_.frameTimeoutUs) return true;
    if (m.retries >= config_.maxNackRetries && m.lastSentUs && nowUs - *m.lastSentUs >= retryWait) {
      return true;
    }
  }
  // Nothing missing, yet no frame starts at the head: the head is unusable (no S bit, mixed
  // timestamps); waiting will not help.
  return !anyMissing && stuckIfNothingMissing;
}

std::vector<AssembledFrame> VideoFrameAssembler::popFrames(std::int64_t nowUs) {
  std::vector<AssembledFrame> out;
  auto emit = [&](const FrameSpan& span) {
    AssembledFrame f = build(span);
    dropBefore(span.last + 1);
    anchored_ = true;
    nextSeq_ = span.last + 1;
    if (waitingForKeyframe_ && !f.keyframe) {
      ++stats_.framesDropped;  // not decodable: its reference is missing
      keyframeWanted_ = true;
      return;
    }
    if (f.keyframe) {
      waitingForKeyframe_ = false;
      keyframeWanted_ = false;
      ++stats_.keyframesEmitted;
    }
    lastPictureId_ = f.pictureId;
    ++stats_.framesEmitted;
    out.push_back(std::move(f));
  };

  for (;;) {
    if (anchored_) {
      // Padding-only packets at the head carry no media.
      for (auto it = packets_.find(nextSeq_); it != packets_.end() && it->first == nextSeq_ &&
                                              it->second.filler;
           it = packets_.find(nextSeq_)) {
        packets_.erase(it);
        ++nextSeq_;
      }
      if (auto span = completeFrameAt(nextSeq_)) {
        emit(*span);
        continue;
      }
    }
    if (packets_.empty()) break;
    const std::int64_t from = anchored_ ? nextSeq_ : packets_.begin()->first;
    auto span = firstCompleteFrameAfter(from);
    if (span) {
      const bool key = isKeyframe(*span);
      if (key || !anchored_) {
        // A keyframe resynchronises; a delta frame with nothing before it is undecodable
        // and emit() drops it (waitingForKeyframe_ is set until a keyframe was emitted).
        if (anchored_ && span->first > nextSeq_) ++stats_.framesDropped;
        dropBefore(span->first);
        emit(*span);
        continue;
      }
      if (!waitingForKeyframe_ && !headTimedOut(nowUs, span->first, true)) break;
      // Give up the gap before this delta frame. The chain survives only if the PictureID
      // shows that no frame was lost (the gap held padding or a retransmitted duplicate).
      const auto pid = packets_.find(span->first)->second.descriptor;
      bool contiguous = false;
      if (lastPictureId_ && pid.pictureId) {
        const std::uint16_t mask = pid.pictureId15 ? 0x7fff : 0x7f;
        contiguous = ((*lastPictureId_ + 1) & mask) == *pid.pictureId;
      }
      ++stats_.framesDropped;
      dropBefore(span->first);
      nextSeq_ = span->first;
      if (!contiguous) breakChain();
      continue;
    }
    // No complete frame anywhere. If the head gap has timed out, skip to the next frame start
    // after the last missing packet that timed out, and ask for a keyframe.
    if (!anchored_ || !headTimedOut(nowUs, highest_ + 1, false)) break;
    std::int64_t skipTo = highest_ + 1;
    if (!missing_.empty()) {
      for (auto after = packets_.upper_bound(missing_.rbegin()->first); after != packets_.end();
           ++after) {
        if (after->second.descriptor.startsFrame() && !after->second.filler) {
          skipTo = after->first;
          break;
        }
      }
    }
    ++stats_.framesDropped;
    dropBefore(skipTo);
    nextSeq_ = skipTo;
    breakChain();
    if (packets_.empty()) break;
  }
  return out;
}

std::vector<std::uint16_t> VideoFrameAssembler::nackList(std::int64_t nowUs, std::int64_t rttUs) {
  if (rttUs > 0) rttUs_ = rttUs;
  const std::int64_t interval = std::max(rttUs_, config_.minNackIntervalUs);
  std::vector<std::uint16_t> out;
  for (auto& [seq, m] : missing_) {
    if (m.retries >= config_.maxNackRetries) continue;
    const bool due = m.lastSentUs ? nowUs - *m.lastSentUs >= interval
                                  : nowUs - m.detectedUs >= config_.reorderWaitUs;
    if (!due) continue;
    m.lastSentUs = nowUs;
    ++m.retries;
    out.push_back(static_cast<std::uint16_t>(seq));
  }
  stats_.nacked += out.size();
  return out;
}

bool VideoFrameAssembler::pollKeyframeRequest(std::int64_t nowUs) {
  if (!keyframeWanted_) return false;
  if (lastKeyframeRequestUs_ &&
      nowUs - *lastKeyframeRequestUs_ < config_.keyframeRequestIntervalUs) {
    return false;
  }
  lastKeyframeRequestUs_ = nowUs;
  ++stats_.keyframeRequests;
  return true;
}

}  // namespace tern::media
