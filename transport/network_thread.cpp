#include "tern/transport/network_thread.hpp"

#include <glib.h>

#include <condition_variable>
#include <future>

namespace tern::transport {

NetworkThread::NetworkThread() {
    context_ = g_main_context_new();
    loop_ = g_main_loop_new(context_, FALSE);
    std::promise<void> started;
    auto ready = started.get_future();
    thread_ = std::thread([this, &started] {
        g_main_context_push_thread_default(context_);
        threadId_ = std::this_thread::get_id();
        started.set_value();
        run();
        // Let asynchronous closes finish (they hold the objects they close).
        auto deadline = std::chrono::steady_clock::now() + kCloseGrace;
        while (pendingCloses_ > 0 && std::chrono::steady_clock::now() < deadline) {
            GSource* tick = g_timeout_source_new(10);  // bounds the blocking iteration
            g_source_set_callback(tick, [](void*) -> int { return G_SOURCE_REMOVE; }, nullptr, nullptr);
            g_source_attach(tick, context_);
            g_main_context_iteration(context_, TRUE);
            g_source_destroy(tick);
            g_source_unref(tick);
        }
        g_main_context_pop_thread_default(context_);
    });
    ready.wait();
}

NetworkThread::~NetworkThread() {
    // Quit from inside the loop so that a task already running completes first.
    post([this] { g_main_loop_quit(loop_); });
    thread_.join();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.clear();
    }
    g_main_loop_unref(loop_);
    g_main_context_unref(context_);
}

void NetworkThread::run() { g_main_loop_run(loop_); }

void NetworkThread::post(Task task) {
    bool schedule = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(std::move(task));
        if (!drainScheduled_) {
            drainScheduled_ = true;
            schedule = true;
        }
    }
    if (schedule) {
        GSource* source = g_idle_source_new();
        g_source_set_priority(source, G_PRIORITY_DEFAULT);
        g_source_set_callback(source, &NetworkThread::drain, this, nullptr);
        g_source_attach(source, context_);  // thread-safe; wakes the context
        g_source_unref(source);
    }
}

int NetworkThread::drain(void* self) {
    auto* t = static_cast<NetworkThread*>(self);
    std::deque<Task> batch;
    {
        std::lock_guard<std::mutex> lock(t->mutex_);
        batch.swap(t->queue_);
        t->drainScheduled_ = false;
    }
    for (auto& task : batch) task();
    return G_SOURCE_REMOVE;
}

void NetworkThread::invoke(const Task& task) {
    if (isCurrent()) {
        task();
        return;
    }
    std::promise<void> done;
    auto finished = done.get_future();
    post([&] {
        task();
        done.set_value();
    });
    finished.wait();
}

bool NetworkThread::isCurrent() const { return std::this_thread::get_id() == threadId_; }

void Timer::start(std::chrono::milliseconds delay, std::function<bool()> fn) {
    cancel();
    fn_ = std::move(fn);
    source_ = g_timeout_source_new(static_cast<guint>(delay.count() < 0 ? 0 : delay.count()));
    g_source_set_callback(source_, &Timer::fire, this, nullptr);
    g_source_attach(source_, thread_.context());
}

void Timer::cancel() {
    if (source_) {
        g_source_destroy(source_);
        g_source_unref(source_);
        source_ = nullptr;
    }
}

int Timer::fire(void* self) {
    auto* timer = static_cast<Timer*>(self);
    // Keep the function alive while it runs: it may restart or cancel the timer.
    auto fn = timer->fn_;
    GSource* running = timer->source_;
    bool again = fn && fn();
    if (timer->source_ != running) return G_SOURCE_REMOVE;  // restarted or cancelled (source already destroyed)
    if (!again) {
        g_source_unref(timer->source_);
        timer->source_ = nullptr;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

}  // namespace tern::transport
