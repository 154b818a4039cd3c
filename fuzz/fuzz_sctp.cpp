// Fuzzes the data-channel end of the transport chain with a hostile-but-authenticated peer:
// two complete stacks (DtlsTransport over an in-memory ICE stand-in, SctpTransport on top,
// RFC 8261 SCTP over DTLS, RFC 8831/8832 data channels) share one NetworkThread. Stack A is
// driven by the input; stack B is the one under test. Both stay up across inputs (a new pair is
// built only when one of them has failed or closed).
//
// Input: a sequence of operations, each one byte followed by its arguments:
//   op % 5 == 0  A opens a channel: label and protocol (1-byte length + bytes each)
//   op % 5 == 1  A sends a message on one of its channels: 2-byte length, bytes; bit 7 of op:
//                text instead of binary
//   op % 5 == 2  A resets (closes) one of its channels
//   op % 5 == 3  a spoofed datagram reaches B's ICE component: 1-byte length + bytes
//                (DTLS-range, SRTP-range or anything: an off-path attacker's packet)
//   op % 5 == 4  B sends a message back on the first channel A opened: 1-byte length + bytes
// After the operations everything in flight is delivered.
//
// Invariants checked: every channel B sees opened is one A opened, with its label and protocol;
// every message that arrives is the next one sent on its stream, intact (reassembled from
// partial deliveries); a spoofed datagram never takes the DTLS association down (at B, or at A
// through something B answers) nor delivers anything.
// (Delivery of everything is not asserted per input: SCTP congestion control may hold data
// until a timer fires; it is checked when it arrives, in a later input.)
//
// Not covered: raw SCTP packets (they arrive only inside authenticated DTLS records, and usrsctp
// checks the verification tag and CRC32c); see docs/robustness.md.
//
// Threading: the fuzzer thread only waits on NetworkThread::invoke; every transport call and
// callback runs on the network thread, as in the engine.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fuzz_support.hpp"
#include "tern/transport/certificate.hpp"
#include "tern/transport/dtls_transport.hpp"
#include "tern/transport/log.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/sctp_transport.hpp"
#include "tern/transport/transport.hpp"

using namespace tern::transport;

