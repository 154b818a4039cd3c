#include "common.hpp"

#include <gloox/connectionbosh.h>
#include <gloox/connectiontcpclient.h>
#include <gloox/subscription.h>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace samples {

namespace {
volatile std::sig_atomic_t gInterrupted = 0;
void onSignal(int) { gInterrupted = 1; }

bool parseUrl(const std::string& url, std::string& host, int& port, std::string& path) {
    auto rest = url;
    if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
    else return false;
    auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    path = slash == std::string::npos ? "/" : rest.substr(slash);
    auto colon = hostport.rfind(':');
    host = hostport.substr(0, colon);
    port = colon == std::string::npos ? 80 : std::atoi(hostport.c_str() + colon + 1);
    return !host.empty() && port > 0;
}

// turn:user:pass@host:port[?transport=tcp|tls]
bool parseTurn(const std::string& spec, tern::IceServer& out) {
    std::string s = spec;
    if (s.rfind("turn:", 0) == 0) s = s.substr(5);
    out.kind = tern::IceServer::Kind::Turn;
    auto q = s.find('?');
    if (q != std::string::npos) {
        auto params = s.substr(q + 1);
        s = s.substr(0, q);
        if (params == "transport=tcp") out.protocol = tern::IceServer::Protocol::Tcp;
        else if (params == "transport=tls") out.protocol = tern::IceServer::Protocol::Tls;
    }
    auto at = s.rfind('@');
    if (at == std::string::npos) return false;
    auto cred = s.substr(0, at), hostport = s.substr(at + 1);
    auto c = cred.find(':');
    if (c == std::string::npos) return false;
    out.username = cred.substr(0, c);
    out.password = cred.substr(c + 1);
    auto p = hostport.rfind(':');
    out.host = hostport.substr(0, p);
    out.port = static_cast<std::uint16_t>(p == std::string::npos ? 3478 : std::atoi(hostport.c_str() + p + 1));
    return !out.host.empty();
}
}  // namespace

const char* kExitCodeHelp =
    "Exit codes: 0 done, 1 other failure, 2 bad arguments, 3 login failed, 4 peer offline,\n"
    "5 peer lacks the feature, 6 declined, 7 no ICE path, 8 hash mismatch, 9 cancelled,\n"
    "10 security (DTLS) failure, 11 file I/O error, 12 peer stopped responding, 13 timed out.";

int exitCodeFor(tern::ErrorCategory c) {
    using C = tern::ErrorCategory;
    switch (c) {
    case C::InvalidArgument: return kBadArguments;
    case C::NotConnected: return kLoginFailed;
    case C::PeerUnavailable: return kPeerUnavailable;
    case C::FeatureNotSupported: return kNoFeature;
    case C::Declined: return kDeclined;
    case C::Cancelled: return kCancelled;
    case C::NoIcePath: return kNoIcePath;
    case C::Security: return kSecurity;
    case C::HashMismatch: return kHashMismatch;
    case C::Io: return kIo;
    case C::PeerGone: return kPeerGone;
    case C::Timeout: return kTimeout;
    default: return kFailed;
    }
}

void addAccountOptions(CLI::App& app, AccountOptions& o) {
    app.add_option("--jid", o.jid, "your account (JID)")->envname("TERN_JID");
    app.add_option("--password", o.password, "your password")->envname("TERN_PASSWORD");
    app.add_option("--server", o.server, "XMPP server host (default: the JID's domain)")->envname("TERN_SERVER");
    app.add_option("--port", o.port, "XMPP client port")->envname("TERN_PORT");
    app.add_option("--bosh", o.bosh, "connect over BOSH to this http:// URL instead of TCP")->envname("TERN_BOSH_URL");
    app.add_option("--tls", o.tls, "TLS: required, optional or disabled")->check(CLI::IsMember({"required", "optional", "disabled"}));
    app.add_option("--local-address", o.localAddresses, "restrict ICE to these local addresses (repeatable)")
        ->allow_extra_args(false)
        ->envname("TERN_LOCAL_ADDRESS");
    app.add_option("--turn", o.turn, "extra TURN server turn:USER:PASS@HOST:PORT[?transport=tcp|tls] (repeatable)")->allow_extra_args(false);
    app.add_option("--stun", o.stun, "extra STUN server HOST:PORT (repeatable)")->allow_extra_args(false);
    app.add_option("--ice-ports", o.icePorts, "UDP port range MIN-MAX for ICE sockets (e.g. to match firewall rules)")
        ->check([](const std::string& v) -> std::string {
            unsigned lo = 0, hi = 0;
            char dash = 0;
            std::istringstream in(v);
            if (!(in >> lo >> dash >> hi) || dash != '-' || !in.eof() || lo == 0 || hi < lo || hi > 65535)
                return "expected MIN-MAX with 1 <= MIN <= MAX <= 65535";
            return {};
        });
    app.add_flag("--relay-only", o.relayOnly, "use TURN relays only; never reveal local addresses");
    app.add_flag("--sctpmap", o.sctpmap, "offer the XEP-0343 sctpmap dialect instead of webrtc-datachannel");
    app.add_flag("-v,--verbose", o.verbose, "log engine details to stderr");
    app.add_flag("--xml-log", o.xmlLog, "print every XMPP stanza sent and received to stderr")->envname("TERN_XML_LOG");
}

