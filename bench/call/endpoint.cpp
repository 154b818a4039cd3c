#include "endpoint.hpp"

#include <gloox/connectiontcpbase.h>
#include <gloox/event.h>
#include <gloox/jid.h>
#include <sys/socket.h>

#include <utility>

namespace tern::bench {

namespace {
// Longest wait of the loop for XMPP input or engine work; posted work waits at most this long.
constexpr std::chrono::milliseconds kPumpWait{5};
}  // namespace

Endpoint::Endpoint(Account account, tern::Config config, StanzaHook onOutgoing)
    : account_(std::move(account)), config_(std::move(config)), hook_(std::move(onOutgoing)) {}

Endpoint::~Endpoint() { stop(); }

bool Endpoint::start(std::chrono::seconds timeout) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (thread_.joinable()) return loggedIn_;
    running_ = true;
  }
  thread_ = std::thread([this] { loop(); });
  std::unique_lock<std::mutex> lock(mutex_);
  bool done = cv_.wait_for(lock, timeout, [this] { return loggedIn_ || finished_; });
  if (!done && error_.empty()) error_ = "login timed out";
  bool ok = loggedIn_;
  lock.unlock();
  if (!ok) stop();
  return ok;
}

void Endpoint::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Endpoint::run(std::function<void(tern::Engine&)> fn) {
  std::mutex m;
  std::condition_variable done;
  bool ran = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return false;
    queue_.push_back([&](tern::Engine& engine) {
      fn(engine);
      std::lock_guard<std::mutex> l(m);
      ran = true;
      done.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(m);
  done.wait(lock, [&] { return ran; });
  return true;
}

void Endpoint::post(std::function<void(tern::Engine&)> fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (running_) queue_.push_back(std::move(fn));
}

std::optional<double> Endpoint::pingMs(const std::string& to, std::chrono::milliseconds timeout) {
  Clock::time_point sent{};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pong_.reset();
  }
  bool ok = run([&](tern::Engine&) {
    sent = Clock::now();
    client_->xmppPing(gloox::JID(to), this);
  });
  if (!ok) return std::nullopt;
  std::unique_lock<std::mutex> lock(mutex_);
  if (!cv_.wait_for(lock, timeout, [this] { return pong_.has_value() || finished_; }) || !pong_)
    return std::nullopt;
  return msBetween(sent, *pong_);
}

std::string Endpoint::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

void Endpoint::onConnect() {
  std::lock_guard<std::mutex> lock(mutex_);
  loggedIn_ = true;
  cv_.notify_all();
}

void Endpoint::onDisconnect(gloox::ConnectionError e) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_.empty() && !stopping_) {
    error_ = e == gloox::ConnAuthenticationFailed ? "login failed: wrong account or password"
                                                  : "XMPP connection ended (gloox error " +
                                                        std::to_string(static_cast<int>(e)) + ")";
  }
  finished_ = true;
  cv_.notify_all();
}

void Endpoint::handleLog(gloox::LogLevel, gloox::LogArea area, const std::string& message) {
  if (!hook_) return;
  if (area == gloox::LogAreaXmlOutgoing) hook_(message, Clock::now(), true);
  if (area == gloox::LogAreaXmlIncoming) hook_(message, Clock::now(), false);
}

void Endpoint::handleEvent(const gloox::Event& event) {
  if (event.eventType() != gloox::Event::PingPong && event.eventType() != gloox::Event::PingError)
    return;
  auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  if (event.eventType() == gloox::Event::PingPong) pong_ = now;
  cv_.notify_all();
}

void Endpoint::runQueued() {
  std::deque<std::function<void(tern::Engine&)>> work;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    work.swap(queue_);
  }
  for (auto& fn : work) fn(*engine_);
}

void Endpoint::loop() {
  gloox::JID jid(account_.jid);
  client_ = std::make_unique<gloox::Client>(jid, account_.password);
  client_->registerConnectionListener(this);
  client_->setServer(account_.host);
  client_->setPort(account_.port);
  client_->setTls(gloox::TLSOptional);
  if (hook_) {
    client_->logInstance().registerLogHandler(
        gloox::LogLevelDebug, gloox::LogAreaXmlOutgoing | gloox::LogAreaXmlIncoming, this);
  }
  engine_ = std::make_unique<tern::Engine>(*client_, config_);
  if (!client_->connect(false)) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_.empty()) error_ = "cannot reach the XMPP server";
    finished_ = true;
    cv_.notify_all();
  }
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ || finished_) break;
    }
    if (!engine_->pump(kPumpWait)) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error_.empty()) error_ = "XMPP connection lost";
      finished_ = true;
      cv_.notify_all();
      break;
    }
    runQueued();
  }
  // Work queued before stop() still runs (waiters of run() are released), then no more.
  runQueued();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = false;
  }
  runQueued();
  engine_.reset();
  client_->disconnect();
  client_.reset();
}

}  // namespace tern::bench