namespace {

/// An ICE component whose datagrams go to a queue; the pump delivers them to the peer.
class FakeIce final : public Transport {
 public:
  bool send(const std::uint8_t* data, std::size_t len) override {
    if (peer) peer->inbox.emplace_back(data, data + len);
    return true;
  }
  void connect() { changeState(State::Connected); }
  void push(const std::uint8_t* data, std::size_t len) { deliver(data, len); }
  FakeIce* peer = nullptr;
  std::deque<std::vector<std::uint8_t>> inbox;
};

struct Received {
  std::map<std::uint16_t, std::pair<std::string, std::string>> opened;  // stream -> label, protocol
  std::map<std::uint16_t, std::deque<std::vector<std::uint8_t>>> expected;
  std::map<std::uint16_t, std::vector<std::uint8_t>> partial;
  std::size_t messages = 0;
};

void onMessage(Received& r, std::uint16_t stream, const std::uint8_t* data, std::size_t len,
               bool last) {
  auto& partial = r.partial[stream];
  partial.insert(partial.end(), data, data + len);
  if (!last) return;
  auto& queue = r.expected[stream];
  TERN_FUZZ_CHECK(!queue.empty());  // nothing arrives that was not sent
  TERN_FUZZ_CHECK(queue.front() == partial);
  queue.pop_front();
  partial.clear();
  ++r.messages;
}

struct Pair {
  explicit Pair(NetworkThread& thread, const std::shared_ptr<Certificate>& ca,
                const std::shared_ptr<Certificate>& cb)
      : thread(thread) {
    iceA.peer = &iceB;
    iceB.peer = &iceA;
    dtlsA = std::make_unique<DtlsTransport>(thread, iceA, ca, DtlsTransport::Role::Client);
    dtlsB = std::make_unique<DtlsTransport>(thread, iceB, cb, DtlsTransport::Role::Server);
    dtlsA->setRemoteFingerprint("sha-256", cb->fingerprint());
    dtlsB->setRemoteFingerprint("sha-256", ca->fingerprint());
    SctpTransport::Callbacks a;
    a.message = [this](std::uint16_t s, const std::uint8_t* d, std::size_t l, bool last) {
      onMessage(atA, s, d, l, last);
    };
    SctpTransport::Callbacks b;
    b.channelOpen = [this](std::uint16_t s, const std::string& label, const std::string& protocol) {
      auto it = expectedOpen.find(s);
      TERN_FUZZ_CHECK(it != expectedOpen.end());  // only channels A opened
      TERN_FUZZ_CHECK(it->second == label + '\0' + protocol);
      atB.opened[s] = {label, protocol};
    };
    b.message = [this](std::uint16_t s, const std::uint8_t* d, std::size_t l, bool last) {
      onMessage(atB, s, d, l, last);
    };
    sctpA = SctpTransport::create(thread, *dtlsA, SctpConfig{}, a);
    sctpB = SctpTransport::create(thread, *dtlsB, SctpConfig{}, b);
    iceA.connect();
    iceB.connect();
  }
  ~Pair() {
    sctpA.reset();
    sctpB.reset();
    dtlsA.reset();
    dtlsB.reset();
  }
  bool up() const {
    return sctpA->state() == Transport::State::Connected &&
           sctpB->state() == Transport::State::Connected;
  }
  bool failed() const {
    auto bad = [](Transport::State s) {
      return s == Transport::State::Failed || s == Transport::State::Closed;
    };
    return bad(sctpA->state()) || bad(sctpB->state()) || bad(dtlsA->state()) || bad(dtlsB->state());
  }
  /// Network thread: delivers what is queued; true if anything moved.
  bool deliverQueued() {
    bool moved = false;
    for (FakeIce* ice : {&iceA, &iceB}) {
      auto inbox = std::move(ice->inbox);
      ice->inbox.clear();
      for (auto& d : inbox) {
        ice->push(d.data(), d.size());
        moved = true;
      }
    }
    return moved;
  }