Session::Session(const AccountOptions& o) {
    gloox::JID jid(o.jid);
    client_ = std::make_unique<gloox::Client>(jid, o.password);
    client_->registerConnectionListener(this);
    client_->setTls(o.tls == "required" ? gloox::TLSRequired : o.tls == "disabled" ? gloox::TLSDisabled : gloox::TLSOptional);
    std::string server = o.server.empty() ? jid.server() : o.server;
    if (!o.bosh.empty()) {
        std::string host, path;
        int port = 0;
        if (parseUrl(o.bosh, host, port, path)) {
            auto* tcp = new gloox::ConnectionTCPClient(client_->logInstance(), host, port);
            auto* bosh = new gloox::ConnectionBOSH(client_.get(), tcp, client_->logInstance(), host, jid.server());
            bosh->setPath(path);
            client_->setConnectionImpl(bosh);
            client_->setTls(gloox::TLSDisabled);
        } else {
            error_ = "not an http:// BOSH URL: " + o.bosh;
        }
    } else {
        client_->setServer(server);
        client_->setPort(o.port);
    }
    tern::Config config;
    config.localAddresses = o.localAddresses;
    config.relayOnly = o.relayOnly;
    if (!o.icePorts.empty()) {
        unsigned lo = 0, hi = 0;
        char dash = 0;
        std::istringstream(o.icePorts) >> lo >> dash >> hi;  // checked by the option
        config.portMin = static_cast<std::uint16_t>(lo);
        config.portMax = static_cast<std::uint16_t>(hi);
    }
    config.offerDialect = o.sctpmap ? tern::DataChannelDialect::Sctpmap : tern::DataChannelDialect::WebrtcDatachannel;
    for (const auto& t : o.turn) {
        tern::IceServer s;
        if (parseTurn(t, s)) config.iceServers.push_back(s);
        else error_ = "not a TURN server spec: " + t;
    }
    for (const auto& s : o.stun) {
        tern::IceServer server;
        auto p = s.rfind(':');
        server.host = s.substr(0, p);
        server.port = static_cast<std::uint16_t>(p == std::string::npos ? 3478 : std::atoi(s.c_str() + p + 1));
        config.iceServers.push_back(server);
    }
    if (o.xmlLog)
        client_->logInstance().registerLogHandler(gloox::LogLevelDebug, gloox::LogAreaXmlIncoming | gloox::LogAreaXmlOutgoing, this);
    bool verbose = o.verbose;
    config.log = [verbose](tern::LogLevel level, const std::string& message) {
        if (verbose || level >= tern::LogLevel::Warning) std::fprintf(stderr, "tern: %s\n", message.c_str());
    };
    engine_ = std::make_unique<tern::Engine>(*client_, config);
}

Session::~Session() {
    engine_.reset();
    if (client_) client_->disconnect();
}

void Session::handleLog(gloox::LogLevel, gloox::LogArea area, const std::string& message) {
    std::fprintf(stderr, "%s %s\n", area == gloox::LogAreaXmlIncoming ? "<<" : ">>", message.c_str());
}

