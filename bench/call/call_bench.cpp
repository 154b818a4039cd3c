// tern-bench-call: end-to-end call benchmarks on loopback through a real XMPP server (started by
// `scripts/bench call`). Both ends run in this process, each on its own Endpoint (gloox client +
// tern::Engine on its own thread), so that one steady clock times both ends.
//
//   setup  call set-up: from Engine::call(), and from the moment the session-initiate stanza
//          left the caller, to the first decoded (neither concealed nor silence) audio frame
//          handed to the callee's AudioSink. Baseline: XEP-0199 ping round trip between the two
//          clients through the same server.
//   m2e    mouth-to-ear latency of audio bursts (see media_probes.hpp for the time model).
//   legs   concurrent full-duplex Opus call legs (a call between the two Engines has two legs,
//          one at each end, each encoding what it sends and decoding what it receives), added
//          in steps until a step shows late frames. Baseline: raw libopus encode + decode at
//          the same settings, and the engine's capture processing (AEC + NS) per frame.
//   vp8    CPU share of one 640x480 30 fps VP8 + Opus call (both ends in this process).
//          Baseline: raw libvpx encode + decode of the same pictures at the same settings.
//
// Prints a table per benchmark; the last line of output is one JSON object with every figure.
// Exit code 0 when every benchmark ran (whether or not it met its target), 1 otherwise.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <tern/media/tone.hpp>
#include <thread>

#include "endpoint.hpp"
#include "media_probes.hpp"
#include "raw_codecs.hpp"

using namespace tern::bench;
using namespace std::chrono_literals;

namespace {

// ---------------------------------------------------------------------------------------------
// Small helpers

struct Summary {
  std::size_t n = 0;
  double median = 0, p90 = 0, min = 0, max = 0, mean = 0;
};

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = v.size();
  s.median = quantile(v, 0.5);
  s.p90 = quantile(v, 0.9);
  s.min = v.front();
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

/// The last line of output: one flat JSON object.
class Json {
 public:
  void num(const std::string& key, double v, int decimals = 2) {
    char buf[64];
    if (!std::isfinite(v))
      std::snprintf(buf, sizeof buf, "null");
    else
      std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    fields_.emplace_back(key, buf);
  }
  void integer(const std::string& key, long long v) {
    fields_.emplace_back(key, std::to_string(v));
  }
  void boolean(const std::string& key, bool v) { fields_.emplace_back(key, v ? "true" : "false"); }
  void str(const std::string& key, const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    fields_.emplace_back(key, out + "\"");
  }
  void summary(const std::string& prefix, const Summary& s) {
    integer(prefix + "_n", static_cast<long long>(s.n));
    num(prefix + "_median_ms", s.median);
    num(prefix + "_p90_ms", s.p90);
  }
  std::string text() const {
    std::string out = "{";
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (i) out += ',';
      out += "\"" + fields_[i].first + "\":" + fields_[i].second;
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// Process CPU time and machine-wide CPU time (all cores, /proc/stat) at one moment.
struct CpuSnapshot {
  Clock::time_point wall;
  double processS = 0;
  double machineBusyS = 0;
};

CpuSnapshot cpuNow() {
  CpuSnapshot s;
  s.wall = Clock::now();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.processS = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) {
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    s.machineBusyS = static_cast<double>(user + nice + system + irq + softirq + steal) / tick;
  }
  return s;
}

struct CpuUse {
  double wallS = 0;
  double processCores = 0;  ///< CPU seconds of this process per wall second (1.0 = one core)
  double othersCores = 0;   ///< the rest of the machine, same unit
};

CpuUse cpuBetween(const CpuSnapshot& a, const CpuSnapshot& b) {
  CpuUse u;
  u.wallS = std::chrono::duration<double>(b.wall - a.wall).count();
  if (u.wallS <= 0) return u;
  u.processCores = (b.processS - a.processS) / u.wallS;
  u.othersCores = std::max(0.0, (b.machineBusyS - a.machineBusyS) / u.wallS - u.processCores);
  return u;
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

/// CPU seconds of each thread of this process (/proc/self/task/*/stat), by thread id.
std::map<int, double> threadCpu() {
  std::map<int, double> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream list;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) stime = std::atof(field.c_str());
    }
    out[std::atoi(entry.path().filename().c_str())] = (utime + stime) / tick;
  }
  return out;
}

/// The busiest threads between two threadCpu() readings, in cores (1.0 = one core), best first.
std::vector<double> busiestThreads(const std::map<int, double>& a, const std::map<int, double>& b,
                                   double wallS, std::size_t count) {
  std::vector<double> shares;
  for (const auto& [tid, cpu] : b) {
    auto it = a.find(tid);
    shares.push_back((cpu - (it == a.end() ? 0.0 : it->second)) / wallS);
  }
  std::sort(shares.rbegin(), shares.rend());
  if (shares.size() > count) shares.resize(count);
  return shares;
}

// ---------------------------------------------------------------------------------------------
// The two ends

struct Options {
  Account caller, callee;
  int setupRuns = 20;
  int pings = 20;
  double m2eSeconds = 6;
  bool m2eBothModes = true;
  int legsStep = 20;
  int legsMax = 160;
  int legsBatch = 4;
  double legsSettle = 2;
  double legsWindow = 3;
  double lateMs = 10;
  int retries = 2;
  bool legsBothModes = true;
  double videoSeconds = 8;
  std::vector<std::string> only;
  bool trace = false;
  bool wants(const std::string& what) const {
    return only.empty() || std::find(only.begin(), only.end(), what) != only.end();
  }
};

