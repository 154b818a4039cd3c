// The media pipeline of one call: clear-text RTP/RTCP in and out, the app's sources and sinks on
// the other side. It knows nothing of XMPP, ICE or SRTP: the engine feeds it the packets SRTP
// decrypted and forwards what it sends to SRTP.
//
//   audio send:    AudioSource -> [AEC + NS] -> Opus (in-band FEC, loss from RTCP) -> RTP
//                  (RFC 3550 5.1, RFC 7587: 48 kHz timestamps, marker on talkspurt start)
//   audio receive: RTP -> AudioJitterBuffer -> Opus decode / FEC (RFC 6716 2.1.7) / PLC ->
//                  AudioSink, exactly one frame per sink period, silence while nothing plays
//   video send:    VideoSource -> VP8 (keyframe at start and on PLI/FIR) -> RFC 7741
//                  packetizer (payloads <= 1100 bytes) -> RTP (90 kHz) -> RtxHistory
//   video receive: RTP -> VideoFrameAssembler -> VP8 decode -> VideoSink; generic NACK
//                  (RFC 4585 6.2.1), PLI (RFC 4585 6.3.1) or FIR (RFC 5104 4.3.1) back
//   RTCP:          compound SR/RR + SDES CNAME (RFC 3550 6.1, 6.4, 6.5) about every second
//                  (randomised 0.5..1.5 s, RFC 3550 6.3.1 style), RTT from LSR/DLSR; feedback
//                  packets go out as RR + SDES + feedback (RFC 4585 3.1 compound rule); incoming
//                  SR, RR, SDES, BYE, NACK, PLI, FIR handled (REMB ignored).
//   remote SSRCs:  taken from the config when signalled, else learnt from the first RTP packet
//                  of the negotiated payload type; a BYE lets a new SSRC be learnt.
//
// Threading: public methods are thread-safe. All media work runs on one MediaEngine worker (the
// call is pinned to it) in a 10 ms tick: the SendFn, the sources and the sinks are called there
// only, one call at a time. incomingRtp()/incomingRtcp() copy the packet into a bounded queue
// (oldest dropped and counted when full) stamped with its arrival time; the next tick drains
// it. stop() and the destructor wait for a tick in progress: when they return no SendFn,
// source or sink call of this CallMedia runs any more. They must not be called from inside a
// SendFn, source or sink callback of the same call (the tick would continue on a dead object).
// No internal lock is held while the SendFn, a source or a sink runs, except that the tick
// itself is serialised against stop().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tern/call.hpp>
#include <tern/media.hpp>
#include <vector>

#include "media_engine.hpp"

namespace tern::impl {

struct CallMediaConfig {
  bool audio = true;
  bool video = false;
  // Negotiated payload formats (the peer's numbers; Opus is always 48000/2 in SDP terms).
  int audioPayloadType = 111;
  int audioClockRate = 48000;
  int audioChannels = 2;
  int videoPayloadType = 96;
  std::uint32_t localAudioSsrc = 0;
  std::uint32_t localVideoSsrc = 0;
  std::uint32_t remoteAudioSsrc = 0;  ///< 0: learn from the first packet of audioPayloadType
  std::uint32_t remoteVideoSsrc = 0;  ///< 0: learn from the first packet of videoPayloadType
  std::string cname;
  // Negotiated RTCP feedback for video (XEP-0293).
  bool nack = true;
  bool pli = true;
  bool fir = true;
  // Capture processing (switchable at run time with setAudioProcessing()).
  bool echoCancellation = true;
  bool noiseSuppression = true;
  // Encoders.
  int opusBitrate = 32000;
  bool opusFec = true;
  bool opusDtx = false;
  int opusComplexity = 10;
  int initialExpectedLossPercent = 5;  ///< until the first RTCP report about our audio
  int videoBitrateKbps = 800;
  std::size_t maxVideoPayload = 1100;  ///< RFC 7741 descriptor included; SRTP + IP fit 1200
  // Bounds.
  std::size_t incomingQueuePackets = 1000;
  std::size_t rtxHistoryPackets = 600;
  std::int64_t rtcpIntervalUs = 1000000;  ///< mean; each interval is randomised 0.5..1.5x
};

/// Figures beyond tern::CallStats: for benchmarks, tests and logs.
struct CallMediaCounters {
  std::uint64_t ticks = 0;
  std::uint64_t lateTicks = 0;     ///< ticks of this call that started > 5 ms late
  std::uint64_t skippedTicks = 0;  ///< deadlines dropped by an overloaded worker
  std::int64_t maxTickLatenessUs = 0;
  std::uint64_t incomingDropped = 0;     ///< queue overflow (oldest dropped)
  std::uint64_t malformed = 0;           ///< RTP or RTCP that did not parse
  std::uint64_t unknownPayloadType = 0;  ///< RTP of a payload type not negotiated
  std::uint64_t foreignSsrc = 0;         ///< RTP from another SSRC than the remote stream's
  std::uint64_t audioFramesPlayed = 0;   ///< frames given to the audio sink (or due to it)
  std::uint64_t audioFramesCaptured = 0;
  std::uint64_t videoFramesRendered = 0;
  std::uint64_t videoFramesCaptured = 0;
  std::uint64_t retransmissionsSent = 0;   ///< packets resent on NACK
  std::uint64_t keyframeRequestsSent = 0;  ///< PLI or FIR
  std::uint64_t keyframeRequestsReceived = 0;
  std::uint64_t rtcpSent = 0;
  std::uint64_t rtcpReceived = 0;
  std::uint64_t byeReceived = 0;
  std::uint64_t decodeErrors = 0;
  std::int64_t startedUs = 0;                     ///< MediaEngine::nowUs() of start()
  std::optional<std::int64_t> firstAudioFrameUs;  ///< first Opus frame decoded
  std::optional<std::int64_t> firstVideoFrameUs;  ///< first VP8 picture decoded
};

class CallMedia {
 public:
  /// Called on the call's media worker with one finished clear-text RTP (`rtcp` false) or RTCP
  /// packet; the engine hands it to SRTP.
  using SendFn = std::function<void(std::vector<std::uint8_t> packet, bool rtcp)>;

