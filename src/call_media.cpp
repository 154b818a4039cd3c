// The media pipeline of one call (see call_media.hpp).
#include "call_media.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <tern/media/audio_processing.hpp>
#include <tern/media/jitter_buffer.hpp>
#include <tern/media/opus_codec.hpp>
#include <tern/media/opus_payload.hpp>
#include <tern/media/rtcp.hpp>
#include <tern/media/rtp_packet.hpp>
#include <tern/media/rtp_stats.hpp>
#include <tern/media/rtx_history.hpp>
#include <tern/media/video_frame.hpp>
#include <tern/media/vp8_codec.hpp>
#include <tern/media/vp8_payload.hpp>
#include <type_traits>
#include <utility>

namespace tern::impl {

namespace {

namespace m = tern::media;

constexpr std::int64_t kTickUs = 10000;         // the pipeline's base period
constexpr int kSamplesPer10Ms = 480;            // 48 kHz
constexpr std::int64_t kStatsPublishTicks = 5;  // 50 ms
constexpr std::int64_t kKeyframeRequestGapUs = 300000;
constexpr int kMaxConcealRun = 10;  // then silence: the peer stopped or is in DTX
constexpr std::int64_t kDefaultRttUs = 100000;

std::int64_t unixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int clampFrameMs(int ms) { return ms == 10 ? 10 : 20; }
int clampChannels(int ch) { return ch == 2 ? 2 : 1; }

// Channel conversion of interleaved 16-bit PCM (mono <-> stereo).
void convertChannels(const std::int16_t* in, int inCh, std::int16_t* out, int outCh,
                     std::size_t samplesPerChannel) {
  if (inCh == outCh) {
    std::memcpy(out, in, samplesPerChannel * static_cast<std::size_t>(inCh) * sizeof(std::int16_t));
  } else if (inCh == 1) {
    for (std::size_t i = 0; i < samplesPerChannel; ++i) out[2 * i] = out[2 * i + 1] = in[i];
  } else {
    for (std::size_t i = 0; i < samplesPerChannel; ++i) {
      out[i] = static_cast<std::int16_t>((in[2 * i] + in[2 * i + 1]) / 2);
    }
  }
}

struct Incoming {
  std::vector<std::uint8_t> data;
  bool rtcp = false;
  std::int64_t arrivalUs = 0;
};

// Decoded PCM waiting for the sink: segments with the flags of the frame they came from.
class PcmFifo {
 public:
  void reset(int channels) {
    channels_ = channels;
    segments_.clear();
    samples_ = 0;
  }
  int channels() const { return channels_; }
  std::size_t samplesPerChannel() const { return samples_; }

  void push(std::vector<std::int16_t> pcm, const AudioFrameInfo& info) {
    const std::size_t n = pcm.size() / static_cast<std::size_t>(channels_);
    if (n == 0) return;
    segments_.push_back({std::move(pcm), info, 0});
    samples_ += n;
  }
  void pushSilence(std::size_t samplesPerChannel) {
    AudioFrameInfo info;
    info.silence = true;
    push(std::vector<std::int16_t>(samplesPerChannel * static_cast<std::size_t>(channels_), 0),
         info);
  }
  // Keeps at most `maxSamples` per channel, dropping the oldest.
  void bound(std::size_t maxSamples) {
    while (samples_ > maxSamples && !segments_.empty()) {
      Segment& s = segments_.front();
      const std::size_t left = s.pcm.size() / static_cast<std::size_t>(channels_) - s.offset;
      const std::size_t drop = std::min(left, samples_ - maxSamples);
      s.offset += drop;
      samples_ -= drop;
      if (s.offset * static_cast<std::size_t>(channels_) >= s.pcm.size()) segments_.pop_front();
    }
  }
  // Fills `out` (n samples per channel); missing samples are zeros (marked silence).
  AudioFrameInfo pop(std::int16_t* out, std::size_t n) {
    AudioFrameInfo info;
    bool allSilence = true;
    const auto ch = static_cast<std::size_t>(channels_);
    std::size_t done = 0;
    while (done < n && !segments_.empty()) {
      Segment& s = segments_.front();
      const std::size_t left = s.pcm.size() / ch - s.offset;
      const std::size_t take = std::min(left, n - done);
      std::memcpy(out + done * ch, s.pcm.data() + s.offset * ch, take * ch * sizeof(std::int16_t));
      info.concealed = info.concealed || s.info.concealed;
      info.recovered = info.recovered || s.info.recovered;
      allSilence = allSilence && s.info.silence;
      s.offset += take;
      done += take;
      samples_ -= take;
      if (s.offset >= s.pcm.size() / ch) segments_.pop_front();
    }
    if (done < n) std::memset(out + done * ch, 0, (n - done) * ch * sizeof(std::int16_t));
    info.silence = allSilence;
    return info;
  }

 private:
  struct Segment {
    std::vector<std::int16_t> pcm;
    AudioFrameInfo info;
    std::size_t offset = 0;  // samples per channel consumed
  };
  int channels_ = 1;
  std::deque<Segment> segments_;
  std::size_t samples_ = 0;
};

// Endpoint with the format the worker asked it for.
template <class T, class F>
struct Endpoint {
  std::shared_ptr<T> object;
  F format{};
  bool known = false;

  // Takes the app's current endpoint; its format is asked once per endpoint.
  void follow(const std::shared_ptr<T>& current) {
    if (object != current) {
      object = current;
      known = false;
    }
    if (object && !known) {
      format = object->format();
      known = true;
    }
  }
};

}  // namespace

struct CallMedia::Impl {
  Impl(MediaEngine& engine, CallMediaConfig config, SendFn send)
      : engine(engine), cfg(std::move(config)), send(std::move(send)) {
    ctl.aec = cfg.echoCancellation;
    ctl.ns = cfg.noiseSuppression;
    remoteAudioSsrc = cfg.remoteAudioSsrc;
    remoteVideoSsrc = cfg.remoteVideoSsrc;
    audioSeq = static_cast<std::uint16_t>(rng());
    videoSeq = static_cast<std::uint16_t>(rng());
    audioTs = static_cast<std::uint32_t>(rng());
    videoTsBase = static_cast<std::uint32_t>(rng());
    firSeq = 0;
    auto dec = m::Vp8Decoder::create();
    if (dec.ok()) vp8Decoder.emplace(std::move(dec).value());
  }