/// Caller and callee Endpoints, the calls each holds (touched on its own thread only) and the
/// times session-initiate stanzas left the caller.
class Harness {
 public:
  explicit Harness(const Options& o)
      : trace_(o.trace),
        caller_(o.caller, engineConfig(this),
                [this](const std::string& xml, Clock::time_point t, bool out) {
                  stanza("caller", xml, t, out);
                }),
        callee_(o.callee, engineConfig(this), calleeHook(o.trace)) {}
  // The engines' log and stanza hooks point here: stop them before the members go.
  ~Harness() { stop(); }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  bool start(std::string& error) {
    if (!caller_.start(20s)) {
      error = "caller: " + caller_.error();
      return false;
    }
    if (!callee_.start(20s)) {
      error = "callee: " + callee_.error();
      return false;
    }
    callee_.run([this](tern::Engine& e) {
      e.onIncomingCall([this](std::shared_ptr<tern::Call> c) {
        std::function<void(std::shared_ptr<tern::Call>)> plan;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          plan = plan_;
        }
        if (!plan) {
          c->reject();
          return;
        }
        calleeCalls_.push_back(c);
        plan(c);
      });
    });
    return true;
  }
  void stop() {
    dropCalls();
    callee_.stop();
    caller_.stop();
  }

  Endpoint& caller() { return caller_; }
  Endpoint& callee() { return callee_; }
  /// The callee's answer to incoming calls (runs on the callee's thread); empty: reject.
  void onIncoming(std::function<void(std::shared_ptr<tern::Call>)> plan) {
    std::lock_guard<std::mutex> lock(mutex_);
    plan_ = std::move(plan);
  }
  /// The callee's first call (callee's thread only), or null.
  std::shared_ptr<tern::Call> calleeCall() {
    return calleeCalls_.empty() ? nullptr : calleeCalls_.front();
  }
  /// Caller's thread only.
  std::vector<std::shared_ptr<tern::Call>>& callerCalls() { return callerCalls_; }

  std::optional<Clock::time_point> initiateSent(const std::string& sid) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = initiates_.find(sid);
    if (it == initiates_.end()) return std::nullopt;
    return it->second;
  }

  /// --trace: stanzas of both ends since the last call, with `events`, in time order from t0.
  void printTimeline(Clock::time_point t0,
                     std::vector<std::pair<Clock::time_point, std::string>> events) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      events.insert(events.end(), timeline_.begin(), timeline_.end());
      timeline_.clear();
    }
    std::sort(events.begin(), events.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& e : events)
      std::printf("  %8.2f ms  %s\n", msBetween(t0, e.first), e.second.c_str());
  }
  void clearTimeline() {
    std::lock_guard<std::mutex> lock(mutex_);
    timeline_.clear();
  }

  /// Hangs up every call (from the caller's side) and waits until the callee saw them end.
  void hangUpAll(std::chrono::milliseconds timeout) {
    caller_.run([this](tern::Engine&) {
      for (auto& c : callerCalls_) c->hangUp();
    });
    auto deadline = Clock::now() + timeout;
    for (;;) {
      std::size_t live = 0;
      callee_.run([&](tern::Engine&) {
        for (auto& c : calleeCalls_)
          if (c->state() != tern::CallState::Ended) ++live;
      });
      if (live == 0 || Clock::now() > deadline) break;
      std::this_thread::sleep_for(20ms);
    }
    dropCalls();
  }

  void dropCalls() {
    caller_.run([this](tern::Engine&) { callerCalls_.clear(); });
    callee_.run([this](tern::Engine&) { calleeCalls_.clear(); });
  }

 private:
  static tern::Config engineConfig(Harness* self) {
    tern::Config c;
    c.localAddresses = {"127.0.0.1"};
    c.log = [self](tern::LogLevel level, const std::string& message) {
      if (level >= tern::LogLevel::Warning) std::fprintf(stderr, "tern: %s\n", message.c_str());
      if (self->trace_) {
        const auto now = Clock::now();
        std::lock_guard<std::mutex> lock(self->mutex_);
        self->timeline_.push_back({now, "engine log: " + message.substr(0, 200)});
      }
    };
    return c;
  }

  Endpoint::StanzaHook calleeHook(bool trace) {
    if (!trace) return {};
    return [this](const std::string& xml, Clock::time_point t, bool out) {
      stanza("callee", xml, t, out);
    };
  }

  void stanza(const char* who, const std::string& xml, Clock::time_point t, bool out) {
    if (trace_) {
      std::lock_guard<std::mutex> lock(mutex_);
      timeline_.push_back({t, std::string(who) + (out ? " sent " : " got  ") + xml.substr(0, 230)});
    }
    if (!out || std::string(who) != "caller") return;
    if (xml.find("session-initiate") == std::string::npos) return;
    auto at = xml.find("sid=");
    if (at == std::string::npos || at + 5 >= xml.size()) return;
    const char quote = xml[at + 4];
    auto end = xml.find(quote, at + 5);
    if (end == std::string::npos) return;
    std::lock_guard<std::mutex> lock(mutex_);
    initiates_.emplace(xml.substr(at + 5, end - at - 5), t);
  }

  bool trace_;
  Endpoint caller_;
  Endpoint callee_;
  std::mutex mutex_;
  std::vector<std::pair<Clock::time_point, std::string>> timeline_;
  std::function<void(std::shared_ptr<tern::Call>)> plan_;
  std::map<std::string, Clock::time_point> initiates_;
  std::vector<std::shared_ptr<tern::Call>> callerCalls_;  // caller's thread
  std::vector<std::shared_ptr<tern::Call>> calleeCalls_;  // callee's thread
};