  CallMedia(MediaEngine& engine, CallMediaConfig config, SendFn send);
  /// Stops (see stop()); after it returns no SendFn, source or sink call runs.
  ~CallMedia();
  CallMedia(const CallMedia&) = delete;
  CallMedia& operator=(const CallMedia&) = delete;

  /// Media starts flowing (call it once SRTP is up). Codecs are created on the worker. Calling
  /// it again after stop() resumes with the same sequence numbers and SSRCs.
  void start();
  /// Stops the ticks: waits for one in progress. Idempotent.
  void stop();
  bool running() const;

  /// Any thread. Copies the packet into the bounded incoming queue.
  void incomingRtp(const std::uint8_t* data, std::size_t size);
  void incomingRtcp(const std::uint8_t* data, std::size_t size);
  /// RTP or RTCP, told apart by RFC 5761 section 4 (rtcp-mux).
  void incoming(const std::uint8_t* data, std::size_t size);

  /// Endpoints: may be set or replaced at any time (the worker picks the change up at its next
  /// tick and asks the new object's format() there). nullptr removes one.
  void setAudioSource(std::shared_ptr<AudioSource> source);
  void setAudioSink(std::shared_ptr<AudioSink> sink);
  void setVideoSource(std::shared_ptr<VideoSource> source);
  void setVideoSink(std::shared_ptr<VideoSink> sink);

  /// Send muted: silence is encoded / no video is sent. Receive muted: the sink gets silence
  /// (info.silence) / pictures are dropped. Decoding goes on (statistics, decoder state).
  void setMuted(Call::Medium medium, Call::Flow flow, bool muted);
  bool muted(Call::Medium medium, Call::Flow flow) const;

  /// Switches echo cancellation and noise suppression of the captured audio.
  void setAudioProcessing(bool echoCancellation, bool noiseSuppression);
  /// Asks the video encoder for a keyframe at its next frame.
  void requestKeyframe();

  /// An RTCP BYE (RFC 3550 6.6) for the local SSRCs, as a compound RR + SDES + BYE packet, for
  /// the engine to send itself when the call ends (after stop(); any thread).
  std::vector<std::uint8_t> byePacket(const std::string& reason = {}) const;

  /// Snapshot (refreshed by the worker every 50 ms and at stop()): audio/video send and
  /// receive StreamStats and rttMs. state, route, srtpProfile and secondsConnected are left
  /// for the engine to fill.
  CallStats stats() const;
  /// Counters (tick figures live). stats(), counters() and running() never wait for a tick:
  /// they may be called from any thread, also from inside a source, sink or SendFn.
  CallMediaCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::impl