  // ---- fixed ----
  MediaEngine& engine;
  const CallMediaConfig cfg;
  const SendFn send;

  // ---- lifecycle: lifeMutex serialises start()/stop(); taskMutex guards `task` only, so that
  // counters() and running() never wait for a tick (they may be called from a callback) ----
  std::mutex lifeMutex;
  mutable std::mutex taskMutex;
  std::shared_ptr<MediaEngine::Task> task;
  std::int64_t startedUs = 0;

  // ---- control, any thread (ctlMutex) ----
  struct Control {
    std::shared_ptr<AudioSource> audioSource;
    std::shared_ptr<AudioSink> audioSink;
    std::shared_ptr<VideoSource> videoSource;
    std::shared_ptr<VideoSink> videoSink;
    bool muteAudioSend = false, muteAudioReceive = false;
    bool muteVideoSend = false, muteVideoReceive = false;
    bool aec = true, ns = true;
    bool keyframe = false;
  };
  mutable std::mutex ctlMutex;
  Control ctl;

  // ---- incoming queue (inMutex) ----
  std::mutex inMutex;
  std::deque<Incoming> inQueue;
  std::uint64_t inDropped = 0;

  // ---- published (statsMutex) ----
  mutable std::mutex statsMutex;
  CallStats published;
  CallMediaCounters publishedCounters;

  // ---- worker only (one tick at a time) ----
  Control cur;  // snapshot of ctl for this tick
  std::int64_t tickIndex = 0;
  bool begun = false;
  std::mt19937 rng{std::random_device{}()};
  CallMediaCounters counters;

  // audio send
  Endpoint<AudioSource, AudioFormat> src;
  std::optional<m::OpusAudioEncoder> opusEncoder;
  std::optional<m::OpusPayloader> opusPayloader;
  std::optional<m::AudioProcessor> apm;
  int apmChannels = 0;
  bool apmFailed = false;
  std::vector<std::int16_t> capture;
  std::vector<std::int16_t> renderTmp;
  std::int64_t audioTxPhase = 0;
  std::uint16_t audioSeq = 0;
  std::uint32_t audioTs = 0;
  bool audioSent = false;
  int expectedLoss = -1;
  double smoothedLoss = -1;
  m::SenderStatistics audioTxStats{static_cast<std::uint32_t>(cfg.audioClockRate)};
  m::BitrateEstimator audioTxRate;
  StreamStats audioSendStats;

  // audio receive
  Endpoint<AudioSink, AudioFormat> sink;
  std::optional<m::AudioJitterBuffer> jitter;
  int jitterFrameMs = 20;
  std::optional<m::OpusAudioDecoder> opusDecoder;
  int decoderChannels = 0;
  PcmFifo fifo;
  std::vector<std::int16_t> playout;
  std::int64_t audioRxPhase = 0;
  int concealRun = 0;
  bool decodedAny = false;
  std::uint32_t remoteAudioSsrc = 0;
  m::ReceiveStatistics audioRxStats{static_cast<std::uint32_t>(cfg.audioClockRate)};
  m::BitrateEstimator audioRxRate;
  StreamStats audioReceiveStats;

  // video send
  Endpoint<VideoSource, VideoFormat> vsrc;
  std::optional<m::Vp8Encoder> vp8Encoder;
  m::VideoFrame captureFrame;
  std::int64_t nextVideoUs = 0;
  std::int64_t videoPts = 0;
  std::uint16_t videoSeq = 0;
  std::uint32_t videoTsBase = 0;
  bool videoSent = false;
  bool forceKeyframe = true;
  std::optional<std::uint8_t> lastFirSeq;
  m::SenderStatistics videoTxStats{m::kVp8RtpClockRate};
  m::BitrateEstimator videoTxRate;
  m::RtxHistory rtx{m::RtxHistory::Config{cfg.rtxHistoryPackets, 1000000, 0}};
  m::Vp8Packetizer vp8Packetizer{m::Vp8Packetizer::Config{cfg.maxVideoPayload, true, false}};
  StreamStats videoSendStats;

  // video receive
  std::optional<m::Vp8Decoder> vp8Decoder;
  m::VideoFrameAssembler assembler;
  std::uint32_t remoteVideoSsrc = 0;
  std::int64_t lastKeyframeRequestUs = 0;
  bool decoderWantsKeyframe = false;
  std::uint8_t firSeq = 0;
  m::ReceiveStatistics videoRxStats{m::kVp8RtpClockRate};
  m::BitrateEstimator videoRxRate;
  StreamStats videoReceiveStats;

  // RTCP
  std::int64_t nextRtcpUs = 0;
  std::optional<std::int64_t> rttUs;

  // ---------------------------------------------------------------------------------------------

  void enqueue(const std::uint8_t* data, std::size_t size, bool rtcp) {
    if (data == nullptr || size == 0) return;
    Incoming in;
    in.data.assign(data, data + size);
    in.rtcp = rtcp;
    in.arrivalUs = MediaEngine::nowUs();
    std::lock_guard<std::mutex> lock(inMutex);
    while (inQueue.size() >= std::max<std::size_t>(cfg.incomingQueuePackets, 1)) {
      inQueue.pop_front();
      ++inDropped;
    }
    inQueue.push_back(std::move(in));
  }

  void tick(std::int64_t deadlineUs, std::int64_t nowUs) {
    {
      std::lock_guard<std::mutex> lock(ctlMutex);
      cur = ctl;
      ctl.keyframe = false;
    }
    if (cur.keyframe) forceKeyframe = true;
    if (!begun) {
      begun = true;
      nextVideoUs = deadlineUs;
      nextRtcpUs = nowUs + rtcpInterval() / 2;
    }
    refreshEndpoints();
    drainIncoming();
    if (cfg.audio) {
      audioReceive(nowUs);
      audioSend(nowUs);
    }
    if (cfg.video) {
      videoReceive(nowUs);
      videoSend(deadlineUs, nowUs);
    }
    if (nowUs >= nextRtcpUs) {
      sendReport(nowUs);
      nextRtcpUs = nowUs + rtcpInterval();
    }
    ++tickIndex;
    if (tickIndex % kStatsPublishTicks == 0) publish(nowUs);
    // Drop references to endpoints that were replaced, here on the worker.
    cur = Control{};
  }