/// Places one call from the caller; `attach` runs on the caller's thread right after call().
/// Returns the call id and the time just before Engine::call(), or nullopt.
std::optional<std::pair<std::string, Clock::time_point>> placeCall(
    Harness& h, const std::string& to, tern::CallMedia media,
    const std::function<void(tern::Call&)>& attach, std::string& error) {
  std::optional<std::pair<std::string, Clock::time_point>> out;
  h.caller().run([&](tern::Engine& e) {
    const auto t = Clock::now();
    auto r = e.call(to, media);
    if (!r) {
      error = r.error().message;
      return;
    }
    auto c = r.value();
    attach(*c);
    h.callerCalls().push_back(c);
    out.emplace(c->id(), t);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// setup

struct SetupResult {
  bool ok = false;
  Summary fromCall, fromInitiate, initiateToConnected, connectedToAudio, ping;
};

/// `prefix` names the JSON fields, `socket` says how the XMPP sockets are set up.
SetupResult benchSetup(Harness& h, const Options& o, Json& json, const std::string& prefix,
                       const char* socket) {
  SetupResult res;
  std::vector<double> pings;
  for (int i = 0; i < o.pings; ++i) {
    if (auto p = h.caller().pingMs(o.callee.jid, 5000ms)) pings.push_back(*p);
  }
  res.ping = summarize(pings);

  std::vector<double> fromCall, fromInitiate, toConnected, connectedToAudio;
  // Run 0 warms up (first use of the media threads, codecs, TURN allocation paths): not counted.
  for (int run = 0; run <= o.setupRuns; ++run) {
    auto sink = std::make_shared<FrameSink>();
    auto calleeSource = std::make_shared<ToneSource>(2);
    auto callerSource = std::make_shared<ToneSource>(1);
    auto connected = std::make_shared<std::optional<Clock::time_point>>();
    auto connectedMutex = std::make_shared<std::mutex>();
    h.onIncoming([=](std::shared_ptr<tern::Call> c) {
      c->setAudioSource(calleeSource);
      c->setAudioSink(sink);
      c->onStateChanged([=](tern::CallState s) {
        if (s != tern::CallState::Connected) return;
        std::lock_guard<std::mutex> lock(*connectedMutex);
        *connected = Clock::now();
      });
      if (auto a = c->accept({true, false}); !a) std::fprintf(stderr, "setup: accept failed\n");
    });
    std::string error;
    h.clearTimeline();
    auto placed = placeCall(
        h, o.callee.jid, {true, false}, [&](tern::Call& c) { c.setAudioSource(callerSource); },
        error);
    if (!placed) {
      std::fprintf(stderr, "setup: call failed: %s\n", error.c_str());
      return res;
    }
    auto first = sink->waitFirstDecoded(15000ms);
    if (!first) {
      std::fprintf(stderr, "setup: run %d: no audio reached the callee within 15 s\n", run);
      h.hangUpAll(5000ms);
      return res;
    }
    auto initiate = h.initiateSent(placed->first);
    std::optional<Clock::time_point> conn;
    {
      std::lock_guard<std::mutex> lock(*connectedMutex);
      conn = *connected;
    }
    if (o.trace) {
      std::printf("set-up run %d:\n", run);
      std::vector<std::pair<Clock::time_point, std::string>> events{
          {*first, "callee: first decoded audio frame"}};
      if (conn) events.push_back({*conn, "callee: Connected"});
      h.printTimeline(placed->second, events);
    }
    h.hangUpAll(5000ms);
    if (run == 0) continue;
    fromCall.push_back(msBetween(placed->second, *first));
    if (initiate) fromInitiate.push_back(msBetween(*initiate, *first));
    if (initiate && conn) toConnected.push_back(msBetween(*initiate, *conn));
    if (conn) connectedToAudio.push_back(msBetween(*conn, *first));
  }
  h.onIncoming(nullptr);
  res.fromCall = summarize(fromCall);
  res.fromInitiate = summarize(fromInitiate);
  res.initiateToConnected = summarize(toConnected);
  res.connectedToAudio = summarize(connectedToAudio);
  res.ok = res.fromCall.n == static_cast<std::size_t>(o.setupRuns) &&
           res.fromInitiate.n == static_cast<std::size_t>(o.setupRuns);

  std::printf(
      "\n== Call set-up, %s (%d calls after 1 warm-up, audio only, loopback via "
      "Prosody) ==\n",
      socket, o.setupRuns);
  std::printf("%-58s %9s %9s %9s\n", "interval", "median", "p90", "max");
  auto row = [](const char* name, const Summary& s) {
    std::printf("%-58s %6.1f ms %6.1f ms %6.1f ms\n", name, s.median, s.p90, s.max);
  };
  row("call() -> first decoded frame at callee sink", res.fromCall);
  row("session-initiate sent -> first decoded frame at callee", res.fromInitiate);
  row("  of which session-initiate sent -> callee Connected", res.initiateToConnected);
  row("  of which callee Connected -> first decoded frame", res.connectedToAudio);
  row("baseline: XEP-0199 ping caller -> callee -> caller", res.ping);
  std::printf("target: session-initiate -> first decoded frame at most 50 ms: %s\n",
              res.fromInitiate.median <= 50 ? "met (median)" : "MISSED (median)");
  std::fflush(stdout);

  json.summary(prefix + "_from_call", res.fromCall);
  json.summary(prefix + "_from_initiate", res.fromInitiate);
  json.summary(prefix + "_initiate_to_connected", res.initiateToConnected);
  json.summary(prefix + "_connected_to_audio", res.connectedToAudio);
  json.summary(prefix + "_ping_rtt", res.ping);
  return res;
}

// ---------------------------------------------------------------------------------------------
// m2e

struct M2eResult {
  bool ok = false;
  Summary latency;
  Summary jitterBuffer;  ///< callee's playout delay samples (ms)
  Summary jitter;        ///< RFC 3550 interarrival jitter samples (ms)
  std::size_t bursts = 0;
};

M2eResult benchMouthToEar(Harness& h, const Options& o, Json& json, bool processing,
                          const std::string& prefix) {
  M2eResult res;
  const int periodFrames = 15;  // 300 ms between bursts
  auto source = std::make_shared<BurstSource>(50, periodFrames, 40);
  auto sink = std::make_shared<BurstSink>();
  auto silentSource = std::make_shared<BurstSource>(1 << 30, 1, 0);  // the callee says nothing
  h.onIncoming([=](std::shared_ptr<tern::Call> c) {
    c->setAudioSource(silentSource);
    c->setAudioSink(sink);
    c->setAudioProcessing(processing, processing);
    (void)c->accept({true, false});
  });
  std::string error;
  auto placed = placeCall(
      h, o.callee.jid, {true, false},
      [&](tern::Call& c) {
        c.setAudioSource(source);
        c.setAudioProcessing(processing, processing);
      },
      error);
  if (!placed) {
    std::fprintf(stderr, "m2e: call failed: %s\n", error.c_str());
    return res;
  }
  auto deadline = Clock::now() + 15s;
  while (sink->decodedFrames() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  if (sink->decodedFrames() == 0) {
    std::fprintf(stderr, "m2e: no audio reached the callee\n");
    h.hangUpAll(5000ms);
    return res;
  }
  // The callee's playout delay, sampled every 250 ms (CallStats::audioReceive).
  std::vector<double> buffered, jitter;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(o.m2eSeconds));
  while (Clock::now() < until) {
    std::this_thread::sleep_for(250ms);
    h.callee().run([&](tern::Engine&) {
      if (auto c = h.calleeCall()) {
        auto st = c->stats();
        buffered.push_back(st.audioReceive.jitterBufferMs);
        jitter.push_back(st.audioReceive.jitterMs);
      }
    });
  }
  h.hangUpAll(5000ms);
  h.onIncoming(nullptr);
  res.jitterBuffer = summarize(buffered);
  res.jitter = summarize(jitter);

  const auto mouth = source->mouthTimes();
  const auto ear = sink->earTimes();
  std::vector<double> lat;
  const double periodMs = periodFrames * 20.0;
  for (const auto& e : ear) {
    // The burst it belongs to: the latest one spoken before it, less than a period earlier.
    auto it = std::upper_bound(mouth.begin(), mouth.end(), e);
    if (it == mouth.begin()) continue;
    const double d = msBetween(*std::prev(it), e);
    if (d >= 0 && d < periodMs) lat.push_back(d);
  }
  res.latency = summarize(lat);
  res.bursts = mouth.size();
  res.ok = res.latency.n >= mouth.size() * 3 / 4 && res.latency.n > 0;

  std::printf("\n== Mouth-to-ear on loopback (%zu bursts sent, %zu heard; AEC+NS %s) ==\n",
              mouth.size(), res.latency.n, processing ? "on" : "off");
  std::printf("%-58s %6.1f ms\n", "median", res.latency.median);
  std::printf("%-58s %6.1f ms\n", "p90", res.latency.p90);
  std::printf("%-58s %6.1f ms .. %.1f ms\n", "min .. max", res.latency.min, res.latency.max);
  std::printf("%-58s %6.1f ms (max %.1f ms); interarrival jitter %.2f ms\n",
              "callee's jitter buffer delay (median of samples)", res.jitterBuffer.median,
              res.jitterBuffer.max, res.jitter.median);
  std::printf(
      "includes 20 ms capture framing, Opus, 10 ms tick alignment, the jitter buffer and "
      "20 ms playout framing\n");
  std::printf("target: at most 40 ms: %s\n",
              res.latency.median <= 40 ? "met (median)" : "MISSED (median)");
  std::fflush(stdout);
  json.summary(prefix, res.latency);
  json.integer(prefix + "_bursts_sent", static_cast<long long>(mouth.size()));
  json.num(prefix + "_jitter_buffer_median_ms", res.jitterBuffer.median);
  return res;
}

// ---------------------------------------------------------------------------------------------
// legs

struct Leg {
  std::shared_ptr<ToneSource> source;
  std::shared_ptr<FrameSink> sink;
};

struct StepResult {
  int legs = 0;
  bool held = false;
  std::uint64_t frames = 0, late5 = 0, lateLimit = 0, late20 = 0, concealed = 0, silence = 0;
  double maxLateMs = 0;
  double minPullRatio = 1;  ///< fewest pulls of one source / pulls expected in the window
  CpuUse cpu;
  std::vector<double> busiest;  ///< CPU of the busiest threads (cores), best first
};

StepResult measureStep(const std::vector<Leg>& legs, const std::shared_ptr<Window>& window,
                       const Options& o) {
  for (const auto& l : legs) {
    l.source->clear();
    l.sink->clear();
  }
  StepResult r;
  r.legs = static_cast<int>(legs.size());
  const auto a = cpuNow();
  const auto threadsA = threadCpu();
  window->open = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.legsWindow));
  window->open = false;
  const auto b = cpuNow();
  const auto threadsB = threadCpu();
  std::this_thread::sleep_for(30ms);  // a pull racing with the close has finished recording
  r.cpu = cpuBetween(a, b);
  r.busiest = busiestThreads(threadsA, threadsB, r.cpu.wallS, 3);
  const double expected = o.legsWindow * 1000.0 / 20.0;
  for (const auto& l : legs) {
    const auto pulls = l.source->pulls();
    r.minPullRatio = std::min(r.minPullRatio, static_cast<double>(pulls.size()) / expected);
    if (pulls.empty()) continue;
    // The worker runs on absolute 20 ms deadlines: the earliest offset is the on-time phase.
    std::vector<double> offsets(pulls.size());
    double minOff = 1e18;
    for (std::size_t i = 0; i < pulls.size(); ++i) {
      offsets[i] = msBetween(pulls.front(), pulls[i]) - 20.0 * static_cast<double>(i);
      minOff = std::min(minOff, offsets[i]);
    }
    for (double off : offsets) {
      const double late = off - minOff;
      ++r.frames;
      if (late > 5) ++r.late5;
      if (late > o.lateMs) ++r.lateLimit;
      if (late > 20) ++r.late20;
      r.maxLateMs = std::max(r.maxLateMs, late);
    }
    const auto c = l.sink->counts();
    r.concealed += c.concealed;
    r.silence += c.silence;
  }
  r.held = r.lateLimit == 0 && r.concealed == 0 && r.silence == 0 && r.minPullRatio >= 0.95;
  return r;
}

void printStep(const StepResult& r, const char* note) {
  std::string top;
  for (double t : r.busiest) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%s%.0f", top.empty() ? "" : "/", t * 100);
    top += buf;
  }
  std::printf(
      "%5d %8llu %7llu %7llu %7llu %8.1f %7llu %7llu %7.2f %9.2f %8.2f %7.2f %13s  %s%s\n", r.legs,
      static_cast<unsigned long long>(r.frames), static_cast<unsigned long long>(r.late5),
      static_cast<unsigned long long>(r.lateLimit), static_cast<unsigned long long>(r.late20),
      r.maxLateMs, static_cast<unsigned long long>(r.concealed),
      static_cast<unsigned long long>(r.silence), r.minPullRatio, r.cpu.processCores * 100,
      r.legs ? r.cpu.processCores * 100 / r.legs : 0.0, r.cpu.othersCores, top.c_str(),
      r.held ? "held" : "LATE", note);
  std::fflush(stdout);
}

