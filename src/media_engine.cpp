// Media worker pool: periodic tasks on absolute deadlines (see media_engine.hpp).
#include "media_engine.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

namespace tern::impl {

std::int64_t MediaEngine::nowUs() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct MediaEngine::Entry {
  std::int64_t periodUs = 10000;
  std::int64_t nextUs = 0;  // guarded by the worker's mutex
  TickFn fn;
  bool cancelled = false;  // guarded by the worker's mutex
  std::atomic<std::uint64_t> ticks{0};
  std::atomic<std::uint64_t> late{0};
  std::atomic<std::uint64_t> skipped{0};
  std::atomic<std::int64_t> maxLateUs{0};
};

class MediaEngine::Worker {
 public:
  explicit Worker(const Config& config) : config_(config), thread_([this] { run(); }) {}

  ~Worker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  void add(const std::shared_ptr<Entry>& entry) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      entries_.push_back(entry);
    }
    wake_.notify_all();
  }

  void remove(const std::shared_ptr<Entry>& entry) {
    std::unique_lock<std::mutex> lock(mutex_);
    entry->cancelled = true;
    entries_.erase(std::remove(entries_.begin(), entries_.end(), entry), entries_.end());
    if (std::this_thread::get_id() == thread_.get_id()) return;  // from inside its own run
    done_.wait(lock, [&] { return running_ != entry.get(); });
  }

  std::size_t taskCount() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

  Stats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    Stats s = stats_;
    s.tasks = entries_.size();
    return s;
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      if (entries_.empty()) {
        wake_.wait(lock);
        continue;
      }
      // The earliest deadline; ties keep insertion order (a stable round).
      std::shared_ptr<Entry> next;
      for (const auto& e : entries_) {
        if (!next || e->nextUs < next->nextUs) next = e;
      }
      const std::int64_t now = nowUs();
      if (next->nextUs > now) {
        wake_.wait_until(
            lock, std::chrono::steady_clock::time_point(std::chrono::microseconds(next->nextUs)));
        continue;
      }
      const std::int64_t deadline = next->nextUs;
      running_ = next.get();
      lock.unlock();
      next->fn(deadline, now);
      lock.lock();
      running_ = nullptr;
      done_.notify_all();

      const std::int64_t lateness = now - deadline;
      ++stats_.ticks;
      next->ticks.fetch_add(1, std::memory_order_relaxed);
      if (lateness > config_.lateThresholdUs) {
        ++stats_.lateTicks;
        next->late.fetch_add(1, std::memory_order_relaxed);
      }
      stats_.maxLatenessUs = std::max(stats_.maxLatenessUs, lateness);
      if (lateness > next->maxLateUs.load(std::memory_order_relaxed)) {
        next->maxLateUs.store(lateness, std::memory_order_relaxed);
      }
      if (next->cancelled) continue;
      next->nextUs = deadline + next->periodUs;
      // Too far behind (overload, a stalled machine): drop the missed deadlines up to now,
      // keeping the phase, rather than running them back to back.
      const std::int64_t after = nowUs();
      if (after - next->nextUs > config_.maxBehindUs) {
        const std::int64_t missed = (after - next->nextUs) / next->periodUs;
        next->nextUs += missed * next->periodUs;
        stats_.skippedTicks += static_cast<std::uint64_t>(missed);
        next->skipped.fetch_add(static_cast<std::uint64_t>(missed), std::memory_order_relaxed);
      }
    }
  }

  Config config_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::shared_ptr<Entry>> entries_;
  const Entry* running_ = nullptr;
  bool stop_ = false;
  Stats stats_;
  std::thread thread_;  // last: started once everything above is constructed
};

MediaEngine::Task::Task(Worker* worker, std::shared_ptr<Entry> entry)
    : worker_(worker), entry_(std::move(entry)) {}

MediaEngine::Task::~Task() { cancel(); }

void MediaEngine::Task::cancel() {
  if (worker_ == nullptr) return;
  worker_->remove(entry_);
  worker_ = nullptr;
}

std::uint64_t MediaEngine::Task::ticks() const { return entry_->ticks.load(); }
std::uint64_t MediaEngine::Task::lateTicks() const { return entry_->late.load(); }
std::uint64_t MediaEngine::Task::skippedTicks() const { return entry_->skipped.load(); }
std::int64_t MediaEngine::Task::maxLatenessUs() const { return entry_->maxLateUs.load(); }

MediaEngine::MediaEngine(int threads) : MediaEngine(Config{threads}) {}

MediaEngine::MediaEngine(Config config) : config_(config) {
  int n = config_.threads;
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  n = std::max(n, 1);
  config_.threads = n;
  workers_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(config_));
}

MediaEngine::~MediaEngine() = default;

std::unique_ptr<MediaEngine::Task> MediaEngine::schedule(std::int64_t periodUs, TickFn fn,
                                                         std::int64_t firstDeadlineUs) {
  Worker* best = nullptr;
  std::size_t bestCount = std::numeric_limits<std::size_t>::max();
  for (auto& w : workers_) {
    const std::size_t c = w->taskCount();
    if (c < bestCount) {
      best = w.get();
      bestCount = c;
    }
  }
  auto entry = std::make_shared<Entry>();
  entry->periodUs = std::max<std::int64_t>(periodUs, 1000);
  entry->nextUs = firstDeadlineUs > 0 ? firstDeadlineUs : nowUs();
  entry->fn = std::move(fn);
  best->add(entry);
  return std::unique_ptr<Task>(new Task(best, std::move(entry)));
}

int MediaEngine::threadCount() const noexcept { return config_.threads; }

MediaEngine::Stats MediaEngine::stats() const {
  Stats sum;
  for (const auto& w : workers_) {
    const Stats s = w->stats();
    sum.ticks += s.ticks;
    sum.lateTicks += s.lateTicks;
    sum.skippedTicks += s.skippedTicks;
    sum.maxLatenessUs = std::max(sum.maxLatenessUs, s.maxLatenessUs);
    sum.tasks += s.tasks;
  }
  return sum;
}

std::vector<MediaEngine::Stats> MediaEngine::workerStats() const {
  std::vector<Stats> out;
  for (const auto& w : workers_) out.push_back(w->stats());
  return out;
}

}  // namespace tern::impl
