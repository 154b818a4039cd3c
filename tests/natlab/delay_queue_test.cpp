// Unit tests of the NAT lab's delay line core (DelayQueue): packets come out
// after the delay, in order, and a full queue drops instead of growing.
#include "delay_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace {

using tern::natlab::DelayQueue;
using namespace std::chrono_literals;

const DelayQueue::Clock::time_point t0{std::chrono::seconds(1000)};

std::vector<std::uint8_t> bytes(std::initializer_list<std::uint8_t> b) { return b; }

TEST(DelayQueue, HoldsEachPacketForTheDelay) {
  DelayQueue q(20ms, 1 << 20);
  auto p = bytes({1, 2, 3});
  ASSERT_TRUE(q.push(t0, p.data(), p.size()));
  EXPECT_EQ(q.nextDue(), t0 + 20ms);
  EXPECT_FALSE(q.popDue(t0 + 19ms));
  auto out = q.popDue(t0 + 20ms);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, p);
  EXPECT_EQ(q.packets(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_FALSE(q.nextDue());
}

TEST(DelayQueue, KeepsOrderAndSpacing) {
  DelayQueue q(40ms, 1 << 20);
  for (std::uint8_t i = 0; i < 5; ++i) {
    auto p = bytes({i});
    ASSERT_TRUE(q.push(t0 + i * 1ms, p.data(), p.size()));
  }
  EXPECT_EQ(q.packets(), 5u);
  // At t0 + 42 ms the first three are due, not the last two.
  std::vector<std::uint8_t> seen;
  while (auto out = q.popDue(t0 + 42ms)) seen.push_back(out->at(0));
  EXPECT_EQ(seen, bytes({0, 1, 2}));
  EXPECT_EQ(q.nextDue(), t0 + 43ms);
  while (auto out = q.popDue(t0 + 1s)) seen.push_back(out->at(0));
  EXPECT_EQ(seen, bytes({0, 1, 2, 3, 4}));
}

TEST(DelayQueue, ZeroDelayPassesAtOnce) {
  DelayQueue q(0ms, 1 << 20);
  auto p = bytes({9});
  ASSERT_TRUE(q.push(t0, p.data(), p.size()));
  EXPECT_TRUE(q.popDue(t0));
}

TEST(DelayQueue, NegativeDelayIsZero) {
  DelayQueue q(-5ms, 1 << 20);
  EXPECT_EQ(q.delay(), DelayQueue::Clock::duration::zero());
}

TEST(DelayQueue, DropsWhatDoesNotFit) {
  DelayQueue q(10ms, 10);
  std::vector<std::uint8_t> six(6, 0xab);
  EXPECT_TRUE(q.push(t0, six.data(), six.size()));
  EXPECT_FALSE(q.push(t0, six.data(), six.size()));  // 12 > 10
  EXPECT_EQ(q.dropped(), 1u);
  EXPECT_EQ(q.bytes(), 6u);
  std::vector<std::uint8_t> four(4, 0xcd);
  EXPECT_TRUE(q.push(t0, four.data(), four.size()));  // exactly full
  EXPECT_EQ(q.bytes(), 10u);
  ASSERT_TRUE(q.popDue(t0 + 10ms));
  EXPECT_TRUE(q.push(t0 + 10ms, six.data(), six.size()));  // room again
}

TEST(DelayQueue, RefusesEmptyPackets) {
  DelayQueue q(10ms, 100);
  std::uint8_t b = 0;
  EXPECT_FALSE(q.push(t0, &b, 0));
  EXPECT_FALSE(q.push(t0, nullptr, 5));
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(q.packets(), 0u);
}

}  // namespace