  std::int64_t rtcpInterval() {
    std::uniform_real_distribution<double> d(0.5, 1.5);
    return static_cast<std::int64_t>(static_cast<double>(cfg.rtcpIntervalUs) * d(rng));
  }

  void refreshEndpoints() {
    src.follow(cur.audioSource);
    sink.follow(cur.audioSink);
    vsrc.follow(cur.videoSource);
  }

  void sendPacket(std::vector<std::uint8_t> packet, bool rtcp) {
    if (rtcp) ++counters.rtcpSent;
    if (send) send(std::move(packet), rtcp);
  }

  // ---- incoming -------------------------------------------------------------------------------

  void drainIncoming() {
    std::deque<Incoming> batch;
    {
      std::lock_guard<std::mutex> lock(inMutex);
      batch.swap(inQueue);
      counters.incomingDropped = inDropped;
    }
    for (const Incoming& in : batch) {
      if (in.rtcp) {
        handleRtcp(in.data.data(), in.data.size(), in.arrivalUs);
      } else {
        handleRtp(in.data.data(), in.data.size(), in.arrivalUs);
      }
    }
  }

  void handleRtp(const std::uint8_t* data, std::size_t size, std::int64_t arrivalUs) {
    auto parsed = m::parseRtp(data, size);
    if (!parsed) {
      ++counters.malformed;
      return;
    }
    const m::RtpPacketView& p = parsed.value();
    if (cfg.audio && p.payloadType == cfg.audioPayloadType) {
      if (remoteAudioSsrc == 0) remoteAudioSsrc = p.ssrc;
      if (p.ssrc != remoteAudioSsrc) {
        ++counters.foreignSsrc;
        return;
      }
      audioRxStats.onPacket(p.sequenceNumber, p.timestamp, arrivalUs);
      audioRxRate.add(p.payloadSize, arrivalUs);
      ++audioReceiveStats.packets;
      audioReceiveStats.bytes += p.payloadSize;
      if (!jitter) {
        const std::uint32_t samples = m::opusPacketSamples(p.payload, p.payloadSize);
        jitterFrameMs = samples == 480 ? 10 : 20;
        m::AudioJitterBuffer::Config jc;
        jc.clockRate = static_cast<std::uint32_t>(cfg.audioClockRate);
        jc.frameMs = static_cast<std::uint32_t>(jitterFrameMs);
        // Pulled on any 10 ms tick on which the sink needs audio (audioReceive()), so a frame
        // is played within a tick of its due time; the minimum delay is the buffer's own
        // margin for a clean path (half a 20 ms frame above the fastest transit).
        jc.pullIntervalMs = 10;
        jc.minDelayUs = 10000;
        // Once the path (or this process's scheduling) has shown a late packet, keep room for
        // it for a while: the peak-held target decays by 2 ms per second.
        jc.peakDecayPerSecondUs = 2000;
        jc.quantile = 1.0;
        // With in-band FEC, a loss makes the buffer keep the next packet at hand for 10 s.
        if (cfg.opusFec) jc.fecHoldUs = 10000000;
        jitter.emplace(jc);
        opusDecoder.reset();  // frame size of the concealment follows the stream
      }
      jitter->insert(p.sequenceNumber, p.timestamp, p.marker, p.payload, p.payloadSize, arrivalUs);
    } else if (cfg.video && p.payloadType == cfg.videoPayloadType) {
      if (remoteVideoSsrc == 0) remoteVideoSsrc = p.ssrc;
      if (p.ssrc != remoteVideoSsrc) {
        ++counters.foreignSsrc;
        return;
      }
      videoRxStats.onPacket(p.sequenceNumber, p.timestamp, arrivalUs);
      videoRxRate.add(p.payloadSize, arrivalUs);
      ++videoReceiveStats.packets;
      videoReceiveStats.bytes += p.payloadSize;
      assembler.insert(p.sequenceNumber, p.timestamp, p.marker, p.payload, p.payloadSize,
                       arrivalUs);
    } else {
      ++counters.unknownPayloadType;
    }
  }

  void handleRtcp(const std::uint8_t* data, std::size_t size, std::int64_t arrivalUs) {
    auto parsed = m::parseRtcp(data, size);
    if (!parsed) {
      ++counters.malformed;
      return;
    }
    ++counters.rtcpReceived;
    for (const m::RtcpMessage& msg : parsed.value()) {
      std::visit([&](const auto& x) { onRtcp(x, arrivalUs); }, msg);
    }
  }

  void onRtcp(const m::SenderReport& sr, std::int64_t arrivalUs) {
    if (sr.ssrc != 0 && sr.ssrc == remoteAudioSsrc)
      audioRxStats.onSenderReport(sr.ntpTimestamp, arrivalUs);
    if (sr.ssrc != 0 && sr.ssrc == remoteVideoSsrc)
      videoRxStats.onSenderReport(sr.ntpTimestamp, arrivalUs);
    onReportBlocks(sr.reports);
  }
  void onRtcp(const m::ReceiverReport& rr, std::int64_t) { onReportBlocks(rr.reports); }
  void onRtcp(const m::Sdes&, std::int64_t) {}
  void onRtcp(const m::Remb&, std::int64_t) {}

  void onRtcp(const m::Bye& bye, std::int64_t) {
    ++counters.byeReceived;
    for (std::uint32_t ssrc : bye.ssrcs) {
      if (ssrc == remoteAudioSsrc && cfg.remoteAudioSsrc == 0) {
        remoteAudioSsrc = 0;  // a restarted peer may come back with another SSRC
        jitter.reset();
        audioRxStats = m::ReceiveStatistics(static_cast<std::uint32_t>(cfg.audioClockRate));
      }
      if (ssrc == remoteVideoSsrc && cfg.remoteVideoSsrc == 0) {
        remoteVideoSsrc = 0;
        assembler = m::VideoFrameAssembler();
        videoRxStats = m::ReceiveStatistics(m::kVp8RtpClockRate);
      }
    }
  }

  void onRtcp(const m::Nack& nack, std::int64_t) {
    if (!cfg.video || nack.mediaSsrc != cfg.localVideoSsrc) return;
    const std::int64_t now = MediaEngine::nowUs();
    auto packets = rtx.retransmit(nack.sequenceNumbers, now);
    videoSendStats.nacks += nack.sequenceNumbers.size();
    for (auto& pkt : packets) {
      ++counters.retransmissionsSent;
      sendPacket(std::move(pkt), false);
    }
  }