struct LegsResult {
  bool ok = false;
  int maxHeld = 0;
  double cpuPerLegPct = 0;  ///< at maxHeld
  double othersCores = 0;   ///< at maxHeld
  int firstFailed = 0;      ///< 0: none failed
};

LegsResult rampLegs(Harness& h, const Options& o, bool processing) {
  LegsResult res;
  auto window = std::make_shared<Window>();
  auto legs = std::make_shared<std::vector<Leg>>();
  auto legsMutex = std::make_shared<std::mutex>();
  auto calleeSeed = std::make_shared<std::atomic<std::uint32_t>>(1000000);
  std::uint32_t seed = 10;
  h.onIncoming([=](std::shared_ptr<tern::Call> c) {
    Leg leg{std::make_shared<ToneSource>((*calleeSeed)++, window),
            std::make_shared<FrameSink>(window)};
    c->setAudioSource(leg.source);
    c->setAudioSink(leg.sink);
    c->setAudioProcessing(processing, processing);
    {
      std::lock_guard<std::mutex> lock(*legsMutex);
      legs->push_back(leg);
    }
    (void)c->accept({true, false});
  });
  std::printf("\n-- legs with AEC+NS %s --\n", processing ? "on (engine default)" : "off");
  std::printf("%5s %8s %7s %7s %7s %8s %7s %7s %7s %9s %8s %7s %13s\n", "legs", "frames", ">5ms",
              (">" + std::to_string(static_cast<int>(o.lateMs)) + "ms").c_str(), ">20ms", "max ms",
              "conceal", "silence", "pulls", "proc CPU%", "CPU%/leg", "others", "top thr CPU%");
  int calls = 0;
  bool failed = false;
  for (int target = o.legsStep; target <= o.legsMax && !failed; target += o.legsStep) {
    // Add calls in small batches; each batch must carry audio both ways before the next.
    while (calls * 2 < target) {
      const int batch = std::min(o.legsBatch, (target - calls * 2 + 1) / 2);
      for (int i = 0; i < batch; ++i) {
        Leg leg{std::make_shared<ToneSource>(seed++, window), std::make_shared<FrameSink>(window)};
        std::string error;
        auto placed = placeCall(
            h, o.callee.jid, {true, false},
            [&](tern::Call& c) {
              c.setAudioSource(leg.source);
              c.setAudioSink(leg.sink);
              c.setAudioProcessing(processing, processing);
            },
            error);
        if (!placed) {
          std::fprintf(stderr, "legs: call failed: %s\n", error.c_str());
          failed = true;
          break;
        }
        std::lock_guard<std::mutex> lock(*legsMutex);
        legs->push_back(leg);
        ++calls;
      }
      if (failed) break;
      auto deadline = Clock::now() + 20s;
      for (;;) {
        // Both ends of every call so far (the callee's legs appear when it answers).
        std::size_t known = 0, ready = 0;
        {
          std::lock_guard<std::mutex> lock(*legsMutex);
          known = legs->size();
          for (auto& l : *legs) ready += l.sink->hasDecoded();
        }
        if (known == static_cast<std::size_t>(calls) * 2 && ready == known) break;
        if (Clock::now() > deadline) {
          std::fprintf(stderr, "legs: calls %d: audio did not flow both ways within 20 s\n", calls);
          failed = true;
          break;
        }
        std::this_thread::sleep_for(10ms);
      }
      if (failed) break;
    }
    if (failed) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(o.legsSettle));
    std::vector<Leg> snapshot;
    {
      std::lock_guard<std::mutex> lock(*legsMutex);
      snapshot = *legs;
    }
    StepResult step = measureStep(snapshot, window, o);
    printStep(step, "");
    for (int retry = 0; retry < o.retries && !step.held; ++retry) {
      step = measureStep(snapshot, window, o);
      printStep(step, " (measured again)");
    }
    if (step.held) {
      res.maxHeld = step.legs;
      res.cpuPerLegPct = step.cpu.processCores * 100 / step.legs;
      res.othersCores = step.cpu.othersCores;
    } else {
      res.firstFailed = step.legs;
      break;
    }
  }
  h.hangUpAll(20000ms);
  h.onIncoming(nullptr);
  res.ok = !failed;
  return res;
}