  NetworkThread& thread;
  FakeIce iceA, iceB;
  std::unique_ptr<DtlsTransport> dtlsA, dtlsB;
  std::shared_ptr<SctpTransport> sctpA, sctpB;
  Received atA, atB;
  std::vector<std::uint16_t> streamsA;
  /// Channels A opened: stream -> label + '\0' + protocol.
  std::map<std::uint16_t, std::string> expectedOpen;
};

struct Globals {
  Globals() {
    if (std::getenv("TERN_FUZZ_SCTP_STATS")) {
      setLogSink([](Level level, const std::string& m) {
        if (level >= Level::Warning) std::fprintf(stderr, "log: %s\n", m.c_str());
      });
    } else {
      setLogSink([](Level, const std::string&) {});
    }
    ca = Certificate::generate();
    cb = Certificate::generate();
  }
  NetworkThread thread;
  std::shared_ptr<Certificate> ca, cb;
  std::unique_ptr<Pair> pair;
};

Globals& globals() {
  static Globals* g = new Globals();  // never destroyed: the thread outlives every input
  return *g;
}

/// Delivers datagrams (and lets posted SCTP work run between rounds) until nothing moves.
void settle(Globals& g) {
  int quiet = 0;
  for (int round = 0; round < 10000 && quiet < 3; ++round) {
    bool moved = false;
    g.thread.invoke([&] { moved = g.pair->deliverQueued(); });
    quiet = moved ? 0 : quiet + 1;
  }
}

bool ensurePair(Globals& g) {
  bool ok = false;
  g.thread.invoke([&] { ok = g.pair && g.pair->up() && !g.pair->failed(); });
  if (ok) return true;
  if (g.pair && std::getenv("TERN_FUZZ_SCTP_STATS")) {
    g.thread.invoke([&] {
      std::fprintf(stderr, "sctp: rebuilding the pair: sctp A %s, B %s; dtls A %s, B %s\n",
                   toString(g.pair->sctpA->state()), toString(g.pair->sctpB->state()),
                   toString(g.pair->dtlsA->state()), toString(g.pair->dtlsB->state()));
    });
  }
  g.thread.invoke([&] {
    g.pair.reset();
    g.pair = std::make_unique<Pair>(g.thread, g.ca, g.cb);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    settle(g);
    g.thread.invoke([&] { ok = g.pair->up(); });
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // SCTP timers (10 ms tick)
  }
  return false;
}

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::vector<std::uint8_t> bytes(std::size_t n) {
    n = std::min(n, size_ - std::min(at_, size_));
    std::vector<std::uint8_t> out(data_ + at_, data_ + at_ + n);
    at_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 8192) return 0;
  Globals& g = globals();
  TERN_FUZZ_CHECK(ensurePair(g));
  Reader in(data, size);
  int ops = 0;
  while (!in.done() && ops++ < 64) {
    const std::uint8_t op = in.byte();
    g.thread.invoke([&] {
      Pair& p = *g.pair;
      switch (op % 5) {
        case 0: {
          auto label = in.bytes(in.byte());
          auto protocol = in.bytes(in.byte());
          if (p.streamsA.size() >= 32) break;  // bounded per pair: streams are not reused
          int stream = p.sctpA->openChannel(std::string(label.begin(), label.end()),
                                            std::string(protocol.begin(), protocol.end()));
          if (stream >= 0) {
            p.streamsA.push_back(static_cast<std::uint16_t>(stream));
            p.atB.expected[static_cast<std::uint16_t>(stream)];
            p.expectedOpen[static_cast<std::uint16_t>(stream)] =
                std::string(label.begin(), label.end()) + '\0' +
                std::string(protocol.begin(), protocol.end());
          }
          break;
        }
        case 1: {
          const std::size_t len = static_cast<std::size_t>(in.byte() << 8 | in.byte());
          auto payload = in.bytes(len);
          if (p.streamsA.empty()) break;
          const std::uint16_t stream = p.streamsA[payload.size() % p.streamsA.size()];
          auto r = p.sctpA->sendMessage(stream, payload.data(), payload.size(), (op & 0x80) == 0);
          if (r == SctpTransport::SendResult::Ok) p.atB.expected[stream].push_back(payload);
          break;
        }
        case 2:
          if (!p.streamsA.empty()) p.sctpA->closeChannel(p.streamsA[in.byte() % p.streamsA.size()]);
          break;
        case 3: {
          auto datagram = in.bytes(in.byte());
          const std::size_t before = p.atB.messages;
          p.iceB.push(datagram.data(), datagram.size());
          TERN_FUZZ_CHECK(p.dtlsB->state() == Transport::State::Connected);
          TERN_FUZZ_CHECK(p.atB.messages == before);
          break;
        }
        case 4: {
          auto payload = in.bytes(in.byte());
          if (p.streamsA.empty() || p.atB.opened.empty()) break;
          const std::uint16_t stream = p.streamsA.front();
          if (!p.atB.opened.count(stream)) break;
          if (p.sctpB->sendMessage(stream, payload.data(), payload.size()) ==
              SctpTransport::SendResult::Ok) {
            p.atA.expected[stream].push_back(payload);
          }
          break;
        }
      }
    });
    if (op % 5 == 2) settle(g);  // a reset is asynchronous; let it complete before reuse
  }
  settle(g);
  g.thread.invoke([&] {
    Pair& p = *g.pair;
    TERN_FUZZ_CHECK(p.dtlsB->state() == Transport::State::Connected);
    // Nothing B answers to a spoofed datagram may end the association at A either.
    TERN_FUZZ_CHECK(p.dtlsA->state() == Transport::State::Connected);
    // TERN_FUZZ_SCTP_STATS=1 shows that the harness works: channels and messages arrive.
    static const bool stats = std::getenv("TERN_FUZZ_SCTP_STATS") != nullptr;
    if (stats) {
      std::fprintf(stderr, "sctp: B opened %zu channels, got %zu messages; A got %zu\n",
                   p.atB.opened.size(), p.atB.messages, p.atA.messages);
    }
  });
  return 0;
}