  void onRtcp(const m::Pli& pli, std::int64_t) {
    if (!cfg.video || pli.mediaSsrc != cfg.localVideoSsrc) return;
    forceKeyframe = true;
    ++videoSendStats.pictureLossIndications;
    ++counters.keyframeRequestsReceived;
  }

  void onRtcp(const m::Fir& fir, std::int64_t) {
    if (!cfg.video) return;
    for (const auto& e : fir.entries) {
      if (e.ssrc != cfg.localVideoSsrc) continue;
      // RFC 5104 4.3.1.2: a repeated sequence number is the same request.
      if (lastFirSeq && *lastFirSeq == e.sequenceNumber) continue;
      lastFirSeq = e.sequenceNumber;
      forceKeyframe = true;
      ++videoSendStats.pictureLossIndications;
      ++counters.keyframeRequestsReceived;
    }
  }

  void onReportBlocks(const std::vector<m::ReportBlock>& blocks) {
    const std::int64_t unixNow = unixMicros();
    for (const m::ReportBlock& b : blocks) {
      StreamStats* s = nullptr;
      m::SenderStatistics* tx = nullptr;
      double clock = 48000;
      if (cfg.audio && b.ssrc == cfg.localAudioSsrc) {
        s = &audioSendStats;
        tx = &audioTxStats;
        clock = cfg.audioClockRate;
      } else if (cfg.video && b.ssrc == cfg.localVideoSsrc) {
        s = &videoSendStats;
        tx = &videoTxStats;
        clock = m::kVp8RtpClockRate;
      } else {
        continue;
      }
      s->packetsLost = b.cumulativeLost > 0 ? static_cast<std::uint64_t>(b.cumulativeLost) : 0;
      s->fractionLost = b.fractionLost / 256.0;
      s->jitterMs = b.jitter * 1000.0 / clock;
      if (auto rtt = tx->rttFromReportBlock(b, unixNow)) rttUs = *rtt;
      if (s == &audioSendStats) onAudioLossReport(b.fractionLost);
    }
  }

  // Expected loss for the Opus encoder's FEC: the reported fraction, smoothed.
  void onAudioLossReport(std::uint8_t fraction) {
    const double pct = fraction * 100.0 / 256.0;
    smoothedLoss = smoothedLoss < 0 ? pct : 0.7 * smoothedLoss + 0.3 * pct;
    // A fraction just above a step still asks for protection: round up.
    const int want = std::clamp(static_cast<int>(smoothedLoss + 0.99), 0, 50);
    if (opusEncoder && want != expectedLoss) {
      if (opusEncoder->setExpectedPacketLoss(want).ok()) expectedLoss = want;
    } else if (!opusEncoder) {
      expectedLoss = want;
    }
  }

  // ---- audio receive --------------------------------------------------------------------------

  void audioReceive(std::int64_t nowUs) {
    const AudioFormat fmt = sink.object ? sink.format : AudioFormat{};
    const int channels = clampChannels(fmt.channels);
    const int sinkMs = clampFrameMs(fmt.frameMs);
    if (fifo.channels() != channels || decoderChannels != channels) {
      fifo.reset(channels);
      opusDecoder.reset();
      decoderChannels = channels;
    }
    const int sinkTicks = sinkMs / 10;
    bool popTick = audioRxPhase % sinkTicks == 0;
    if (!popTick && !decodedAny && jitter) {
      // A sink taking 20 ms frames: until the first frame is decoded, look on every tick, and
      // start the sink's cadence on the tick the first frame falls due. What such a look
      // yields before that is silence, which the next sink frame brings anyway: dropped.
      pullOne(nowUs, channels);
      if (decodedAny) {
        audioRxPhase = 0;
        popTick = true;
      } else {
        fifo.reset(channels);
      }
    }
    if (popTick) {
      const std::size_t n = static_cast<std::size_t>(kSamplesPer10Ms) * sinkTicks;
      // Pull while the sink's frame is not covered, and play in the same tick. Until a frame
      // is due each pull yields 10 ms (silence), so the first frame is pulled on the tick it
      // falls due and the following ones keep that phase, not a phase fixed at call start.
      for (int i = 0; i < 4 && fifo.samplesPerChannel() < n; ++i) pullOne(nowUs, channels);
      playout.resize(n * static_cast<std::size_t>(channels));
      AudioFrameInfo info = fifo.pop(playout.data(), n);
      if (cur.muteAudioReceive) {
        std::fill(playout.begin(), playout.end(), std::int16_t{0});
        info = AudioFrameInfo{};
        info.silence = true;
      }
      analyzeRender(playout.data(), channels, n);
      ++counters.audioFramesPlayed;
      if (sink.object) sink.object->writeAudio(playout.data(), n, info);
    }
    // Never more than a few frames behind the sink (a packet longer than expected).
    fifo.bound(static_cast<std::size_t>(kSamplesPer10Ms) * 12);
    ++audioRxPhase;
  }

  void ensureDecoder(int channels) {
    if (opusDecoder) return;
    m::OpusDecoderConfig dc;
    dc.channels = channels;
    dc.frame_ms = jitterFrameMs;
    auto d = m::OpusAudioDecoder::create(dc);
    if (d.ok()) opusDecoder.emplace(std::move(d).value());
  }

  // One pull from the jitter buffer: a decoded, recovered or concealed frame, or 10 ms of
  // silence when there is nothing to play yet (so the next tick asks again).
  void pullOne(std::int64_t nowUs, int channels) {
    const std::size_t tickSamples = static_cast<std::size_t>(kSamplesPer10Ms);
    if (!jitter) {
      fifo.pushSilence(tickSamples);
      return;
    }
    ensureDecoder(channels);
    if (!opusDecoder) {
      fifo.pushSilence(tickSamples);
      return;
    }
    m::AudioJitterBuffer::Pull p = jitter->pull(nowUs);
    AudioFrameInfo info;
    switch (p.kind) {
      case m::AudioJitterBuffer::Pull::Kind::Frame: {
        auto pcm = opusDecoder->decode(p.payload);
        if (pcm.ok()) {
          ++audioReceiveStats.framesDecoded;
          if (!counters.firstAudioFrameUs) counters.firstAudioFrameUs = nowUs;
          decodedAny = true;
          concealRun = 0;
          fifo.push(std::move(pcm).value(), info);
          return;
        }
        ++counters.decodeErrors;
        conceal(info);
        return;
      }
      case m::AudioJitterBuffer::Pull::Kind::Lost: {
        if (cfg.opusFec && !p.payload.empty()) {
          auto pcm = opusDecoder->decodeFec(p.payload);
          if (pcm.ok()) {
            ++audioReceiveStats.framesRecovered;
            info.recovered = true;
            concealRun = 0;
            fifo.push(std::move(pcm).value(), info);
            return;
          }
        }
        conceal(info);
        return;
      }
      case m::AudioJitterBuffer::Pull::Kind::Nothing:
        break;
    }
    using Reason = m::AudioJitterBuffer::Pull::Reason;
    if (decodedAny && (p.reason == Reason::Waiting || p.reason == Reason::Empty) &&
        concealRun < kMaxConcealRun) {
      conceal(info);
      return;
    }
    fifo.pushSilence(tickSamples);
  }

