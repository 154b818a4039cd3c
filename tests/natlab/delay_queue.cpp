#include "delay_queue.hpp"

#include <utility>

namespace tern::natlab {

DelayQueue::DelayQueue(Clock::duration delay, std::size_t maxBytes)
    : delay_(delay < Clock::duration::zero() ? Clock::duration::zero() : delay), maxBytes_(maxBytes) {}

bool DelayQueue::push(Clock::time_point now, const std::uint8_t* data, std::size_t len) {
  if (data == nullptr || len == 0 || len > maxBytes_ - bytes_) {
    ++dropped_;
    return false;
  }
  // Arrival times are monotonic, so due times are too and FIFO order holds.
  queue_.push_back({now + delay_, std::vector<std::uint8_t>(data, data + len)});
  bytes_ += len;
  return true;
}

std::optional<DelayQueue::Clock::time_point> DelayQueue::nextDue() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.front().due;
}

std::optional<std::vector<std::uint8_t>> DelayQueue::popDue(Clock::time_point now) {
  if (queue_.empty() || queue_.front().due > now) return std::nullopt;
  std::vector<std::uint8_t> out = std::move(queue_.front().data);
  queue_.pop_front();
  bytes_ -= out.size();
  return out;
}

}  // namespace tern::natlab
