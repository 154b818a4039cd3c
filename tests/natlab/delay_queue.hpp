// A constant-delay FIFO for the NAT lab's delay line (tern-natlab-delay): packets
// go in with the time they arrived and come out, in order, once `delay` has
// passed. The kernel here has no netem, so the lab adds latency in user space.
// Sans-IO: no sockets, no clock of its own; the caller passes the time.
//
// Threading: not thread-safe; one owner (the delay line's single thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace tern::natlab {

class DelayQueue {
 public:
  using Clock = std::chrono::steady_clock;

  // `maxBytes` bounds what is held (a tail drop beyond it, like a router's
  // buffer): at 100 Mbit/s and 40 ms about 500 kB are in flight.
  DelayQueue(Clock::duration delay, std::size_t maxBytes);

  // Holds a copy of the packet that arrived at `now`. False, and the packet is
  // dropped (counted in dropped()), when it is empty or does not fit.
  bool push(Clock::time_point now, const std::uint8_t* data, std::size_t len);

  // When the oldest packet is due; nothing when the queue is empty.
  std::optional<Clock::time_point> nextDue() const;

  // Removes and returns the oldest packet if it is due at `now`, else nothing.
  std::optional<std::vector<std::uint8_t>> popDue(Clock::time_point now);

  std::size_t packets() const { return queue_.size(); }
  std::size_t bytes() const { return bytes_; }
  std::uint64_t dropped() const { return dropped_; }
  Clock::duration delay() const { return delay_; }

 private:
  struct Held {
    Clock::time_point due;
    std::vector<std::uint8_t> data;
  };
  Clock::duration delay_;
  std::size_t maxBytes_;
  std::size_t bytes_ = 0;
  std::uint64_t dropped_ = 0;
  std::deque<Held> queue_;
};

}  // namespace tern::natlab
