// MediaEngine: absolute-deadline ticks, cancellation barrier, spreading over workers.
#include "media_engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace tern::impl {
namespace {

TEST(MediaEngine, TicksFollowAbsoluteDeadlinesWithoutDrift) {
  MediaEngine engine(1);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::int64_t> deadlines;
  const std::int64_t period = 10000;
  const std::int64_t first = MediaEngine::nowUs() + 20000;
  auto task = engine.schedule(
      period,
      [&](std::int64_t deadline, std::int64_t now) {
        EXPECT_GE(now, deadline);
        std::lock_guard<std::mutex> lock(mu);
        deadlines.push_back(deadline);
        cv.notify_all();
      },
      first);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return deadlines.size() >= 50; }));
  }
  const std::int64_t end = MediaEngine::nowUs();
  task->cancel();
  std::lock_guard<std::mutex> lock(mu);
  for (std::size_t i = 0; i < 50; ++i) {
    EXPECT_EQ(deadlines[i], first + static_cast<std::int64_t>(i) * period) << i;
  }
  // 50 ticks span 490 ms of deadlines: they cannot all have run much earlier or later.
  EXPECT_GE(end - first, 49 * period);
  EXPECT_LT(end - first, 49 * period + 200000);
  EXPECT_EQ(task->ticks(), deadlines.size());
}

TEST(MediaEngine, CancelWaitsForRunningTickAndStopsIt) {
  MediaEngine engine(1);
  std::atomic<bool> inside{false};
  std::atomic<int> runs{0};
  std::atomic<int> runsAfterCancel{0};
  std::atomic<bool> cancelled{false};
  std::mutex mu;
  std::condition_variable cv;
  auto task = engine.schedule(10000, [&](std::int64_t, std::int64_t) {
    if (cancelled.load()) runsAfterCancel.fetch_add(1);
    inside = true;
    {
      std::lock_guard<std::mutex> lock(mu);
      runs.fetch_add(1);
      cv.notify_all();
    }
    // A long tick: the cancel below must wait for it to end.
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    inside = false;
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return runs.load() >= 1; }));
  }
  task->cancel();
  cancelled = true;
  EXPECT_FALSE(inside.load());
  const int after = runs.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // would cover several periods
  EXPECT_EQ(runs.load(), after);
  EXPECT_EQ(runsAfterCancel.load(), 0);
}

TEST(MediaEngine, CancelFromInsideItsOwnTickDoesNotDeadlock) {
  MediaEngine engine(1);
  std::unique_ptr<MediaEngine::Task> task;
  std::mutex mu;
  std::condition_variable cv;
  int runs = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    task = engine.schedule(5000, [&](std::int64_t, std::int64_t) {
      std::lock_guard<std::mutex> lock2(mu);
      ++runs;
      task->cancel();
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return runs >= 1; }));
  lock.unlock();
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  lock.lock();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(engine.stats().tasks, 0u);
}

TEST(MediaEngine, SpreadsTasksOverWorkersAndCountsLateTicks) {
  MediaEngine::Config cfg;
  cfg.threads = 2;
  cfg.lateThresholdUs = 5000;
  MediaEngine engine(cfg);
  EXPECT_EQ(engine.threadCount(), 2);
  std::vector<std::unique_ptr<MediaEngine::Task>> tasks;
  for (int i = 0; i < 4; ++i)
    tasks.push_back(engine.schedule(10000, [](std::int64_t, std::int64_t) {}));
  const auto per = engine.workerStats();
  ASSERT_EQ(per.size(), 2u);
  EXPECT_EQ(per[0].tasks, 2u);
  EXPECT_EQ(per[1].tasks, 2u);
  tasks.clear();
  EXPECT_EQ(engine.stats().tasks, 0u);

  // A task that takes 30 ms every 10 ms is always late; after falling 200 ms behind the worker
  // skips deadlines instead of running a burst.
  std::atomic<int> runs{0};
  auto slow = engine.schedule(10000, [&](std::int64_t, std::int64_t) {
    runs.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  });
  while (runs.load() < 15) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  slow->cancel();
  EXPECT_GT(slow->lateTicks(), 5u);
  EXPECT_GT(engine.stats().skippedTicks, 0u);
  EXPECT_GE(slow->maxLatenessUs(), 40000);
}

}  // namespace
}  // namespace tern::impl
