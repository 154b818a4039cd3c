// The media worker threads of an Engine: a small fixed pool on which every call's media work
// (Opus/VP8 encode and decode, jitter buffers, RTCP) runs, off the network thread (DESIGN.md,
// "Threads"). Each call is pinned to one worker for its whole life (no locking inside a call's
// pipeline, cache-friendly); calls are spread over the workers by count.
//
// A worker runs periodic tasks on absolute deadlines: a task of period P that first runs at T0
// runs at T0 + k*P whatever each run costs, so there is no drift. A run that starts more than
// lateThresholdUs after its deadline counts as a late tick. A task that falls further behind
// than maxBehindUs skips the deadlines it missed, up to now (counted as skipped), instead of
// running them in a burst: under overload the work is shed, latency does not pile up.
//
// Threading: every public method may be called from any thread. A task's function runs on its
// worker thread only, one run at a time. Cancelling a task (Task::cancel() or its destructor)
// waits for a run in progress, so when it returns the function is not running and never runs
// again; calling it from inside the task's own function does not wait (and does not deadlock).
// The MediaEngine must outlive every Task it handed out.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace tern::impl {

class MediaEngine {
 public:
  struct Config {
    int threads = 0;                      ///< 0: hardware concurrency (at least 1)
    std::int64_t lateThresholdUs = 5000;  ///< a run later than this after its deadline is late
    std::int64_t maxBehindUs = 200000;    ///< further behind than this: skip missed deadlines
  };

  /// Per-worker (or summed) scheduling figures.
  struct Stats {
    std::uint64_t ticks = 0;         ///< task runs
    std::uint64_t lateTicks = 0;     ///< runs that started more than lateThresholdUs late
    std::uint64_t skippedTicks = 0;  ///< deadlines dropped after falling maxBehindUs behind
    std::int64_t maxLatenessUs = 0;  ///< worst start delay seen
    std::size_t tasks = 0;           ///< tasks scheduled now
  };

  using TickFn = std::function<void(std::int64_t deadlineUs, std::int64_t nowUs)>;

 private:
  class Worker;
  struct Entry;

 public:
  /// A scheduled periodic task. Destroying the handle cancels it (see cancel()).
  class Task {
   public:
    ~Task();
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    /// Unschedules the task. When it returns (on any thread but the task's worker) the function
    /// is not running and will not run again. Idempotent.
    void cancel();
    std::uint64_t ticks() const;
    std::uint64_t lateTicks() const;
    std::uint64_t skippedTicks() const;
    std::int64_t maxLatenessUs() const;

   private:
    friend class MediaEngine;
    Task(Worker* worker, std::shared_ptr<Entry> entry);
    Worker* worker_;
    std::shared_ptr<Entry> entry_;
  };

  explicit MediaEngine(int threads = 0);
  explicit MediaEngine(Config config);
  /// Stops and joins the workers. Every Task must have been cancelled or destroyed before.
  ~MediaEngine();
  MediaEngine(const MediaEngine&) = delete;
  MediaEngine& operator=(const MediaEngine&) = delete;

  /// Runs `fn` every `periodUs` on the least loaded worker, first at `firstDeadlineUs` (0: now).
  std::unique_ptr<Task> schedule(std::int64_t periodUs, TickFn fn,
                                 std::int64_t firstDeadlineUs = 0);

  int threadCount() const noexcept;
  Stats stats() const;                     ///< summed over the workers
  std::vector<Stats> workerStats() const;  ///< one per worker

  /// The clock of every deadline: steady clock, microseconds.
  static std::int64_t nowUs() noexcept;

 private:
  Config config_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace tern::impl
