// Test helper: state written by callbacks on the network thread and waited for by the
// test thread. Derive the test's event struct from it; update() changes fields under the
// lock and wakes waiters, waitFor() waits until a predicate over them holds, read() reads
// them under the lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace tern::transport::test {

struct EventBox {
    std::mutex m;
    std::condition_variable cv;

    template <class Pred>
    bool waitFor(Pred pred, std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(m);
        return cv.wait_for(lock, timeout, [&] { return pred(); });
    }
    template <class Fn>
    void update(Fn fn) {
        {
            std::lock_guard<std::mutex> lock(m);
            fn();
        }
        cv.notify_all();
    }
    /// fn()'s result, read under the lock.
    template <class Fn>
    auto read(Fn fn) {
        std::lock_guard<std::mutex> lock(m);
        return fn();
    }
};

}  // namespace tern::transport::test