  void conceal(AudioFrameInfo info) {
    auto pcm = opusDecoder->conceal();
    ++concealRun;
    if (!pcm.ok()) {
      fifo.pushSilence(static_cast<std::size_t>(kSamplesPer10Ms) * (jitterFrameMs / 10));
      return;
    }
    ++audioReceiveStats.framesConcealed;
    info.concealed = true;
    fifo.push(std::move(pcm).value(), info);
  }

  // ---- audio processing -----------------------------------------------------------------------

  bool apmWanted() const { return cur.aec || cur.ns; }

  bool ensureApm(int channels) {
    if (!apmWanted() || apmFailed) return false;
    if (apm && apmChannels == channels) {
      (void)apm->setEchoCancellation(cur.aec);
      (void)apm->setNoiseSuppression(cur.ns);
      return true;
    }
    m::AudioProcessorConfig pc;
    pc.sample_rate = 48000;
    pc.channels = channels;
    pc.echo_cancellation = cur.aec;
    pc.noise_suppression = cur.ns;
    auto a = m::AudioProcessor::create(pc);
    if (!a.ok()) {
      apmFailed = true;
      return false;
    }
    apm.emplace(std::move(a).value());
    apmChannels = channels;
    return true;
  }

  // The far-end reference: what the sink plays, in the capture's channel layout.
  void analyzeRender(const std::int16_t* pcm, int channels, std::size_t samplesPerChannel) {
    if (!apm || !cur.aec) return;
    const int apCh = apmChannels;
    renderTmp.resize(static_cast<std::size_t>(kSamplesPer10Ms) * apCh);
    for (std::size_t off = 0; off + kSamplesPer10Ms <= samplesPerChannel; off += kSamplesPer10Ms) {
      convertChannels(pcm + off * static_cast<std::size_t>(channels), channels, renderTmp.data(),
                      apCh, kSamplesPer10Ms);
      (void)apm->analyzeRender(renderTmp.data());
    }
  }

  // ---- audio send -----------------------------------------------------------------------------

  void audioSend(std::int64_t nowUs) {
    const AudioFormat fmt = src.object ? src.format : AudioFormat{};
    const int channels = clampChannels(fmt.channels);
    const int frameMs = clampFrameMs(fmt.frameMs);
    const int ticks = frameMs / 10;
    const bool due = audioTxPhase % ticks == 0;  // the first tick captures
    ++audioTxPhase;
    if (!due) return;
    if (!opusEncoder || opusEncoder->config().channels != channels ||
        opusEncoder->config().frame_ms != frameMs) {
      m::OpusEncoderConfig ec;
      ec.channels = channels;
      ec.frame_ms = frameMs;
      ec.bitrate_bps = cfg.opusBitrate;
      ec.complexity = cfg.opusComplexity;
      ec.inband_fec = cfg.opusFec;
      ec.expected_loss_percent =
          expectedLoss >= 0 ? expectedLoss : std::clamp(cfg.initialExpectedLossPercent, 0, 100);
      ec.dtx = cfg.opusDtx;
      auto e = m::OpusAudioEncoder::create(ec);
      if (!e.ok()) return;
      opusEncoder.emplace(std::move(e).value());
      expectedLoss = ec.expected_loss_percent;
      opusPayloader.emplace(static_cast<std::uint32_t>(frameMs));
    }
    const std::size_t spc = static_cast<std::size_t>(kSamplesPer10Ms) * ticks;
    capture.assign(spc * static_cast<std::size_t>(channels), 0);
    if (src.object && !cur.muteAudioSend) {
      src.object->readAudio(capture.data(), spc);
      ++counters.audioFramesCaptured;
    }
    // Nothing to clean up in digital silence (no source, or muted).
    if (src.object && !cur.muteAudioSend && ensureApm(channels)) {
      for (int i = 0; i < ticks; ++i) {
        (void)apm->processCapture(capture.data() + static_cast<std::size_t>(i) * kSamplesPer10Ms *
                                                       static_cast<std::size_t>(channels));
      }
    }
    auto encoded = opusEncoder->encode(capture.data(), spc);
    if (!encoded.ok()) return;
    const std::vector<std::uint8_t>& opus = encoded.value();
    m::OpusRtpPayload payload = opusPayloader->wrap(opus.data(), opus.size(), cfg.opusDtx);
    const std::uint32_t ts = audioTs;
    audioTs += payload.timestampStep;
    if (payload.payload.empty()) return;  // DTX: timestamp moves, nothing is sent
    m::RtpHeader h;
    h.marker = payload.marker;
    h.payloadType = static_cast<std::uint8_t>(cfg.audioPayloadType);
    h.sequenceNumber = audioSeq++;
    h.timestamp = ts;
    h.ssrc = cfg.localAudioSsrc;
    auto pkt = m::buildRtp(h, payload.payload.data(), payload.payload.size());
    if (!pkt) return;
    audioTxStats.onPacketSent(payload.payload.size(), ts, nowUs);
    audioTxRate.add(payload.payload.size(), nowUs);
    ++audioSendStats.packets;
    audioSendStats.bytes += payload.payload.size();
    audioSent = true;
    sendPacket(std::move(pkt).value(), false);
  }

  // ---- video send -----------------------------------------------------------------------------

