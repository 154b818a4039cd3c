// Internal helper of tern_testbed: a child process in its own process group.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tern::testbed::detail {

// A child process started with fork/exec in a new process group, with
// PR_SET_PDEATHSIG(SIGKILL) so that it dies with the thread that started it,
// stdin from /dev/null, stdout and stderr appended to a file, no inherited
// file descriptors, default signal mask and dispositions.
// The destructor stops the whole group (see stop()).
class Process {
public:
    Process() = default;
    Process(Process&& other) noexcept : pid_(std::exchange(other.pid_, 0)), status_(other.status_) {}
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process() { stop(); }

    // Throws std::runtime_error if the program cannot be executed.
    static Process spawn(const std::vector<std::string>& argv, const std::filesystem::path& output);

    pid_t pid() const { return pid_; }
    // True while the child has not exited (it is not reaped by this call).
    bool running() const;
    // Waits up to `timeout` for the child to exit by itself and reaps it.
    // Returns the wait status, or nothing on timeout (the child keeps running).
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // SIGTERM to the process group, up to `grace` for the child to exit, then
    // SIGKILL to the group; reaps the child. Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    // The wait status once reaped.
    std::optional<int> status() const { return status_; }

private:
    explicit Process(pid_t pid) : pid_(pid) {}
    pid_t pid_ = 0;
    std::optional<int> status_;
};

// "exited with status 1", "killed by signal 9".
std::string describeStatus(int status);

}  // namespace tern::testbed::detail