bool benchLegs(Harness& h, const Options& o, Json& json) {
  std::string error;
  auto opus = measureRawOpus(1500, 10, error);
  auto apm = measureAudioProcessingMsPerFrame(1000, error);
  if (!opus || !apm) {
    std::fprintf(stderr, "legs: baseline failed: %s\n", error.c_str());
    return false;
  }
  const double opusMs = opus->encodeMsPerFrame + opus->decodeMsPerFrame;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::printf("\n== Concurrent full-duplex Opus call legs (one process, %u cores) ==\n", cores);
  std::printf(
      "a leg = one end of a call: captures + encodes 20 ms mono Opus (32 kbit/s, complexity "
      "10, FEC) and decodes + plays what it receives\n");
  std::printf("%-58s %6.3f ms (enc %.3f + dec %.3f)\n",
              "baseline: raw libopus encode+decode per 20 ms frame", opusMs, opus->encodeMsPerFrame,
              opus->decodeMsPerFrame);
  std::printf("%-58s %6.3f ms\n", "baseline: AEC+NS (capture + render) per 20 ms frame", *apm);
  std::printf("%-58s %6.1f %%\n", "raw libopus cost of one leg, share of one core",
              opusMs / 20 * 100);
  std::printf("%-58s %6.0f\n", "legs the cores could carry at the raw libopus cost alone",
              cores * 20.0 / opusMs);
  std::printf(
      "a step holds when no 20 ms capture slot starts more than %.0f ms late, no frame is "
      "concealed or silent, every source is pulled >= 95%% of the window, in one of up to %d "
      "windows of %.1f s (other processes on the machine can spoil a window)\n",
      o.lateMs, o.retries + 1, o.legsWindow);
  std::printf("load average before: %s\n", loadAverage().c_str());
  std::fflush(stdout);
  json.num("opus_raw_ms_per_frame", opusMs, 3);
  json.num("opus_raw_encode_ms", opus->encodeMsPerFrame, 3);
  json.num("opus_raw_decode_ms", opus->decodeMsPerFrame, 3);
  json.num("apm_ms_per_frame", *apm, 3);

  bool ok = true;
  auto report = [&](const LegsResult& r, const std::string& prefix, bool processing) {
    std::printf(
        "highest leg count that held (AEC+NS %s): %d%s; CPU per leg there %.2f %% of a core"
        "; target at least 100: %s\n",
        processing ? "on" : "off", r.maxHeld,
        r.firstFailed ? (", failed at " + std::to_string(r.firstFailed)).c_str()
                      : " (no step failed up to the maximum tried)",
        r.cpuPerLegPct, r.maxHeld >= 100 ? "met" : "MISSED");
    // What the cores would carry at that cost with nothing else running: an estimate, printed
    // as one, since other processes on a shared machine take their share.
    const double idleEstimate = r.cpuPerLegPct > 0 ? cores * 100.0 / r.cpuPerLegPct : 0;
    std::printf("  other processes took %.2f cores then; at %.2f %% per leg, %u idle cores would "
                "carry about %.0f legs (estimate, not measured)\n",
                r.othersCores, r.cpuPerLegPct, cores, idleEstimate);
    std::fflush(stdout);
    json.num(prefix + "_idle_cores_estimate", idleEstimate, 0);
    json.integer(prefix + "_max_held", r.maxHeld);
    json.integer(prefix + "_first_failed", r.firstFailed);
    json.num(prefix + "_cpu_pct_per_leg", r.cpuPerLegPct, 3);
    json.num(prefix + "_other_processes_cores", r.othersCores, 2);
    ok = ok && r.ok;
  };
  auto withProcessing = rampLegs(h, o, true);
  report(withProcessing, "legs_aec_ns", true);
  if (o.legsBothModes) {
    auto plain = rampLegs(h, o, false);
    report(plain, "legs_plain", false);
  }
  return ok;
}