  void videoSend(std::int64_t deadlineUs, std::int64_t nowUs) {
    if (deadlineUs < nextVideoUs) return;
    const VideoFormat fmt = vsrc.object ? vsrc.format : VideoFormat{};
    const int fps = std::clamp(fmt.fps, 1, 60);
    nextVideoUs += 1000000 / fps;
    if (nextVideoUs < deadlineUs - 100000) nextVideoUs = deadlineUs + 1000000 / fps;
    if (!vsrc.object || cur.muteVideoSend) return;
    if (fmt.width < 16 || fmt.height < 16 || fmt.width > m::VideoFrame::kMaxDimension ||
        fmt.height > m::VideoFrame::kMaxDimension) {
      return;
    }
    if (captureFrame.width() != fmt.width || captureFrame.height() != fmt.height) {
      captureFrame = m::VideoFrame(fmt.width, fmt.height);
    }
    VideoBuffer buf;
    buf.width = captureFrame.width();
    buf.height = captureFrame.height();
    buf.y = captureFrame.dataY();
    buf.u = captureFrame.dataU();
    buf.v = captureFrame.dataV();
    buf.strideY = captureFrame.strideY();
    buf.strideU = captureFrame.strideU();
    buf.strideV = captureFrame.strideV();
    if (!vsrc.object->readVideo(buf)) return;
    ++counters.videoFramesCaptured;
    if (!vp8Encoder || vp8Encoder->config().width != fmt.width ||
        vp8Encoder->config().height != fmt.height || vp8Encoder->config().fps != fps) {
      m::Vp8EncoderConfig ec;
      ec.width = fmt.width;
      ec.height = fmt.height;
      ec.fps = fps;
      ec.bitrate_kbps = cfg.videoBitrateKbps;
      auto e = m::Vp8Encoder::create(ec);
      if (!e.ok()) return;
      vp8Encoder.emplace(std::move(e).value());
      forceKeyframe = true;
    }
    const std::uint32_t ts =
        videoTsBase + static_cast<std::uint32_t>((deadlineUs - startedUsWorker()) * 9 / 100);
    auto out = vp8Encoder->encode(captureFrame, forceKeyframe, videoPts++);
    if (!out.ok()) return;
    for (const m::EncodedVideoFrame& f : out.value()) {
      ++videoSendStats.framesEncoded;
      if (f.keyframe) {
        ++videoSendStats.keyframes;
        forceKeyframe = false;
      }
      auto packets = vp8Packetizer.packetize(f.data.data(), f.data.size());
      if (!packets) continue;
      for (const auto& vp : packets.value()) {
        m::RtpHeader h;
        h.marker = vp.marker;
        h.payloadType = static_cast<std::uint8_t>(cfg.videoPayloadType);
        h.sequenceNumber = videoSeq++;
        h.timestamp = ts;
        h.ssrc = cfg.localVideoSsrc;
        auto pkt = m::buildRtp(h, vp.payload.data(), vp.payload.size());
        if (!pkt) continue;
        rtx.store(pkt.value().data(), pkt.value().size(), nowUs);
        videoTxStats.onPacketSent(vp.payload.size(), ts, nowUs);
        videoTxRate.add(vp.payload.size(), nowUs);
        ++videoSendStats.packets;
        videoSendStats.bytes += vp.payload.size();
        videoSent = true;
        sendPacket(std::move(pkt).value(), false);
      }
    }
    videoSendStats.width = fmt.width;
    videoSendStats.height = fmt.height;
  }

  std::int64_t startedUsWorker() const { return counters.startedUs; }

  // ---- video receive --------------------------------------------------------------------------

  void videoReceive(std::int64_t nowUs) {
    for (m::AssembledFrame& f : assembler.popFrames(nowUs)) {
      if (!vp8Decoder) break;
      auto pic = vp8Decoder->decode(f.data, f.rtpTimestamp);
      if (!pic.ok()) {
        ++counters.decodeErrors;
        if (pic.error().code == m::CodecErrorCode::NeedKeyframe ||
            pic.error().code == m::CodecErrorCode::CorruptInput) {
          decoderWantsKeyframe = true;
        }
        continue;
      }
      if (!pic.value()) continue;
      const m::VideoFrame& vf = *pic.value();
      ++videoReceiveStats.framesDecoded;
      if (f.keyframe) ++videoReceiveStats.keyframes;
      videoReceiveStats.width = vf.width();
      videoReceiveStats.height = vf.height();
      if (!counters.firstVideoFrameUs) counters.firstVideoFrameUs = nowUs;
      decoderWantsKeyframe = false;
      if (cur.muteVideoReceive || !cur.videoSink) continue;
      tern::VideoFrame view;
      view.width = vf.width();
      view.height = vf.height();
      view.y = vf.dataY();
      view.u = vf.dataU();
      view.v = vf.dataV();
      view.strideY = vf.strideY();
      view.strideU = vf.strideU();
      view.strideV = vf.strideV();
      view.timestampUs = static_cast<std::int64_t>(f.rtpTimestamp) * 100 / 9;
      ++counters.videoFramesRendered;
      cur.videoSink->writeVideo(view);
    }
    if (remoteVideoSsrc == 0) return;
    std::vector<m::RtcpMessage> feedback;
    if (cfg.nack) {
      std::vector<std::uint16_t> missing = assembler.nackList(nowUs, rttUs.value_or(kDefaultRttUs));
      if (!missing.empty()) {
        videoReceiveStats.nacks += missing.size();
        m::Nack n;
        n.senderSsrc = feedbackSsrc();
        n.mediaSsrc = remoteVideoSsrc;
        n.sequenceNumbers = std::move(missing);
        feedback.emplace_back(std::move(n));
      }
    }
    bool wantKeyframe = assembler.pollKeyframeRequest(nowUs);
    if (decoderWantsKeyframe && nowUs - lastKeyframeRequestUs >= kKeyframeRequestGapUs) {
      wantKeyframe = true;
    }
    if (wantKeyframe && (cfg.pli || cfg.fir)) {
      lastKeyframeRequestUs = nowUs;
      ++videoReceiveStats.pictureLossIndications;
      ++counters.keyframeRequestsSent;
      if (cfg.pli) {
        m::Pli p;
        p.senderSsrc = feedbackSsrc();
        p.mediaSsrc = remoteVideoSsrc;
        feedback.emplace_back(p);
      } else {
        m::Fir f;
        f.senderSsrc = feedbackSsrc();
        f.entries.push_back({remoteVideoSsrc, firSeq++});
        feedback.emplace_back(std::move(f));
      }
    }
    if (!feedback.empty()) sendFeedback(std::move(feedback));
  }

