// Receive-side buffering of RTP media (sans-IO: packets and the current time in, frames and
// requests out; no threads, no clocks, no sockets).
//
// AudioJitterBuffer: Opus frames (RFC 7587) played out at a fixed frame period. Delay estimate
// in the spirit of RFC 3550 appendix A.8: for every packet the transit time (arrival minus
// RTP timestamp) is kept over a window; the playout delay target is a high percentile of the
// transit spread (transit minus the window minimum, which also absorbs clock drift) plus half
// a frame, clamped to [minDelay, maxDelay].
//   - Grows fast: a packet whose transit exceeds the target raises it at once (peak hold), and
//     pull() then returns Nothing (caller conceals, e.g. Opus PLC) until the playout point has
//     moved back by the new delay.
//   - Shrinks slowly: the peak decays linearly (peakDecayPerSecond) and old samples leave the
//     window. The playout point then catches up by (a) shortening DTX gaps, which costs nothing
//     audible, and (b) discarding one buffered frame at most every minShrinkInterval while the
//     playout is more than one frame behind its due time. No time-stretching is done here.
// Frames are due at: rtp_time + min_transit + target. Each pull() is one frame period.
// Loss: a slot whose packet is missing while a later packet is buffered is reported Lost, with
// the next packet attached when present (Opus in-band FEC). Slots that pass while the buffer is
// empty come back as Nothing/Empty, since a DTX pause and a loss look the same until the next
// packet arrives; if its sequence number then shows a gap, the gap is counted in stats().lost
// and playout resumes at the new packet's due time without spending a period per lost packet.
// A missing packet never makes playout wait beyond its due time (no stall on loss); a packet
// arriving after its slot was reported lost is counted late and dropped.
// Restart: a sequence jump of more than 3000 (RFC 3550 A.1 MAX_DROPOUT) confirmed by the next
// packet clears the buffer and the transit history (the peak-held target is kept).
//
// VideoFrameAssembler: VP8 (RFC 7741) packets in, complete frames out in decode order, a NACK
// list (RFC 4585 6.2.1) with per-sequence retry limits and RTT spacing, and keyframe requests
// (PLI, RFC 4585 6.3.1 / FIR, RFC 5104 4.3.1) when the decode chain breaks. A frame is the
// packets from one with S=1, PID=0 to the one with the marker bit, same RTP timestamp,
// contiguous sequence numbers (RFC 7741 4.5.1). Every delta frame is taken to depend on the
// frame before it (temporal-layer dependencies are not tracked): a gap given up before a delta
// frame breaks the chain, unless its PictureID follows the last emitted one (the gap held no
// frame); delta frames are then dropped until a key frame arrives. A complete key frame always
// resynchronises at once, dropping whatever incomplete data precedes it.
//
// Threading: no locking; each instance is used by one thread at a time.
#pragma once

#include <tern/media/rtp_packet.hpp>
#include <tern/media/vp8_payload.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace tern::media {

class AudioJitterBuffer {
 public:
  struct Config {
    std::uint32_t clockRate = 48000;
    std::uint32_t frameMs = 20;                ///< 10 or 20
    /// How often the caller calls pull() while a frame may be due (0: once per frame). A frame
    /// is handed out up to half of this early, so that on average it is played at its due time.
    std::uint32_t pullIntervalMs = 0;
    std::int64_t minDelayUs = 20000;
    /// After a lost frame, hold at least one frame more than the pull margin for this long, so
    /// that the packet after a lost one (whose in-band FEC rebuilds it) has arrived when the
    /// lost one's slot comes (0: off).
    std::int64_t fecHoldUs = 0;
    std::int64_t maxDelayUs = 500000;
    double quantile = 0.95;                    ///< of the transit spread over the window
    std::size_t historyPackets = 500;          ///< window of the delay statistics (~10 s)
    std::int64_t peakDecayPerSecondUs = 20000; ///< how fast a peak-held target decays
    std::int64_t minShrinkIntervalUs = 250000; ///< at most one discarded frame per interval
    std::size_t maxPackets = 500;              ///< buffer capacity; oldest dropped beyond
  };