// ---------------------------------------------------------------------------------------------
// vp8

bool benchVp8(Harness& h, const Options& o, Json& json) {
  const int w = 640, hgt = 480, fps = 30;
  auto pictures = std::make_shared<std::vector<tern::media::VideoFrame>>();
  tern::media::VideoPattern pattern(w, hgt);
  for (std::uint32_t i = 0; i < 60; ++i) pictures->push_back(pattern.generate(i));

  std::string error;
  auto raw = measureRawVp8(*pictures, fps * 10, fps, 800, error);
  if (!raw) {
    std::fprintf(stderr, "vp8: baseline failed: %s\n", error.c_str());
    return false;
  }
  auto calleeScreen = std::make_shared<CountingScreen>();
  auto callerScreen = std::make_shared<CountingScreen>();
  auto calleeCamera = std::make_shared<PatternCamera>(pictures, fps);
  auto callerCamera = std::make_shared<PatternCamera>(pictures, fps);
  h.onIncoming([=](std::shared_ptr<tern::Call> c) {
    c->setAudioSource(std::make_shared<ToneSource>(2));
    c->setAudioSink(std::make_shared<FrameSink>());
    c->setVideoSource(calleeCamera);
    c->setVideoSink(calleeScreen);
    (void)c->accept({true, true});
  });
  auto placed = placeCall(
      h, o.callee.jid, {true, true},
      [&](tern::Call& c) {
        c.setAudioSource(std::make_shared<ToneSource>(1));
        c.setAudioSink(std::make_shared<FrameSink>());
        c.setVideoSource(callerCamera);
        c.setVideoSink(callerScreen);
      },
      error);
  if (!placed) {
    std::fprintf(stderr, "vp8: call failed: %s\n", error.c_str());
    return false;
  }
  auto deadline = Clock::now() + 20s;
  while ((calleeScreen->frames() == 0 || callerScreen->frames() == 0) && Clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  if (calleeScreen->frames() == 0 || callerScreen->frames() == 0) {
    std::fprintf(stderr, "vp8: video did not flow both ways within 20 s\n");
    h.hangUpAll(5000ms);
    h.onIncoming(nullptr);
    return false;
  }
  std::this_thread::sleep_for(1s);
  const auto f0 = calleeScreen->frames() + callerScreen->frames();
  const auto a = cpuNow();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.videoSeconds));
  const auto b = cpuNow();
  const auto f1 = calleeScreen->frames() + callerScreen->frames();
  tern::CallStats stats;
  h.caller().run([&](tern::Engine&) {
    if (!h.callerCalls().empty()) stats = h.callerCalls().front()->stats();
  });
  h.hangUpAll(5000ms);
  h.onIncoming(nullptr);
  const CpuUse cpu = cpuBetween(a, b);
  const double fpsPerEnd = static_cast<double>(f1 - f0) / 2.0 / cpu.wallS;
  const double perEndPct = cpu.processCores * 100 / 2;
  const double rawPct = (raw->encodeMsPerFrame + raw->decodeMsPerFrame) * fps / 10.0;  // ms/s -> %

  std::printf("\n== One 640x480 30 fps VP8 call (+ Opus), both ends in this process, %.1f s ==\n",
              cpu.wallS);
  std::printf("%-58s %6.1f %% of one core\n", "process CPU (both ends)", cpu.processCores * 100);
  std::printf("%-58s %6.1f %% of one core (%.1f %% of the machine)\n", "per end (half of it)",
              perEndPct, perEndPct / std::max(1u, std::thread::hardware_concurrency()));
  std::printf("%-58s %6.1f fps, %dx%d, sent %.0f kbit/s\n", "pictures shown per end", fpsPerEnd,
              callerScreen->width(), callerScreen->height(), stats.videoSend.bitrateKbps);
  std::printf("%-58s %6.1f %% of one core (enc %.2f + dec %.2f ms/frame, %.0f kbit/s)\n",
              "baseline: raw libvpx encode+decode of the same pictures", rawPct,
              raw->encodeMsPerFrame, raw->decodeMsPerFrame, raw->kbps);
  std::printf("other processes during the window: %.2f cores\n", cpu.othersCores);
  std::fflush(stdout);
  json.num("vp8_process_cpu_pct", cpu.processCores * 100, 1);
  json.num("vp8_per_end_cpu_pct", perEndPct, 1);
  json.num("vp8_fps_per_end", fpsPerEnd, 1);
  json.num("vp8_send_kbps", stats.videoSend.bitrateKbps, 0);
  json.num("vp8_raw_cpu_pct", rawPct, 1);
  json.num("vp8_raw_encode_ms", raw->encodeMsPerFrame, 3);
  json.num("vp8_raw_decode_ms", raw->decodeMsPerFrame, 3);
  json.num("vp8_other_processes_cores", cpu.othersCores, 2);
  return fpsPerEnd > fps * 0.9;
}

void raiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Call benchmarks: set-up time, mouth-to-ear latency, concurrent Opus legs, VP8 CPU "
      "(both ends in this process, through a real XMPP server)."};
  Options o;
  o.caller.jid = "";
  app.add_option("--server", o.caller.host, "XMPP server address")->envname("TERN_XMPP_HOST");
  app.add_option("--port", o.caller.port, "XMPP client port")->envname("TERN_XMPP_PORT");
  app.add_option("--caller", o.caller.jid, "caller's full JID")->required();
  app.add_option("--caller-password", o.caller.password)->required();
  app.add_option("--callee", o.callee.jid, "callee's full JID")->required();
  app.add_option("--callee-password", o.callee.password)->required();
  app.add_option("--only", o.only, "run only these: setup, m2e, legs, vp8")
      ->check(CLI::IsMember({"setup", "m2e", "legs", "vp8"}));
  app.add_option("--setup-runs", o.setupRuns, "calls timed for the set-up figures");
  app.add_option("--pings", o.pings, "XEP-0199 pings for the round-trip baseline");
  app.add_option("--m2e-seconds", o.m2eSeconds, "length of the mouth-to-ear call");
  app.add_option("--m2e-both", o.m2eBothModes, "also measure with AEC+NS off (true/false)");
  app.add_option("--legs-step", o.legsStep, "legs added per step (even)");
  app.add_option("--legs-max", o.legsMax, "stop adding legs here");
  app.add_option("--legs-window", o.legsWindow, "seconds measured per step");
  app.add_option("--legs-settle", o.legsSettle, "seconds between the last call of a step and its window");
  app.add_option("--late-ms", o.lateMs, "a capture slot starting later than this is a late frame");
  app.add_option("--retries", o.retries, "a failed step is measured again this many times");
  app.add_option("--legs-both", o.legsBothModes, "also ramp with AEC+NS off (true/false)");
  app.add_flag("--trace", o.trace, "print the stanza timeline of each set-up call");
  app.add_option("--video-seconds", o.videoSeconds, "seconds of the VP8 call measured");
  CLI11_PARSE(app, argc, argv);
  o.callee.host = o.caller.host;
  o.callee.port = o.caller.port;
  if (o.legsStep < 2 || o.legsStep % 2) o.legsStep = std::max(2, o.legsStep + 1) / 2 * 2;
  raiseFileLimit();

  const auto started = Clock::now();
  Json json;
  json.str("benchmark", "call");
  json.str("load_average_at_start", loadAverage());
  Harness h(o);
  std::string error;
  if (!h.start(error)) {
    std::fprintf(stderr, "tern-bench-call: %s\n", error.c_str());
    json.str("error", error);
    std::printf("%s\n", json.text().c_str());
    return 1;
  }
  std::printf("tern-bench-call: %s calls %s through %s:%d; load average %s\n", o.caller.jid.c_str(),
              o.callee.jid.c_str(), o.caller.host.c_str(), o.caller.port, loadAverage().c_str());
  std::fflush(stdout);
  bool ok = true;
  if (o.wants("setup")) {
    // As an app gets it: the engine sets TCP_NODELAY and TCP_QUICKACK on the client's XMPP
    // socket (Config::tuneXmppSocket); Prosody keeps its default (Nagle on).
    ok = benchSetup(h, o, json, "setup", "engine defaults (TCP_NODELAY + TCP_QUICKACK on the client sockets)").ok &&
         ok;
  }
  if (o.wants("m2e")) {
    std::string error;
    auto onset = measureOnsetDelays(error);
    if (onset) {
      std::printf("\n== Mouth-to-ear baselines: onset delay of the same bursts, no engine ==\n");
      std::printf("%-58s %6.1f ms (%d/%d bursts found)\n",
                  "raw libopus encode+decode (20 ms frames)", onset->opusMs, onset->opusFound,
                  onset->bursts);
      std::printf("%-58s %6.1f ms (%d/%d bursts found)\n",
                  "capture processing AEC+NS (media layer, render silent)", onset->processingMs,
                  onset->processingFound, onset->bursts);
      json.num("m2e_raw_opus_onset_ms", onset->opusMs);
      json.num("m2e_processing_onset_ms", onset->processingMs);
    } else {
      std::fprintf(stderr, "m2e: baseline failed: %s\n", error.c_str());
      ok = false;
    }
    ok = benchMouthToEar(h, o, json, true, "m2e").ok && ok;
    if (o.m2eBothModes) ok = benchMouthToEar(h, o, json, false, "m2e_plain").ok && ok;
  }
  if (o.wants("legs")) ok = benchLegs(h, o, json) && ok;
  if (o.wants("vp8")) ok = benchVp8(h, o, json) && ok;
  h.stop();
  json.num("run_seconds", std::chrono::duration<double>(Clock::now() - started).count(), 1);
  // scripts/bench exports its start (seconds since the epoch): its run time so far, with the
  // build check and the servers' start.
  if (const char* s = std::getenv("TERN_BENCH_STARTED")) {
    const double since =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
        std::atof(s);
    if (since > 0 && since < 86400) json.num("script_seconds", since, 1);
  }
  json.boolean("complete", ok);
  std::printf("%s\n", json.text().c_str());
  return ok ? 0 : 1;
}
