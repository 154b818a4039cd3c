// Teardown guarantees (docs/robustness.md, "Teardown"): destroying an Engine, a
// FileTransfer or a Call at any moment (ringing, ICE gathering, DTLS handshake,
// mid-transfer) returns promptly, no callback runs after destruction returned,
// the peer learns that the session ended, and no thread or file descriptor is
// left behind after many create/destroy cycles.
#include "harness.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace tern::hostile {
namespace {

constexpr auto kPrompt = 2000ms;  // destruction must return within this

// What each open descriptor of this process points at, for failure messages.
std::string describeFds() {
  std::string out;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(e.path(), ec);
    out += e.path().filename().string() + " -> " + (ec ? "?" : target.string()) + "\n";
  }
  return out;
}

class TeardownTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_NE(bed(), nullptr);
    ASSERT_TRUE(bob.connect()) << bob.error();
    ASSERT_TRUE(alice.connect()) << alice.error();
  }
  std::vector<Pumped*> both() { return {&bob, &alice}; }

  // Callbacks that count whether they ran after `destroyed` was set.
  struct Probe {
    bool destroyed = false;
    int late = 0;
    bool ended = false;
    bool completed = false;
    std::string what;
    void hit(const std::string& name) {
      ended = true;
      if (destroyed) ++late, what += name + " ";
    }
  };

  void watch(const std::shared_ptr<FileTransfer>& t, Probe& p) {
    t->onConnected([&p](const PathInfo&) { p.hit("connected"); });
    t->onProgress([&p](const TransferProgress&) {
      if (p.destroyed) ++p.late, p.what += "progress ";
    });
    t->onComplete([&p](const TransferResult&) {
      p.completed = true;
      p.hit("complete");
    });
    t->onError([&p](const Error&) { p.hit("error"); });
  }

  /// alice offers a file of `size` to bob; returns alice's transfer and bob's offer.
  std::pair<std::shared_ptr<FileTransfer>, std::shared_ptr<IncomingFileOffer>> offer(std::size_t size) {
    auto src = dir_.path() / ("f" + std::to_string(counter_++) + ".bin");
    writeRandomFile(src, size);
    auto sent = alice.engine().sendFile(bob.jid().full(), src.string());
    EXPECT_TRUE(sent);
    if (!sent) return {};
    EXPECT_TRUE(pumpAll(both(), [&] { return !bob.offers.empty(); }, 15s));
    if (bob.offers.empty()) return {sent.value(), nullptr};
    auto o = bob.offers.front();
    bob.offers.clear();
    return {sent.value(), o};
  }

  TempDir dir_;
  int counter_ = 0;
  EnginePeer bob{"bob", "engine"};
  EnginePeer alice{"alice", "good"};
};

// The receiver's Engine destroyed at successive moments after accepting: during
// ICE gathering, connectivity checks, the DTLS handshake and mid-transfer. Each
// destruction returns within 2 s, no callback of bob's transfer runs afterwards
// (even though the handle outlives the Engine), and alice learns the transfer
// ended.
TEST_F(TeardownTest, EngineDestroyedAtEveryPhaseOfATransfer) {
  for (int delayMs : {0, 5, 20, 50, 100, 200, 400, 800}) {
    SCOPED_TRACE("destroyed " + std::to_string(delayMs) + " ms after accept");
    if (!bob.hasEngine()) bob.createEngine();
    auto [tx, incoming] = offer(64 << 20);
    ASSERT_TRUE(incoming);
    Probe aliceSide, bobSide;
    watch(tx, aliceSide);
    auto in = dir_.path() / ("in" + std::to_string(delayMs));
    fs::create_directories(in);
    auto rx = incoming->accept(in.string()).value();
    watch(rx, bobSide);
    pumpFor(both(), std::chrono::milliseconds(delayMs));
    incoming.reset();
    auto took = bob.destroyEngine();
    bobSide.destroyed = true;
    EXPECT_LT(took, kPrompt);
    // The handle outlives the engine: destroying it later is safe and silent.
    pumpFor({&alice, &bob}, 100ms);
    rx.reset();
    ASSERT_TRUE(pumpAll(both(), [&] { return aliceSide.ended; }, 20s)) << "the sender never learned the end";
    EXPECT_EQ(bobSide.late, 0) << bobSide.what;
    // Only a transfer that completed (and was verified) before the destruction
    // may leave its file.
    if (!bobSide.completed) {
      EXPECT_FALSE(fs::exists(in / ("f" + std::to_string(counter_ - 1) + ".bin")))
          << "a complete-looking file was left behind";
    }
  }
}

// The app drops or cancels a transfer at each phase, the Engine stays: no callback
// after cancel() returned, and the peer is told.
TEST_F(TeardownTest, TransferCancelledAtEveryPhase) {
  for (int delayMs : {-1, 0, 20, 100, 300}) {
    SCOPED_TRACE("cancelled " + std::to_string(delayMs) + " ms after accept (-1: before)");
    auto [tx, incoming] = offer(16 << 20);
    ASSERT_TRUE(incoming);
    Probe sender, receiver;
    watch(tx, sender);
    if (delayMs < 0) {
      auto start = Clock::now();
      tx->cancel();  // the sender gives up while the offer is pending ("ringing")
      EXPECT_LT(Clock::now() - start, kPrompt);
      sender.destroyed = true;
      incoming.reset();
      pumpFor(both(), 300ms);
      EXPECT_EQ(sender.late, 0) << sender.what;
      continue;
    }
    auto in = dir_.path() / ("c" + std::to_string(delayMs));
    fs::create_directories(in);
    auto rx = incoming->accept(in.string()).value();
    watch(rx, receiver);
    pumpFor(both(), std::chrono::milliseconds(delayMs));
    auto start = Clock::now();
    rx->cancel();
    EXPECT_LT(Clock::now() - start, kPrompt);
    receiver.destroyed = true;
    rx.reset();
    ASSERT_TRUE(pumpAll(both(), [&] { return sender.ended; }, 20s)) << "the sender never learned the end";
    pumpFor(both(), 200ms);
    EXPECT_EQ(receiver.late, 0) << receiver.what;
  }
}