  struct Stats {
    std::uint64_t received = 0;     ///< packets accepted by insert()
    std::uint64_t duplicates = 0;   ///< already buffered or already played
    std::uint64_t late = 0;         ///< arrived after their slot was played or declared lost
    std::uint64_t lost = 0;         ///< slots reported as Lost
    std::uint64_t fecAvailable = 0; ///< Lost reports that carried the next packet
    std::uint64_t discarded = 0;    ///< dropped to shrink the delay or on overflow
    std::uint64_t played = 0;       ///< Frame results
    std::uint64_t concealed = 0;    ///< Lost results + pulls that waited for a delayed packet
    std::uint64_t resets = 0;       ///< peer restarts detected (sequence jump)
    std::int64_t targetDelayUs = 0;
    std::int64_t currentDelayUs = 0; ///< of the last played frame, above the fastest transit
  };

  /// What the caller should do for this frame period.
  struct Pull {
    enum class Kind {
      Frame,    ///< decode `payload`
      Lost,     ///< frame `seq` is lost for good: conceal; if `payload` is not empty it is the
                ///< next packet, whose in-band FEC (Opus LBRR) can rebuild the lost frame
      Nothing,  ///< no frame this period (see `reason`); play silence / comfort noise / PLC
    };
    enum class Reason { None, Buffering, Waiting, Gap, Empty };
    Kind kind = Kind::Nothing;
    Reason reason = Reason::None;  ///< for Nothing: Buffering (not started), Waiting (delay is
                                   ///< growing or next frame not due), Gap (DTX / timestamp
                                   ///< jump), Empty (nothing buffered after start)
    std::uint16_t seq = 0;
    std::uint32_t timestamp = 0;
    bool marker = false;
    std::vector<std::uint8_t> payload;
  };

  AudioJitterBuffer() : AudioJitterBuffer(Config{}) {}
  explicit AudioJitterBuffer(Config config);

  /// Adds a packet. `arrivalUs` is the receive time on the clock used for pull().
  void insert(std::uint16_t seq, std::uint32_t timestamp, bool marker, const std::uint8_t* payload,
              std::size_t size, std::int64_t arrivalUs);

  /// Called once per frame period.
  Pull pull(std::int64_t nowUs);

  std::int64_t targetDelayUs(std::int64_t nowUs) const;
  Stats stats(std::int64_t nowUs) const;
  std::size_t buffered() const noexcept { return packets_.size(); }

 private:
  struct Packet {
    std::int64_t ts = 0;  // unwrapped
    bool marker = false;
    std::vector<std::uint8_t> payload;
  };
  void reset();
  void updateDelayStats(std::int64_t transitUs, std::int64_t nowUs);
  std::int64_t peakAt(std::int64_t nowUs) const;
  std::int64_t tsToUs(std::int64_t ts) const;
  std::int64_t dueUs(std::int64_t ts, std::int64_t nowUs) const;
  Pull makeFrame(std::map<std::int64_t, Packet>::iterator it, std::int64_t nowUs);
  void rememberPlayed(std::int64_t seq);

  Config config_;
  std::int64_t frameTs_;
  std::int64_t frameUs_;
  SeqUnwrapper seqUnwrap_;
  TimestampUnwrapper tsUnwrap_;
  std::map<std::int64_t, Packet> packets_;
  bool haveSeq_ = false;
  std::int64_t maxSeq_ = 0;
  std::optional<std::uint16_t> probationSeq_;  // RFC 3550 A.1 style restart confirmation
  bool started_ = false;
  std::int64_t nextSeq_ = 0;
  std::int64_t slotTs_ = 0;
  std::set<std::int64_t> recentPlayed_;
  std::deque<std::int64_t> transits_;
  std::int64_t minTransitUs_ = 0;
  std::int64_t quantileSpreadUs_ = 0;
  std::int64_t peakUs_ = 0;
  std::int64_t peakSetUs_ = 0;
  std::int64_t pullMarginUs_ = 0;               // a frame may leave this much before it is due
  std::optional<std::int64_t> lastLossUs_;
  std::optional<std::int64_t> lastShrinkUs_;
  Stats stats_;
};

/// A complete VP8 frame, ready for the decoder.
struct AssembledFrame {
  std::vector<std::uint8_t> data;  ///< VP8 bytes of all packets, descriptors removed
  std::uint32_t rtpTimestamp = 0;
  bool keyframe = false;
  std::uint16_t width = 0;   ///< key frames only
  std::uint16_t height = 0;  ///< key frames only
  std::optional<std::uint16_t> pictureId;
  std::uint16_t firstSeq = 0;
  std::uint16_t lastSeq = 0;
  std::int64_t completedUs = 0;  ///< arrival time of the packet that completed it
};

