// Real XMPP (Prosody) and TURN (coturn) servers for tests, started on
// 127.0.0.1 (or Options::listenAddress) with random free ports and a temporary
// configuration, and stopped again when the Testbed is destroyed.
//
// The servers are children of the calling thread with PR_SET_PDEATHSIG(SIGKILL):
// start() the Testbed from a thread that outlives it (the test's main thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tern::testbed {

// Thrown by Testbed::start() when a server cannot be set up; the message says
// which step failed and carries the tail of the server's log.
class TestbedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Account {
    std::string name;      // "alice"
    std::string jid;       // "alice@localhost"
    std::string password;  // random
};

struct TurnCredentials {
    std::string username;  // the expiry time, in seconds since the epoch
    std::string password;  // base64(HMAC-SHA1(secret, username))
};

// Credentials of coturn's REST API (--use-auth-secret) valid for `ttl` from now:
// the same scheme Prosody's mod_turn_external hands out.
TurnCredentials turnCredentials(const std::string& secret, std::chrono::seconds ttl);

struct Options {
    std::vector<std::string> accounts{"alice", "bob", "carol"};  // registered with random passwords
    bool turn = true;     // start coturn and announce it via XEP-0215 (mod_turn_external)
    bool bosh = true;     // mod_bosh on an HTTP port
    bool proxy65 = true;  // XEP-0065 proxy component "proxy.<domain>"
    // Loads tests/support/prosody/mod_tern_tamper.lua: Jingle IQs from resources named
    // "tamper-fingerprint*", "strip-fingerprint*" or "tamper-hash*" are altered in
    // flight (a hostile server), everything else passes untouched.
    bool tamper = false;
    // If set, the testbed's directory (config, data, logs) is made inside this
    // directory and kept. Otherwise it is made under $TMPDIR (or /tmp) and
    // removed by stop(), unless the environment has TERN_KEEP_TESTBED=1.
    std::filesystem::path keepDir;
    std::chrono::milliseconds startTimeout{15000};  // per server, for it to become ready
    // The IPv4 address every server listens on and announces (XEP-0215 services, the
    // proxy65 address, coturn's relay address) instead of 127.0.0.1: e.g. the public
    // segment's address when the testbed runs inside a network namespace (NAT lab).
    // Empty: 127.0.0.1. The readiness probes connect to this address.
    std::string listenAddress;
    // coturn also accepts TURN over TLS (RFC 5766 section 2.1, "turns:" in RFC 7065) on a
    // second port, with a self-signed certificate made at start for listenAddress
    // (turnCertificate()), and XEP-0215 announces it (mod_turn_external's tls port).
    // TURN over TCP on turnPort() is announced either way. Needs turn.
    bool turnTls = false;
};

class Testbed {
public:
    // Starts the servers and returns once they accept connections.
    // Throws TestbedError (with the server's log tail) otherwise.
    static std::unique_ptr<Testbed> start(const Options& options = {});

    ~Testbed();
    Testbed(const Testbed&) = delete;
    Testbed& operator=(const Testbed&) = delete;

    // Stops the servers (SIGTERM to their process groups, SIGKILL after 5 s),
    // reaps them and removes the directory unless it is to be kept. Idempotent.
    void stop();

    const std::string& domain() const;  // "localhost"
    const std::string& host() const;    // where every server listens: "127.0.0.1" or Options::listenAddress
    std::uint16_t c2sPort() const;
    std::uint16_t httpPort() const;  // 0 without BOSH
    std::string boshUrl() const;     // "http://127.0.0.1:<port>/http-bind", empty without BOSH

    bool hasTurn() const;
    const std::string& turnHost() const;  // host()
    std::uint16_t turnPort() const;       // UDP and TCP; 0 without TURN
    const std::string& turnSecret() const;
    const std::string& turnRealm() const;  // "localhost"
    std::uint16_t turnTlsPort() const;     // TURN over TLS; 0 without Options::turnTls
    // PEM certificate of the TLS port (self-signed, subjectAltName IP:host(),
    // DNS:localhost): what a client trusts. Empty without Options::turnTls.
    const std::filesystem::path& turnCertificate() const;

    std::string proxy65Jid() const;       // "proxy.localhost", empty without proxy65
    std::uint16_t proxy65Port() const;    // 0 without proxy65

    // Throws std::out_of_range for a name not in Options::accounts.
    const Account& account(const std::string& name) const;
    const std::vector<Account>& accounts() const;

    const std::filesystem::path& dir() const;
    bool keepsDir() const;  // dir() survives stop()
    pid_t prosodyPid() const;  // 0 while stopped (stopProsody())
    pid_t turnPid() const;     // 0 without TURN

    // A real server outage, for fault-injection tests (Frozen in integration.hpp only
    // makes a server stop answering).
    //
    // stopProsody(): SIGTERM to Prosody's process group (it closes every client stream
    // with <system-shutdown/>), SIGKILL after 5 s, and reaps it: every client's TCP
    // connection breaks. Configuration, data (the accounts) and log stay. Idempotent.
    void stopProsody();
    // Starts Prosody again with the same configuration, ports and data directory and
    // returns once it accepts connections again (readiness as in start(), judged by
    // the log lines of this run only). Throws TestbedError if it is running or does not
    // become ready (a port taken meanwhile is not retried: the clients know the port).
    void startProsody();
    void restartProsody();  // stopProsody(), then startProsody()
    bool prosodyRunning() const;
    // Reaps coturn, however it ended (a test may SIGKILL turnPid()) or stops it if it
    // runs, and starts it again on the same ports with the same secret, relay range
    // and certificate; returns once it serves STUN again. turnPid() changes.
    // Allocations made before are gone. Throws TestbedError (also without TURN).
    void restartTurn();
    bool turnRunning() const;

    // The last `lines` lines of a file in dir(), e.g. "prosody.log", "turn.log".
    std::string logTail(const std::string& file, std::size_t lines = 30) const;

private:
    struct Impl;
    explicit Testbed(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern::testbed