  std::uint32_t feedbackSsrc() const {
    return cfg.video && cfg.localVideoSsrc != 0 ? cfg.localVideoSsrc : cfg.localAudioSsrc;
  }

  // RFC 4585 3.1: feedback travels in a compound packet with an RR (no report blocks here, so
  // the fraction-lost interval of the regular reports is untouched) and an SDES CNAME.
  void sendFeedback(std::vector<m::RtcpMessage> feedback) {
    std::vector<m::RtcpMessage> msgs;
    m::ReceiverReport rr;
    rr.ssrc = feedbackSsrc();
    msgs.emplace_back(std::move(rr));
    msgs.emplace_back(sdes());
    for (auto& f : feedback) msgs.push_back(std::move(f));
    auto pkt = m::buildRtcp(msgs);
    if (pkt) sendPacket(std::move(pkt).value(), true);
  }

  m::Sdes sdes() const {
    m::Sdes s;
    const std::string cname = cfg.cname.substr(0, 255);  // one SDES item holds 255 bytes
    if (cfg.audio) s.chunks.push_back({cfg.localAudioSsrc, cname});
    if (cfg.video) s.chunks.push_back({cfg.localVideoSsrc, cname});
    return s;
  }

  // ---- RTCP reports ---------------------------------------------------------------------------

  void sendReport(std::int64_t nowUs) {
    std::vector<m::ReportBlock> blocks;
    if (cfg.audio && remoteAudioSsrc != 0 && audioRxStats.hasPackets()) {
      blocks.push_back(audioRxStats.makeReportBlock(remoteAudioSsrc, nowUs));
      const auto& b = blocks.back();
      audioReceiveStats.fractionLost = b.fractionLost / 256.0;
    }
    if (cfg.video && remoteVideoSsrc != 0 && videoRxStats.hasPackets()) {
      blocks.push_back(videoRxStats.makeReportBlock(remoteVideoSsrc, nowUs));
      videoReceiveStats.fractionLost = blocks.back().fractionLost / 256.0;
    }
    std::vector<m::RtcpMessage> msgs;
    const std::int64_t unixNow = unixMicros();
    bool blocksPlaced = false;
    if (cfg.audio && audioSent) {
      m::SenderReport sr = audioTxStats.makeSenderReport(cfg.localAudioSsrc, nowUs, unixNow);
      sr.reports = blocks;
      blocksPlaced = true;
      msgs.emplace_back(std::move(sr));
    }
    if (cfg.video && videoSent) {
      m::SenderReport sr = videoTxStats.makeSenderReport(cfg.localVideoSsrc, nowUs, unixNow);
      if (!blocksPlaced) sr.reports = blocks;
      blocksPlaced = true;
      msgs.emplace_back(std::move(sr));
    }
    if (!blocksPlaced) {
      m::ReceiverReport rr;
      rr.ssrc = cfg.audio ? cfg.localAudioSsrc : cfg.localVideoSsrc;
      rr.reports = blocks;
      msgs.emplace_back(std::move(rr));
    }
    msgs.emplace_back(sdes());
    auto pkt = m::buildRtcp(msgs);
    if (pkt) sendPacket(std::move(pkt).value(), true);
  }

  // ---- statistics -----------------------------------------------------------------------------

