// tern-call: places an audio (or audio + video) call to an XMPP contact, or
// waits for one and answers it. Audio comes from a WAV file or a generated
// tone, video from a Y4M file or a generated test pattern; what arrives is
// written to WAV / Y4M. Prints statistics once a second. A connected call outlives
// the XMPP connection (media and hang-up go peer to peer); it does not log in again.
#include "common.hpp"
#include "media_files.hpp"

#include "tern/media/tone.hpp"


#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>

using namespace samples;

namespace {

/// A sine tone, or a 48 kHz WAV file played in a loop.
class Microphone : public tern::AudioSource {
public:
    explicit Microphone(double hz) : tone_(hz, 0.3, 1) {}
    explicit Microphone(std::vector<std::int16_t> pcm, int channels) : pcm_(std::move(pcm)), channels_(channels) {}
    tern::AudioFormat format() const override { return {48000, 1, 20}; }
    void readAudio(std::int16_t* out, std::size_t n) override {
        if (pcm_.empty()) {
            tone_.generate(out, n);
            return;
        }
        std::size_t frames = pcm_.size() / static_cast<std::size_t>(channels_);
        for (std::size_t i = 0; i < n; ++i) {
            out[i] = pcm_[pos_ * static_cast<std::size_t>(channels_)];  // first channel
            pos_ = (pos_ + 1) % frames;
        }
    }

private:
    tern::media::ToneGenerator tone_{440, 0.3, 1};
    std::vector<std::int16_t> pcm_;
    int channels_ = 1;
    std::size_t pos_ = 0;
};

/// Writes what it hears to a WAV file (if any) and counts frames.
class Speaker : public tern::AudioSink {
public:
    explicit Speaker(std::optional<tern::samples::WavWriter> wav) : wav_(std::move(wav)) {}
    tern::AudioFormat format() const override { return {48000, 1, 20}; }
    void writeAudio(const std::int16_t* pcm, std::size_t n, const tern::AudioFrameInfo& info) override {
        frames++;
        if (info.concealed) concealed++;
        if (wav_) (void)wav_->write(pcm, n);
    }
    void close() {
        if (wav_) (void)wav_->close();
    }
    std::atomic<std::uint64_t> frames{0}, concealed{0};

private:
    std::optional<tern::samples::WavWriter> wav_;
};

/// A test pattern carrying a frame counter, or a Y4M file played in a loop.
class Camera : public tern::VideoSource {
public:
    Camera(int w, int h, int fps) : w_(w), h_(h), fps_(fps), pattern_(w, h) {}
    explicit Camera(std::vector<tern::samples::I420Picture> frames, int fps)
        : w_(frames.at(0).width), h_(frames.at(0).height), fps_(fps), pattern_(w_, h_), file_(std::move(frames)) {}
    tern::VideoFormat format() const override { return {w_, h_, fps_}; }
    bool readVideo(tern::VideoBuffer& b) override {
        const std::uint8_t* y;
        const std::uint8_t* u;
        const std::uint8_t* v;
        int sy, su, sv;
        tern::media::VideoFrame generated(1, 1);
        if (file_.empty()) {
            generated = pattern_.generate(counter_++);
            y = generated.dataY();
            u = generated.dataU();
            v = generated.dataV();
            sy = generated.strideY();
            su = generated.strideU();
            sv = generated.strideV();
        } else {
            const auto& p = file_[counter_++ % file_.size()];
            y = p.data.data();
            u = y + static_cast<std::size_t>(w_) * static_cast<std::size_t>(h_);
            v = u + static_cast<std::size_t>((w_ + 1) / 2) * static_cast<std::size_t>((h_ + 1) / 2);
            sy = w_;
            su = sv = (w_ + 1) / 2;
        }
        for (int r = 0; r < h_; ++r) std::memcpy(b.y + r * b.strideY, y + r * sy, static_cast<std::size_t>(w_));
        for (int r = 0; r < (h_ + 1) / 2; ++r) {
            std::memcpy(b.u + r * b.strideU, u + r * su, static_cast<std::size_t>((w_ + 1) / 2));
            std::memcpy(b.v + r * b.strideV, v + r * sv, static_cast<std::size_t>((w_ + 1) / 2));
        }
        return true;
    }

private:
    int w_, h_, fps_;
    tern::media::VideoPattern pattern_;
    std::vector<tern::samples::I420Picture> file_;
    std::uint32_t counter_ = 0;
};

/// Writes the pictures it gets to a Y4M file (if any) and counts them.
class Screen : public tern::VideoSink {
public:
    explicit Screen(std::string path, int fps) : path_(std::move(path)), fps_(fps) {}
    void writeVideo(const tern::VideoFrame& f) override {
        frames++;
        if (path_.empty()) return;
        if (!y4m_ || f.width != w_ || f.height != h_) {
            if (y4m_) return;  // keep the first size: Y4M has one
            auto w = tern::samples::Y4mWriter::create(path_, f.width, f.height, fps_, 1);
            if (!w) return;
            y4m_.emplace(std::move(w.value()));
            w_ = f.width;
            h_ = f.height;
        }
        tern::samples::I420Picture p;
        p.width = f.width;
        p.height = f.height;
        int cw = (f.width + 1) / 2, ch = (f.height + 1) / 2;
        p.data.resize(static_cast<std::size_t>(f.width * f.height + 2 * cw * ch));
        std::uint8_t* out = p.data.data();
        for (int r = 0; r < f.height; ++r, out += f.width) std::memcpy(out, f.y + r * f.strideY, static_cast<std::size_t>(f.width));
        for (int r = 0; r < ch; ++r, out += cw) std::memcpy(out, f.u + r * f.strideU, static_cast<std::size_t>(cw));
        for (int r = 0; r < ch; ++r, out += cw) std::memcpy(out, f.v + r * f.strideV, static_cast<std::size_t>(cw));
        (void)y4m_->write(p);
    }
    void close() {
        if (y4m_) (void)y4m_->close();
    }
    std::atomic<std::uint64_t> frames{0};

private:
    std::string path_;
    int fps_;
    int w_ = 0, h_ = 0;
    std::optional<tern::samples::Y4mWriter> y4m_;
};

int exitCodeForEnd(tern::CallEndReason r) {
    switch (r) {
    case tern::CallEndReason::HungUp:
    case tern::CallEndReason::RemoteHungUp:
    case tern::CallEndReason::RejectedHere:
    case tern::CallEndReason::AnsweredElsewhere:
    case tern::CallEndReason::RejectedElsewhere: return kOk;
    case tern::CallEndReason::Rejected: return kDeclined;
    case tern::CallEndReason::Retracted: return kCancelled;
    case tern::CallEndReason::Unavailable: return kPeerUnavailable;
    case tern::CallEndReason::NoAnswer: return kTimeout;
    case tern::CallEndReason::NoIcePath: return kNoIcePath;
    case tern::CallEndReason::Security: return kSecurity;
    case tern::CallEndReason::MediaFailed: return kNoFeature;
    case tern::CallEndReason::ConnectionLost: return kPeerGone;
    case tern::CallEndReason::Failed: return kFailed;
    }
    return kFailed;
}

std::string statsLine(const tern::CallStats& s) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "stats: %.0f s, rtt %.1f ms, path %s, audio out %.0f kbit/s in %.0f kbit/s, lost %llu (%.1f%%), "
                  "jitter %.1f ms, buffer %.0f ms, concealed %llu, fec %llu, video out %.0f kbit/s in %.0f kbit/s %dx%d",
                  s.secondsConnected, s.rttMs, describeRoute(s.route).c_str(), s.audioSend.bitrateKbps,
                  s.audioReceive.bitrateKbps, static_cast<unsigned long long>(s.audioReceive.packetsLost),
                  s.audioReceive.fractionLost * 100, s.audioReceive.jitterMs, s.audioReceive.jitterBufferMs,
                  static_cast<unsigned long long>(s.audioReceive.framesConcealed),
                  static_cast<unsigned long long>(s.audioReceive.framesRecovered), s.videoSend.bitrateKbps,
                  s.videoReceive.bitrateKbps, s.videoReceive.width, s.videoReceive.height);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Place or answer a peer-to-peer audio/video call with an XMPP contact (Jingle RTP over ICE/DTLS-SRTP)."};
    app.footer(kExitCodeHelp);
    AccountOptions account;
    addAccountOptions(app, account);
    std::string peer, audioIn, audioOut, videoIn, videoOut;
    double tone = 0, duration = 0, answerAfter = 0;
    bool video = false, reject = false, quiet = false, noProcessing = false;
    int timeout = 0, width = 640, height = 480, fps = 30;
    app.add_option("peer", peer, "whom to call: a JID or an xmpp: URI (none: wait for a call and answer it)");
    app.add_flag("--video", video, "call with video (callee: also accept video)");
    app.add_option("--tone", tone, "send a sine tone of this frequency in Hz (default 440 caller, 880 callee)");
    app.add_option("--audio-in", audioIn, "send this 48 kHz 16-bit WAV file (looped) instead of a tone");
    app.add_option("--audio-out", audioOut, "write the received audio to this WAV file");
    app.add_option("--video-in", videoIn, "send this Y4M file (looped) instead of the test pattern");
    app.add_option("--video-out", videoOut, "write the received video to this Y4M file");
    app.add_option("--size", width, "test pattern width (height = 3/4 of it)");
    app.add_option("--fps", fps, "video frame rate");
    app.add_option("--duration", duration, "hang up after this many seconds of connected call (0: until the peer hangs up or Ctrl-C)");
    app.add_flag("--no-audio-processing", noProcessing, "no echo cancellation or noise suppression (for music and test tones)");
    app.add_option("--answer-after", answerAfter, "callee: let the call ring this many seconds before answering");
    app.add_flag("--reject", reject, "callee: reject the incoming call");
    app.add_flag("--quiet", quiet, "no statistics lines");
    app.add_option("--timeout", timeout, "give up after this many seconds in all (0: never)");
    if (auto rc = parseCommandLine(app, argc, argv, account, "tern-call")) return *rc;
    height = width * 3 / 4;
    bool caller = !peer.empty();
    if (tone <= 0) tone = caller ? 440 : 880;

    std::shared_ptr<Microphone> mic;
    if (!audioIn.empty()) {
        auto wav = tern::samples::WavReader::open(audioIn);
        if (!wav) {
            std::fprintf(stderr, "tern-call: %s: %s\n", audioIn.c_str(), wav.error().message.c_str());
            return kBadArguments;
        }
        if (wav.value().info().sample_rate != 48000) {
            std::fprintf(stderr, "tern-call: %s: only 48000 Hz WAV files are supported\n", audioIn.c_str());
            return kBadArguments;
        }
        int channels = wav.value().info().channels;
        auto pcm = wav.value().readAll();
        if (!pcm || pcm.value().empty()) {
            std::fprintf(stderr, "tern-call: %s: no audio\n", audioIn.c_str());
            return kBadArguments;
        }
        mic = std::make_shared<Microphone>(std::move(pcm.value()), channels);
    } else {
        mic = std::make_shared<Microphone>(tone);
    }
    std::optional<tern::samples::WavWriter> wavOut;
    if (!audioOut.empty()) {
        auto w = tern::samples::WavWriter::create(audioOut, 48000, 1);
        if (!w) {
            std::fprintf(stderr, "tern-call: %s: %s\n", audioOut.c_str(), w.error().message.c_str());
            return kIo;
        }
        wavOut.emplace(std::move(w.value()));
    }
    auto speaker = std::make_shared<Speaker>(std::move(wavOut));
    std::shared_ptr<Camera> camera;
    if (!videoIn.empty()) {
        auto r = tern::samples::Y4mReader::open(videoIn);
        if (!r) {
            std::fprintf(stderr, "tern-call: %s: %s\n", videoIn.c_str(), r.error().message.c_str());
            return kBadArguments;
        }
        std::vector<tern::samples::I420Picture> frames;
        while (frames.size() < 300) {
            auto f = r.value().readFrame();
            if (!f || !f.value()) break;
            frames.push_back(std::move(*f.value()));
        }
        if (frames.empty()) {
            std::fprintf(stderr, "tern-call: %s: no frames\n", videoIn.c_str());
            return kBadArguments;
        }
        camera = std::make_shared<Camera>(std::move(frames), fps);
    } else {
        camera = std::make_shared<Camera>(width, height, fps);
    }
    auto screen = std::make_shared<Screen>(videoOut, fps);
    installSignalHandlers();

    Session session(account);
    SubscriptionApprover approver(session.client());
    session.client().registerSubscriptionHandler(&approver);
    if (!session.login(std::chrono::seconds(20))) {
        std::fprintf(stderr, "tern-call: %s\n", session.error().c_str());
        return kLoginFailed;
    }
    std::printf("tern-call: logged in as %s\n", session.client().jid().full().c_str());
    std::fflush(stdout);

    std::shared_ptr<tern::Call> call;
    std::optional<int> exitCode;
    std::chrono::steady_clock::time_point connectedAt{}, lastStats{};
    std::optional<std::chrono::steady_clock::time_point> answerAt;
    // Set-up time: from placing the call (caller) or answering it (callee) to media flowing.
    std::chrono::steady_clock::time_point setupFrom = std::chrono::steady_clock::now();
    auto answer = [&] {
        answerAt.reset();
        setupFrom = std::chrono::steady_clock::now();
        auto a = call->accept(tern::CallMedia{true, video && call->media().video});
        if (!a) {
            std::fprintf(stderr, "tern-call: cannot accept: %s\n", a.error().message.c_str());
            exitCode = kFailed;
        }
    };
    bool summarized = false;
    auto printSummary = [&] {
        if (summarized) return;
        summarized = true;
        std::printf("tern-call: audio frames played %llu, concealed %llu; video frames shown %llu\n",
                    static_cast<unsigned long long>(speaker->frames.load()),
                    static_cast<unsigned long long>(speaker->concealed.load()),
                    static_cast<unsigned long long>(screen->frames.load()));
        std::fflush(stdout);
    };
    auto attach = [&](const std::shared_ptr<tern::Call>& c) {
        c->setAudioSource(mic);
        c->setAudioSink(speaker);
        c->setVideoSource(camera);
        c->setVideoSink(screen);
        if (noProcessing) c->setAudioProcessing(false, false);
        c->onStateChanged([&, c](tern::CallState s) {
            std::printf("tern-call: %s\n", tern::toString(s));
            if (s == tern::CallState::Connected) {
                connectedAt = std::chrono::steady_clock::now();
                auto st = c->stats();
                auto setupMs = std::chrono::duration_cast<std::chrono::milliseconds>(connectedAt - setupFrom).count();
                std::printf("tern-call: connected with %s in %lld ms, path %s, srtp %s\n", c->peer().c_str(),
                            static_cast<long long>(setupMs), describeRoute(st.route).c_str(), st.srtpProfile.c_str());
            }
            std::fflush(stdout);
        });
        c->onEnded([&, c](const tern::CallEnd& e) {
            std::printf("tern-call: ended (%s): %s\n", tern::toString(e.reason), e.text.c_str());
            printSummary();
            exitCode = exitCodeForEnd(e.reason);
        });
        c->onRemoteMute([](tern::Call::Medium m, bool muted) {
            std::printf("tern-call: peer %s its %s\n", muted ? "muted" : "unmuted", m == tern::Call::Medium::Audio ? "audio" : "video");
        });
    };

    if (caller) {
        setupFrom = std::chrono::steady_clock::now();
        auto r = session.engine().call(peer, tern::CallMedia{true, video});
        if (!r) {
            std::fprintf(stderr, "tern-call: %s\n", r.error().message.c_str());
            return exitCodeFor(r.error().category);
        }
        call = r.value();
        attach(call);
        std::printf("tern-call: calling %s\n", peer.c_str());
        std::fflush(stdout);
    } else {
        std::printf("tern-call: waiting for a call\n");
        std::fflush(stdout);
        session.engine().onIncomingCall([&](std::shared_ptr<tern::Call> c) {
            if (call) {
                c->reject();
                return;
            }
            std::printf("tern-call: incoming call from %s (%s)\n", c->peer().c_str(), c->media().video ? "audio+video" : "audio");
            std::fflush(stdout);
            if (reject) {
                c->reject();
                std::printf("tern-call: rejected\n");
                exitCode = kOk;
                return;
            }
            call = c;
            attach(call);
            if (answerAfter > 0)
                answerAt = std::chrono::steady_clock::now() +
                           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(answerAfter));
            else
                answer();
        });
    }

    auto start = std::chrono::steady_clock::now();
    bool xmppLost = false;
    while (!exitCode) {
        auto now = std::chrono::steady_clock::now();
        if (interrupted()) {
            if (call) call->hangUp();
            std::fprintf(stderr, "tern-call: hung up\n");
            exitCode = kCancelled;
            break;
        }
        if (timeout > 0 && now - start > std::chrono::seconds(timeout)) {
            if (call) call->hangUp();
            std::fprintf(stderr, "tern-call: timed out after %d s\n", timeout);
            exitCode = kTimeout;
            break;
        }
        if (answerAt && now >= *answerAt && call && call->state() == tern::CallState::Ringing) answer();
        if (call && call->state() == tern::CallState::Connected) {
            if (!quiet && now - lastStats >= std::chrono::seconds(1)) {
                lastStats = now;
                std::printf("tern-call: %s\n", statsLine(call->stats()).c_str());
                std::fflush(stdout);
            }
            if (duration > 0 && now - connectedAt >= std::chrono::duration<double>(duration)) {
                std::printf("tern-call: %s\n", statsLine(call->stats()).c_str());
                call->hangUp();
                std::printf("tern-call: hung up after %.1f s\n", duration);
                exitCode = kOk;
                break;
            }
        }
        if (!session.pump(std::chrono::milliseconds(50)) && !xmppLost) {
            xmppLost = true;
            // A connected call needs no server: media, and a hang-up (DTLS close), go peer to
            // peer. Anything else still needs signaling, which is gone.
            if (call && call->state() == tern::CallState::Connected && !exitCode) {
                std::fprintf(stderr, "tern-call: lost the XMPP connection: %s; the call goes on peer to peer\n",
                             session.error().c_str());
                continue;
            }
            std::fprintf(stderr, "tern-call: lost the XMPP connection: %s\n", session.error().c_str());
            if (!exitCode) exitCode = kFailed;
            break;
        }
    }
    if (call) {
        call->hangUp();
        if (connectedAt != std::chrono::steady_clock::time_point{}) printSummary();
    }
    for (int i = 0; i < 5; ++i) session.pump(std::chrono::milliseconds(20));
    call.reset();
    speaker->close();
    screen->close();
    std::fflush(stdout);
    return *exitCode;
}
