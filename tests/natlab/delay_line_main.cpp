// tern-natlab-delay: a point-to-point IP link with added latency between two
// network namespaces, for the NAT lab on kernels without netem. It creates one
// TUN device in each namespace (IFF_TUN | IFF_NO_PI), and forwards every packet
// read from one to the other after --delay-ms, in both directions, through a
// DelayQueue each. The devices vanish when the program exits; addresses and
// routes are the caller's job (`ip -n NS addr add A peer B dev DEV`).
//
//   tern-natlab-delay --ns-a tnl1-ha --dev-a eth0 --ns-b tnl1-ra --dev-b in --delay-ms 20
//
// Prints READY once both devices exist; runs until SIGTERM/SIGINT/SIGHUP, or
// until its parent dies (PR_SET_PDEATHSIG). One thread: poll on both devices
// with the next due time as timeout.
#include "delay_queue.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace {

using tern::natlab::DelayQueue;
using Clock = DelayQueue::Clock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "tern-natlab-delay: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// Enters namespace `ns` (a name under /var/run/netns) and creates TUN `dev` there.
Fd openTun(const std::string& ns, const std::string& dev) {
  Fd nsFd(::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC));
  if (!nsFd) die("cannot open namespace " + ns);
  if (::setns(nsFd.get(), CLONE_NEWNET) != 0) die("cannot enter namespace " + ns);
  Fd tun(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!tun) die("cannot open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (dev.empty() || dev.size() >= IFNAMSIZ) {
    errno = EINVAL;
    die("bad device name '" + dev + "'");
  }
  std::memcpy(ifr.ifr_name, dev.c_str(), dev.size());
  if (::ioctl(tun.get(), TUNSETIFF, &ifr) != 0) die("cannot create TUN " + dev + " in " + ns);
  return tun;
}

struct Direction {
  int from;
  int to;
  DelayQueue queue;
  std::uint64_t forwarded = 0;
};

// Reads every packet waiting on d.from into its queue.
void readAll(Direction& d) {
  static std::uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(d.from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: drained
    d.queue.push(Clock::now(), buf, static_cast<std::size_t>(n));
  }
}

void writeDue(Direction& d) {
  auto now = Clock::now();
  while (auto packet = d.queue.popDue(now)) {
    // A TUN write takes the whole packet or fails (e.g. the device went down):
    // either way the packet is gone, like on a real wire.
    if (::write(d.to, packet->data(), packet->size()) == static_cast<ssize_t>(packet->size()))
      ++d.forwarded;
  }
}

void usage() {
  std::fprintf(stderr,
               "usage: tern-natlab-delay --ns-a NS --dev-a DEV --ns-b NS --dev-b DEV --delay-ms MS "
               "[--queue-bytes N]\n"
               "  MS is the one-way delay added in each direction (RTT grows by 2*MS).\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string nsA, devA, nsB, devB;
  double delayMs = -1;
  long queueBytes = 4 << 20;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) {
      usage();
      return 2;
    }
    std::string value = argv[++i];
    char* end = nullptr;
    if (arg == "--ns-a") nsA = value;
    else if (arg == "--dev-a") devA = value;
    else if (arg == "--ns-b") nsB = value;
    else if (arg == "--dev-b") devB = value;
    else if (arg == "--delay-ms") delayMs = std::strtod(value.c_str(), &end);
    else if (arg == "--queue-bytes") queueBytes = std::strtol(value.c_str(), &end, 10);
    else {
      usage();
      return 2;
    }
    if (end != nullptr && *end != '\0') {
      usage();
      return 2;
    }
  }
  if (nsA.empty() || devA.empty() || nsB.empty() || devB.empty() || delayMs < 0 || delayMs > 10000 ||
      queueBytes < 65536) {
    usage();
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  Fd sfd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) die("signalfd");
  if (::getppid() == 1) return 0;  // the parent died before PR_SET_PDEATHSIG took effect

  Fd a = openTun(nsA, devA);
  Fd b = openTun(nsB, devB);
  auto delay = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(delayMs));
  auto bytes = static_cast<std::size_t>(queueBytes);
  Direction ab{a.get(), b.get(), DelayQueue(delay, bytes)};
  Direction ba{b.get(), a.get(), DelayQueue(delay, bytes)};
  std::printf("READY\n");
  std::fflush(stdout);

  for (;;) {
    timespec timeout{};
    timespec* wait = nullptr;
    std::optional<Clock::time_point> due;
    for (auto* d : {&ab, &ba}) {
      auto next = d->queue.nextDue();
      if (next && (!due || *next < *due)) due = next;
    }
    if (due) {
      auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(*due - Clock::now());
      if (left.count() < 0) left = std::chrono::nanoseconds(0);
      timeout.tv_sec = static_cast<time_t>(left.count() / 1000000000);
      timeout.tv_nsec = static_cast<long>(left.count() % 1000000000);
      wait = &timeout;
    }
    pollfd fds[3] = {{a.get(), POLLIN, 0}, {b.get(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    int n = ::ppoll(fds, 3, wait, nullptr);
    if (n < 0 && errno != EINTR) die("ppoll");
    if (n > 0 && fds[2].revents) break;
    if (n > 0 && (fds[0].revents | fds[1].revents) & (POLLERR | POLLHUP | POLLNVAL)) {
      std::fprintf(stderr, "tern-natlab-delay: a TUN device closed\n");
      return 1;
    }
    if (n > 0 && fds[0].revents & POLLIN) readAll(ab);
    if (n > 0 && fds[1].revents & POLLIN) readAll(ba);
    writeDue(ab);
    writeDue(ba);
  }
  std::fprintf(stderr, "tern-natlab-delay: forwarded %llu/%llu packets, dropped %llu/%llu (queue full)\n",
               static_cast<unsigned long long>(ab.forwarded), static_cast<unsigned long long>(ba.forwarded),
               static_cast<unsigned long long>(ab.queue.dropped()),
               static_cast<unsigned long long>(ba.queue.dropped()));
  return 0;
}