class VideoFrameAssembler {
 public:
  struct Config {
    int maxNackRetries = 10;               ///< NACKs per missing sequence number
    std::int64_t minNackIntervalUs = 5000; ///< lower bound on the RTT-based spacing
    std::int64_t reorderWaitUs = 0;        ///< wait before the first NACK of a gap
    std::int64_t frameTimeoutUs = 1000000; ///< give up on an incomplete frame after this
    std::int64_t keyframeRequestIntervalUs = 500000;  ///< at most one request per interval
    std::size_t maxPackets = 2000;         ///< buffer bound; the oldest frame is given up
    std::size_t maxMissing = 1000;         ///< larger gaps are not NACKed: keyframe instead
                                           ///< (packets from before the gap are then late)
  };
  struct Stats {
    std::uint64_t packets = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t late = 0;        ///< arrived after their frame was emitted or given up
    std::uint64_t malformed = 0;   ///< bad VP8 descriptor
    std::uint64_t recovered = 0;   ///< missing packets that arrived later (retransmissions)
    std::uint64_t nacked = 0;      ///< sequence numbers put in NACK lists (retries included)
    std::uint64_t framesEmitted = 0;
    std::uint64_t keyframesEmitted = 0;
    std::uint64_t framesDropped = 0;  ///< frames given up or not decodable (broken chain)
    std::uint64_t keyframeRequests = 0;
    std::uint64_t resets = 0;
  };

  VideoFrameAssembler() : VideoFrameAssembler(Config{}) {}
  explicit VideoFrameAssembler(Config config) : config_(config) {}

  /// Adds an RTP packet: `payload` is the RTP payload (descriptor + VP8 bytes). An empty payload
  /// is a padding-only packet: it fills its sequence number and belongs to no frame.
  /// Returns false if the packet was not stored (malformed, duplicate, late).
  bool insert(std::uint16_t seq, std::uint32_t timestamp, bool marker,
              const std::uint8_t* payload, std::size_t size, std::int64_t nowUs);

  /// Complete, decodable frames in decode order. Also gives up on frames that time out.
  std::vector<AssembledFrame> popFrames(std::int64_t nowUs);

  /// Sequence numbers to NACK now: new gaps at once (after reorderWaitUs), then each again
  /// after max(rttUs, minNackInterval), at most maxNackRetries times.
  std::vector<std::uint16_t> nackList(std::int64_t nowUs, std::int64_t rttUs);

  /// True when a keyframe should be requested now (PLI/FIR): the decode chain is broken or no
  /// keyframe has been seen yet while delta frames arrive. Repeats every
  /// keyframeRequestIntervalUs until a keyframe is emitted.
  bool pollKeyframeRequest(std::int64_t nowUs);

  bool waitingForKeyframe() const noexcept { return waitingForKeyframe_; }
  const Stats& stats() const noexcept { return stats_; }
  std::size_t bufferedPackets() const noexcept { return packets_.size(); }

 private:
  struct Packet {
    std::uint32_t ts = 0;
    bool marker = false;
    bool filler = false;  // padding-only
    Vp8Descriptor descriptor;
    std::vector<std::uint8_t> data;
    std::int64_t arrivalUs = 0;
  };
  struct Missing {
    std::int64_t detectedUs = 0;
    std::optional<std::int64_t> lastSentUs;
    int retries = 0;
  };
  struct FrameSpan {
    std::int64_t first = 0;
    std::int64_t last = 0;
  };
  void reset();
  std::optional<FrameSpan> completeFrameAt(std::int64_t first) const;
  std::optional<FrameSpan> firstCompleteFrameAfter(std::int64_t from) const;
  AssembledFrame build(const FrameSpan& span) const;
  bool isKeyframe(const FrameSpan& span) const;
  void dropBefore(std::int64_t seq);
  void breakChain();
  bool headTimedOut(std::int64_t nowUs, std::int64_t until, bool stuckIfNothingMissing) const;

  Config config_;
  SeqUnwrapper unwrap_;
  std::map<std::int64_t, Packet> packets_;
  std::map<std::int64_t, Missing> missing_;
  bool haveHighest_ = false;
  std::int64_t highest_ = 0;
  bool anchored_ = false;      // nextSeq_ is meaningful
  std::int64_t nextSeq_ = 0;   // first sequence number of the next frame to emit
  bool waitingForKeyframe_ = true;
  bool keyframeWanted_ = false;
  std::optional<std::int64_t> lastKeyframeRequestUs_;
  std::optional<std::uint16_t> lastPictureId_;
  bool lastPictureId15_ = false;
  std::int64_t rttUs_ = 100000;
  Stats stats_;
};

}  // namespace tern::media
