// Shared plumbing of the sample programs: account flags, login, exit codes and
// the progress display.
#pragma once

#include <tern/engine.hpp>

#include <CLI/CLI.hpp>
#include <gloox/client.h>
#include <gloox/connectionlistener.h>
#include <gloox/loghandler.h>
#include <gloox/subscriptionhandler.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace samples {

/// One exit code per outcome, documented in the README and `--help`.
enum Exit : int {
    kOk = 0,
    kFailed = 1,          ///< anything not listed below
    kBadArguments = 2,
    kLoginFailed = 3,
    kPeerUnavailable = 4,
    kNoFeature = 5,
    kDeclined = 6,
    kNoIcePath = 7,
    kHashMismatch = 8,
    kCancelled = 9,
    kSecurity = 10,
    kIo = 11,
    kPeerGone = 12,
    kTimeout = 13,
};
int exitCodeFor(tern::ErrorCategory category);
extern const char* kExitCodeHelp;

struct AccountOptions {
    std::string jid;
    std::string password;
    std::string server;   ///< host to connect to; default: the JID's domain
    int port = 5222;
    std::string bosh;     ///< BOSH URL instead of TCP, e.g. http://127.0.0.1:5280/http-bind
    std::string tls = "optional";
    std::vector<std::string> localAddresses;
    std::vector<std::string> turn;  ///< turn:user:pass@host:port[?transport=tcp]
    std::vector<std::string> stun;  ///< host:port
    bool relayOnly = false;
    std::string icePorts;      ///< MIN-MAX UDP port range for ICE sockets
    bool sctpmap = false;
    bool verbose = false;
    bool xmlLog = false;       ///< --xml-log / TERN_XML_LOG: stanzas to stderr
};

/// Adds --jid/--password/--server/... (with TERN_* environment fallbacks).
void addAccountOptions(CLI::App& app, AccountOptions& options);

/// Parses the command line and checks that an account was given. Returns the
/// exit code to leave with (after printing why) when the program must not go on,
/// e.g. bad arguments or --help.
std::optional<int> parseCommandLine(CLI::App& app, int argc, char** argv, const AccountOptions& account,
                                    const char* program);

/// Approves presence subscriptions, so that contacts who know only our bare JID
/// can find this resource; only from `allowed` bare JIDs when that is not empty.
class SubscriptionApprover : public gloox::SubscriptionHandler {
public:
    SubscriptionApprover(gloox::Client& client, std::vector<std::string> allowed = {})
        : client_(client), allowed_(std::move(allowed)) {}
    void handleSubscription(const gloox::Subscription& s) override;

private:
    gloox::Client& client_;
    std::vector<std::string> allowed_;
};

/// A logged-in client plus its Engine.
class Session : public gloox::ConnectionListener, public gloox::LogHandler {
public:
    explicit Session(const AccountOptions& options);
    ~Session() override;
    /// Connects and logs in; on failure prints one line and returns false.
    bool login(std::chrono::seconds timeout);
    gloox::Client& client() { return *client_; }
    tern::Engine& engine() { return *engine_; }
    bool connected() const { return connected_; }
    bool pump(std::chrono::milliseconds wait) { return engine_->pump(wait); }
    std::string error() const { return error_; }

    void onConnect() override { connected_ = true; }
    void onDisconnect(gloox::ConnectionError e) override;
    bool onTLSConnect(const gloox::CertInfo&) override { return true; }
    void handleLog(gloox::LogLevel level, gloox::LogArea area, const std::string& message) override;

private:
    std::unique_ptr<gloox::Client> client_;
    std::unique_ptr<tern::Engine> engine_;
    bool connected_ = false;
    bool disconnected_ = false;
    std::string error_;
};

/// Progress display: a bar on a terminal, plain lines (one a second) otherwise.
class Progress {
public:
    explicit Progress(std::string label, bool enabled = true);
    void update(std::uint64_t bytes, std::uint64_t total, double rate);
    void finish();

private:
    std::string label_;
    bool enabled_;
    bool tty_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
};

std::string humanBytes(double bytes);
std::string describeRoute(const tern::PathInfo& path);
/// Installs SIGINT/SIGTERM handlers that set a flag read by interrupted().
void installSignalHandlers();
bool interrupted();

}  // namespace samples
