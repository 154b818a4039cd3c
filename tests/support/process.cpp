#include "process.hpp"

#include "net.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <thread>

namespace tern::testbed::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollStep = std::chrono::milliseconds(10);

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void execChild(char* const* argv, pid_t parent, int in, int out, int errPipe) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl

    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);

    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(127);
    // Everything else (the test's sockets, say) must not leak into the server.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        rlimit lim{};
        int max = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 65536 ? static_cast<int>(lim.rlim_cur)
                                                                               : 65536;
        for (int fd = 3; fd < max; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::execvp(argv[0], argv);
    int err = errno;
    ssize_t ignored = ::write(errPipe, &err, sizeof err);
    (void)ignored;
    ::_exit(127);
}

}  // namespace

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        stop();
        pid_ = std::exchange(other.pid_, 0);
        status_ = other.status_;
    }
    return *this;
}

Process Process::spawn(const std::vector<std::string>& args, const std::filesystem::path& output) {
    if (args.empty()) throw std::invalid_argument("Process::spawn: empty argv");
    std::vector<std::string> owned = args;
    std::vector<char*> argv;
    for (auto& arg : owned) argv.push_back(arg.data());
    argv.push_back(nullptr);

    UniqueFd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    UniqueFd out(::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!in || !out) throw std::runtime_error("cannot open " + output.string() + ": " + errnoText(errno));
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2: " + errnoText(errno));
    UniqueFd errRead(fds[0]);
    UniqueFd errWrite(fds[1]);

    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork: " + errnoText(errno));
    if (pid == 0) execChild(argv.data(), parent, in.get(), out.get(), errWrite.get());

    ::setpgid(pid, pid);  // also done by the child; whichever runs first wins
    Process child(pid);
    errWrite.reset();
    int err = 0;
    ssize_t n;
    do {
        n = ::read(errRead.get(), &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof err)) {
        child.stop();
        throw std::runtime_error("cannot execute " + args[0] + ": " + errnoText(err));
    }
    return child;
}

bool Process::running() const {
    if (pid_ == 0 || status_) return false;
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
    return info.si_pid == 0;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    if (pid_ == 0 || status_) return status_;
    auto deadline = Clock::now() + timeout;
    while (running()) {
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(kPollStep);
    }
    stop();  // reaps, and kills anything the child left in its group
    return status_;
}

void Process::stop(std::chrono::milliseconds grace) {
    if (pid_ == 0 || status_) return;
    // The leader is not reaped until the end, so its pid still names our
    // group when the SIGKILL goes out: stragglers cannot survive it.
    if (running()) {
        ::kill(-pid_, SIGTERM);
        auto deadline = Clock::now() + grace;
        while (running() && Clock::now() < deadline) std::this_thread::sleep_for(kPollStep);
    }
    ::kill(-pid_, SIGKILL);
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    status_ = r == pid_ ? status : -1;
}

std::string describeStatus(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "wait status " + std::to_string(status);
}

}  // namespace tern::testbed::detail
