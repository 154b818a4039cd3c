// One XMPP account logged in on a thread of its own, with a tern::Engine on it: the benchmarks
// run both ends of a call in one process, each end on its own Endpoint. Also a XEP-0199 ping
// (through the server to another client), the round-trip baseline of the set-up figures.
//
// Threading: the Endpoint's thread creates, pumps and destroys the gloox::Client and the Engine
// (it is the Engine's XMPP thread, see include/tern/engine.hpp). Other threads hand it work with
// run() (waits) or post() (does not); engine callbacks (incoming calls, call state) run on it
// too. The stanza hook runs on it, right after gloox has written an outgoing stanza to the
// connection or parsed an incoming one. Every public method may be called from any thread
// other than the Endpoint's own (run(), and the methods built on it, would wait for
// themselves there).
#pragma once

#include <gloox/client.h>
#include <gloox/connectionlistener.h>
#include <gloox/eventhandler.h>
#include <gloox/loghandler.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tern/engine.hpp>
#include <thread>

namespace tern::bench {

using Clock = std::chrono::steady_clock;

/// Milliseconds between two time points (b - a).
inline double msBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Account {
  std::string jid;  ///< full JID to log in with
  std::string password;
  std::string host = "127.0.0.1";
  int port = 5222;
};

class Endpoint : public gloox::ConnectionListener,
                 public gloox::LogHandler,
                 public gloox::EventHandler {
 public:
  /// Called on the Endpoint's thread for every stanza sent (`outgoing`, right after it left) or
  /// received (as gloox parsed it), with the time.
  using StanzaHook =
      std::function<void(const std::string& xml, Clock::time_point at, bool outgoing)>;

  Endpoint(Account account, tern::Config config, StanzaHook onOutgoing = {});
  ~Endpoint() override;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  /// Starts the thread and logs in. False (see error()) when login fails or times out.
  bool start(std::chrono::seconds timeout);
  /// Runs the queued work, destroys the Engine, disconnects and joins the thread. Idempotent.
  void stop();

  /// Runs `fn` on the Endpoint's thread and waits until it has run. False if the Endpoint is
  /// not running (then `fn` did not run).
  bool run(std::function<void(tern::Engine&)> fn);
  /// Queues `fn` for the Endpoint's thread without waiting.
  void post(std::function<void(tern::Engine&)> fn);

  /// XEP-0199 ping of `to` (a full JID): round trip in ms through the server, or nullopt.
  std::optional<double> pingMs(const std::string& to, std::chrono::milliseconds timeout);

  std::string jid() const { return account_.jid; }
  std::string error() const;

  // gloox callbacks (the Endpoint's thread).
  void onConnect() override;
  void onDisconnect(gloox::ConnectionError e) override;
  bool onTLSConnect(const gloox::CertInfo&) override { return true; }
  void handleLog(gloox::LogLevel level, gloox::LogArea area, const std::string& message) override;
  void handleEvent(const gloox::Event& event) override;

 private:
  void loop();
  void runQueued();

  Account account_;
  tern::Config config_;
  StanzaHook hook_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void(tern::Engine&)>> queue_;
  bool running_ = false;   // the loop accepts work
  bool stopping_ = false;  // stop() asked
  bool loggedIn_ = false;
  bool finished_ = false;  // login failed or connection lost
  std::string error_;
  std::optional<Clock::time_point> pong_;

  std::thread thread_;
  // Touched on the Endpoint's thread only.
  std::unique_ptr<gloox::Client> client_;
  std::unique_ptr<tern::Engine> engine_;
};

}  // namespace tern::bench