void Session::onDisconnect(gloox::ConnectionError e) {
    disconnected_ = true;
    connected_ = false;
    if (e == gloox::ConnAuthenticationFailed) error_ = "login failed: wrong account or password";
    else if (e == gloox::ConnConnectionRefused || e == gloox::ConnDnsError) error_ = "cannot reach the XMPP server";
    else if (e == gloox::ConnUserDisconnected) error_ = "disconnected";
    else if (e == gloox::ConnStreamError && client_->streamError() == gloox::StreamErrorSystemShutdown)
        error_ = "the XMPP server shut down";
    else if (e == gloox::ConnStreamError) error_ = "the XMPP server closed the stream with an error";
    else if (e == gloox::ConnStreamClosed || e == gloox::ConnIoError) error_ = "the connection to the XMPP server broke";
    else error_ = "the XMPP connection failed (gloox error " + std::to_string(static_cast<int>(e)) + ")";
}

bool Session::login(std::chrono::seconds timeout) {
    if (!error_.empty()) return false;
    if (!client_->connect(false)) {
        if (error_.empty()) error_ = "cannot reach the XMPP server";
        return false;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!connected_ && !disconnected_ && std::chrono::steady_clock::now() < deadline && !interrupted()) {
        if (!engine_->pump(std::chrono::milliseconds(50)) && !connected_) break;
    }
    if (!connected_ && error_.empty()) error_ = "login timed out";
    return connected_;
}

Progress::Progress(std::string label, bool enabled) : label_(std::move(label)), enabled_(enabled), tty_(isatty(STDOUT_FILENO)) {}

std::string humanBytes(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

void Progress::update(std::uint64_t bytes, std::uint64_t total, double rate) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (!tty_ && bytes != total && now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    double pct = total ? 100.0 * static_cast<double>(bytes) / static_cast<double>(total) : 100.0;
    std::string eta = "--:--";
    if (rate > 0 && total >= bytes) {
        auto s = static_cast<long>(static_cast<double>(total - bytes) / rate);
        char buf[48];
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
        eta = buf;
    }
    char line[256];
    if (tty_) {
        const int width = 30;
        int filled = static_cast<int>(pct / 100.0 * width);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.append(static_cast<std::size_t>(width - filled), '-');
        std::snprintf(line, sizeof line, "\r%s [%s] %5.1f%% %s / %s  %s/s  ETA %s ", label_.c_str(), bar.c_str(), pct,
                      humanBytes(static_cast<double>(bytes)).c_str(), humanBytes(static_cast<double>(total)).c_str(),
                      humanBytes(rate).c_str(), eta.c_str());
        std::fputs(line, stdout);
        drawn_ = true;
    } else {
        std::snprintf(line, sizeof line, "%s progress %.1f%% %llu/%llu bytes %s/s ETA %s\n", label_.c_str(), pct,
                      static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(total),
                      humanBytes(rate).c_str(), eta.c_str());
        std::fputs(line, stdout);
    }
    std::fflush(stdout);
}

void Progress::finish() {
    if (drawn_) std::fputs("\n", stdout);
    drawn_ = false;
    std::fflush(stdout);
}

std::string describeRoute(const tern::PathInfo& p) {
    if (p.localType.empty()) return "unknown";
    std::string s = p.localType + " -> " + p.remoteType + " (" + p.localAddress + " -> " + p.remoteAddress;
    if (!p.relayProtocol.empty()) s += ", relay over " + p.relayProtocol;
    return s + ")";
}

void installSignalHandlers() {
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);
    std::signal(SIGPIPE, SIG_IGN);
}

bool interrupted() { return gInterrupted != 0; }

std::optional<int> parseCommandLine(CLI::App& app, int argc, char** argv, const AccountOptions& account,
                                    const char* program) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? kOk : kBadArguments;
    }
    if (account.jid.empty() || account.password.empty()) {
        std::fprintf(stderr, "%s: --jid and --password (or TERN_JID and TERN_PASSWORD) are required\n", program);
        return kBadArguments;
    }
    return std::nullopt;
}

void SubscriptionApprover::handleSubscription(const gloox::Subscription& s) {
    if (s.subtype() != gloox::Subscription::Subscribe) return;
    bool ok = allowed_.empty();
    for (const auto& a : allowed_) ok = ok || gloox::JID(a).bare() == s.from().bare();
    client_.send(gloox::Subscription(ok ? gloox::Subscription::Subscribed : gloox::Subscription::Unsubscribed, s.from().bareJID()));
}

}  // namespace samples