  void publish(std::int64_t nowUs) {
    CallStats s;
    s.rttMs = rttUs ? static_cast<double>(*rttUs) / 1000.0 : -1;
    const std::string opusName =
        "opus/" + std::to_string(cfg.audioClockRate) + "/" + std::to_string(cfg.audioChannels);
    if (cfg.audio) {
      s.audioSend = audioSendStats;
      s.audioSend.active = true;
      s.audioSend.codec = opusName;
      s.audioSend.payloadType = cfg.audioPayloadType;
      s.audioSend.ssrc = cfg.localAudioSsrc;
      s.audioSend.bitrateKbps = audioTxRate.bitsPerSecond(nowUs) / 1000.0;
      s.audioReceive = audioReceiveStats;
      s.audioReceive.active = true;
      s.audioReceive.codec = opusName;
      s.audioReceive.payloadType = cfg.audioPayloadType;
      s.audioReceive.ssrc = remoteAudioSsrc;
      s.audioReceive.bitrateKbps = audioRxRate.bitsPerSecond(nowUs) / 1000.0;
      if (audioRxStats.hasPackets()) {
        const std::int64_t lost = audioRxStats.cumulativeLost();
        s.audioReceive.packetsLost = lost > 0 ? static_cast<std::uint64_t>(lost) : 0;
        s.audioReceive.jitterMs = audioRxStats.jitterMs();
      }
      if (jitter) {
        const auto js = jitter->stats(nowUs);
        const std::int64_t d = js.currentDelayUs > 0 ? js.currentDelayUs : js.targetDelayUs;
        s.audioReceive.jitterBufferMs = static_cast<double>(d) / 1000.0;
      }
    }
    if (cfg.video) {
      s.videoSend = videoSendStats;
      s.videoSend.active = true;
      s.videoSend.codec = "VP8/90000";
      s.videoSend.payloadType = cfg.videoPayloadType;
      s.videoSend.ssrc = cfg.localVideoSsrc;
      s.videoSend.bitrateKbps = videoTxRate.bitsPerSecond(nowUs) / 1000.0;
      s.videoReceive = videoReceiveStats;
      s.videoReceive.active = true;
      s.videoReceive.codec = "VP8/90000";
      s.videoReceive.payloadType = cfg.videoPayloadType;
      s.videoReceive.ssrc = remoteVideoSsrc;
      s.videoReceive.bitrateKbps = videoRxRate.bitsPerSecond(nowUs) / 1000.0;
      if (videoRxStats.hasPackets()) {
        const std::int64_t lost = videoRxStats.cumulativeLost();
        s.videoReceive.packetsLost = lost > 0 ? static_cast<std::uint64_t>(lost) : 0;
        s.videoReceive.jitterMs = videoRxStats.jitterMs();
      }
    }
    std::lock_guard<std::mutex> lock(statsMutex);
    published = std::move(s);
    publishedCounters = counters;
  }
};

CallMedia::CallMedia(MediaEngine& engine, CallMediaConfig config, SendFn send)
    : impl_(std::make_unique<Impl>(engine, std::move(config), std::move(send))) {}

CallMedia::~CallMedia() {
  stop();
  // Endpoints are released here, not on the worker: no tick runs any more.
}

void CallMedia::start() {
  std::lock_guard<std::mutex> lock(impl_->lifeMutex);
  if (running()) return;
  Impl* impl = impl_.get();
  const std::int64_t now = MediaEngine::nowUs();
  if (impl->startedUs == 0) {
    impl->startedUs = now;
    impl->counters.startedUs = now;  // no tick runs yet: safe to touch worker state
  }
  std::shared_ptr<MediaEngine::Task> task = impl->engine.schedule(
      kTickUs, [impl](std::int64_t deadline, std::int64_t nowUs) { impl->tick(deadline, nowUs); },
      now);
  std::lock_guard<std::mutex> taskLock(impl->taskMutex);
  impl->task = std::move(task);
}

void CallMedia::stop() {
  // The tick never takes lifeMutex, so holding it while waiting for the tick is safe; it keeps a
  // concurrent start() from running a new tick while the final figures are taken.
  std::lock_guard<std::mutex> lock(impl_->lifeMutex);
  std::shared_ptr<MediaEngine::Task> task;
  {
    std::lock_guard<std::mutex> taskLock(impl_->taskMutex);
    task = std::move(impl_->task);
  }
  if (!task) return;
  task->cancel();  // waits for a tick in progress
  Impl& s = *impl_;
  s.counters.ticks += task->ticks();
  s.counters.lateTicks += task->lateTicks();
  s.counters.skippedTicks += task->skippedTicks();
  s.counters.maxTickLatenessUs = std::max(s.counters.maxTickLatenessUs, task->maxLatenessUs());
  s.publish(MediaEngine::nowUs());
}

bool CallMedia::running() const {
  std::lock_guard<std::mutex> lock(impl_->taskMutex);
  return impl_->task != nullptr;
}

void CallMedia::incomingRtp(const std::uint8_t* data, std::size_t size) {
  impl_->enqueue(data, size, false);
}

void CallMedia::incomingRtcp(const std::uint8_t* data, std::size_t size) {
  impl_->enqueue(data, size, true);
}

void CallMedia::incoming(const std::uint8_t* data, std::size_t size) {
  impl_->enqueue(data, size, media::isRtcp(data, size));
}

void CallMedia::setAudioSource(std::shared_ptr<AudioSource> source) {
  std::lock_guard<std::mutex> lock(impl_->ctlMutex);
  impl_->ctl.audioSource = std::move(source);
}

void CallMedia::setAudioSink(std::shared_ptr<AudioSink> sink) {
  std::lock_guard<std::mutex> lock(impl_->ctlMutex);
  impl_->ctl.audioSink = std::move(sink);
}

void CallMedia::setVideoSource(std::shared_ptr<VideoSource> source) {
  std::lock_guard<std::mutex> lock(impl_->ctlMutex);
  impl_->ctl.videoSource = std::move(source);
}

void CallMedia::setVideoSink(std::shared_ptr<VideoSink> sink) {
  std::lock_guard<std::mutex> lock(impl_->ctlMutex);
  impl_->ctl.videoSink = std::move(sink);
}

void CallMedia::setMuted(Call::Medium medium, Call::Flow flow, bool muted) {
  std::lock_guard<std::mutex> lock(impl_->ctlMutex);
  auto& c = impl_->ctl;
  const bool audio = medium == Call::Medium::Audio;
  const bool sendFlow = flow == Call::Flow::Send;
  (audio ? (sendFlow ? c.muteAudioSend : c.muteAudioReceive)
         : (sendFlow ? c.muteVideoSend : c.muteVideoReceive)) = muted;
  // Unmuting video must give the peer a picture at once.
  if (!audio && sendFlow && !muted) c.keyframe = true;
}

bool CallMedia::muted(Call::Medium medium, Call::Flow flow) const {
  std::lock_guard<std::mutex> lock(impl_->ctlMutex);
  const auto& c = impl_->ctl;
  const bool audio = medium == Call::Medium::Audio;
  const bool sendFlow = flow == Call::Flow::Send;
  return audio ? (sendFlow ? c.muteAudioSend : c.muteAudioReceive)
               : (sendFlow ? c.muteVideoSend : c.muteVideoReceive);
}

void CallMedia::setAudioProcessing(bool echoCancellation, bool noiseSuppression) {
  std::lock_guard<std::mutex> lock(impl_->ctlMutex);
  impl_->ctl.aec = echoCancellation;
  impl_->ctl.ns = noiseSuppression;
}

void CallMedia::requestKeyframe() {
  std::lock_guard<std::mutex> lock(impl_->ctlMutex);
  impl_->ctl.keyframe = true;
}

std::vector<std::uint8_t> CallMedia::byePacket(const std::string& reason) const {
  const CallMediaConfig& c = impl_->cfg;
  std::vector<media::RtcpMessage> msgs;
  media::ReceiverReport rr;
  rr.ssrc = c.audio ? c.localAudioSsrc : c.localVideoSsrc;
  msgs.emplace_back(rr);
  msgs.emplace_back(impl_->sdes());
  media::Bye bye;
  if (c.audio) bye.ssrcs.push_back(c.localAudioSsrc);
  if (c.video) bye.ssrcs.push_back(c.localVideoSsrc);
  bye.reason = reason.substr(0, 255);
  msgs.emplace_back(std::move(bye));
  auto pkt = media::buildRtcp(msgs);
  return pkt ? std::move(pkt).value() : std::vector<std::uint8_t>{};
}

CallStats CallMedia::stats() const {
  std::lock_guard<std::mutex> lock(impl_->statsMutex);
  return impl_->published;
}

CallMediaCounters CallMedia::counters() const {
  CallMediaCounters c;
  {
    std::lock_guard<std::mutex> lock(impl_->statsMutex);
    c = impl_->publishedCounters;
  }
  std::shared_ptr<MediaEngine::Task> task;
  {
    std::lock_guard<std::mutex> lock(impl_->taskMutex);
    task = impl_->task;
  }
  if (task) {
    c.ticks += task->ticks();
    c.lateTicks += task->lateTicks();
    c.skippedTicks += task->skippedTicks();
    c.maxTickLatenessUs = std::max(c.maxTickLatenessUs, task->maxLatenessUs());
  }
  return c;
}

}  // namespace tern::impl