// Calls: the callee's Engine destroyed while ringing, and the caller's last handle
// dropped while ringing, connecting and connected.
TEST_F(TeardownTest, CallsTornDownWhileRingingConnectingAndConnected) {
  for (int phase = 0; phase < 3; ++phase) {
    SCOPED_TRACE("phase " + std::to_string(phase));
    std::shared_ptr<Call> out;
    {
      auto placed = alice.engine().call(bob.jid().full(), CallMedia{true, false});
      ASSERT_TRUE(placed) << placed.error().message;
      out = placed.value();  // the only handle once `placed` is gone
    }
    Probe caller, callee;
    out->onEnded([&](const CallEnd&) { caller.hit("ended"); });
    out->onStateChanged([&](CallState) {
      if (caller.destroyed) ++caller.late, caller.what += "state ";
    });
    ASSERT_TRUE(pumpAll(both(), [&] { return !bob.calls.empty(); }, 15s));
    auto in = bob.calls.front();
    bob.calls.clear();
    std::optional<CallEnd> calleeEnd;
    in->onEnded([&](const CallEnd& e) { calleeEnd = e; });
    if (phase >= 1) {
      ASSERT_TRUE(in->accept(CallMedia{true, false}));
      if (phase == 2) {
        ASSERT_TRUE(pumpAll(both(), [&] { return out->state() == CallState::Connected; }, 20s));
      }
    }
    auto start = Clock::now();
    out.reset();  // the caller's last handle: hangs up (retract while ringing)
    caller.destroyed = true;
    EXPECT_LT(Clock::now() - start, kPrompt);
    EXPECT_TRUE(pumpAll(both(), [&] { return calleeEnd.has_value(); }, 15s)) << "the callee never learned";
    if (!calleeEnd) in->hangUp();
    EXPECT_EQ(caller.late, 0) << caller.what;
  }
  // The callee's whole Engine destroyed while a call rings.
  auto placed = alice.engine().call(bob.jid().full(), CallMedia{true, false});
  ASSERT_TRUE(placed);
  std::optional<CallEnd> callerEnd;
  placed.value()->onEnded([&](const CallEnd& e) { callerEnd = e; });
  ASSERT_TRUE(pumpAll(both(), [&] { return !bob.calls.empty(); }, 15s));
  Probe callee;
  bob.calls.front()->onEnded([&](const CallEnd&) { callee.hit("ended"); });
  auto took = bob.destroyEngine();
  callee.destroyed = true;
  EXPECT_LT(took, kPrompt);
  bob.calls.clear();
  ASSERT_TRUE(pumpAll(both(), [&] { return callerEnd.has_value(); }, 50s)) << "the caller never learned";
  EXPECT_EQ(callee.late, 0);
}

// 20 Engine lifetimes on one logged-in client, each with a session that got as far
// as ICE gathering: threads and descriptors return to where they were after the
// first cycle (which may start process-wide helpers once: GLib, usrsctp).
TEST_F(TeardownTest, NoThreadOrDescriptorLeaksOver20Cycles) {
  auto cycle = [&] {
    bob.createEngine();
    auto [tx, incoming] = offer(64 * 1024);
    ASSERT_TRUE(incoming);
    auto in = dir_.path() / "leak";
    fs::create_directories(in);
    auto rx = incoming->accept(in.string()).value();
    pumpFor(both(), 30ms);
    rx.reset();
    incoming.reset();
    EXPECT_LT(bob.destroyEngine(), kPrompt);
    ASSERT_TRUE(pumpAll(both(), [&] { return tx->state() != TransferState::Offered &&
                                             tx->state() != TransferState::Connecting &&
                                             tx->state() != TransferState::Transferring; }, 20s));
    tx.reset();
    pumpFor(both(), 50ms);
  };
  bob.destroyEngine();
  auto fdsBefore = countEntries("/proc/self/fd"), threadsBefore = countEntries("/proc/self/task");
  cycle();
  auto fdsWarm = countEntries("/proc/self/fd"), threadsWarm = countEntries("/proc/self/task");
  for (int i = 0; i < 20 && !HasFatalFailure(); ++i) cycle();
  auto fdsAfter = countEntries("/proc/self/fd"), threadsAfter = countEntries("/proc/self/task");
  EXPECT_EQ(fdsAfter, fdsWarm) << "descriptors: before " << fdsBefore << ", after one cycle " << fdsWarm
                               << "; now open:\n" << describeFds();
  EXPECT_EQ(threadsAfter, threadsWarm) << "threads: before " << threadsBefore << ", after one cycle "
                                       << threadsWarm;
  bob.createEngine();
}

}  // namespace
}  // namespace tern::hostile
