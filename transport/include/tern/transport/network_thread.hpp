// One network thread per Engine: runs a private GMainContext (never the
// default one) that owns every libnice agent, DTLS object and SCTP association
// of that engine.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

typedef struct _GMainContext GMainContext;
typedef struct _GMainLoop GMainLoop;
typedef struct _GSource GSource;

namespace tern::transport {

class NetworkThread {
public:
    using Task = std::function<void()>;

    NetworkThread();   ///< starts the thread
    ~NetworkThread();  ///< stops it; queued tasks that did not run are dropped

    NetworkThread(const NetworkThread&) = delete;
    NetworkThread& operator=(const NetworkThread&) = delete;

    /// Queues `task` to run on the network thread, in FIFO order. Thread-safe.
    void post(Task task);
    /// Runs `task` on the network thread and waits for it (inline when already there).
    void invoke(const Task& task);
    /// True when called on this network thread.
    bool isCurrent() const;
    GMainContext* context() const { return context_; }

    /// Asynchronous closes (libnice's nice_agent_close_async) that must complete on this
    /// context before it goes: the thread keeps iterating after stop until the count is
    /// back to zero (at most kCloseGrace), so that they release their objects (agents,
    /// sockets, the context itself) instead of leaking them. Network thread only.
    void closeStarted() { ++pendingCloses_; }
    void closeDone() { --pendingCloses_; }
    static constexpr std::chrono::milliseconds kCloseGrace{1000};

private:
    static int drain(void* self);
    void run();

    GMainContext* context_ = nullptr;
    GMainLoop* loop_ = nullptr;
    std::thread thread_;
    std::thread::id threadId_;
    std::mutex mutex_;
    std::deque<Task> queue_;  // guarded by mutex_
    bool drainScheduled_ = false;  // guarded by mutex_
    int pendingCloses_ = 0;        // network thread only
};

/// A one-shot or repeating timer on a NetworkThread. Create, restart and
/// destroy it on that thread only. Destroying it cancels it.
class Timer {
public:
    explicit Timer(NetworkThread& thread) : thread_(thread) {}
    ~Timer() { cancel(); }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    /// (Re)arms the timer: `fn` runs after `delay`; it is re-armed with the same
    /// delay while `fn` returns true.
    void start(std::chrono::milliseconds delay, std::function<bool()> fn);
    void cancel();
    bool active() const { return source_ != nullptr; }

private:
    static int fire(void* self);
    NetworkThread& thread_;
    GSource* source_ = nullptr;
    std::function<bool()> fn_;
};

}  // namespace tern::transport
