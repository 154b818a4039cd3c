#include "tern/testbed/test_client.hpp"

#include "tern/testbed/testbed.hpp"

#include <gloox/connectionbosh.h>
#include <gloox/connectiontcpclient.h>
#include <gloox/stanzaextension.h>

#include <cstdlib>
#include <iterator>
#include <iostream>

namespace tern::testbed {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kLogLines = 200;
constexpr auto kPumpSlice = std::chrono::milliseconds(50);

std::string describe(gloox::ConnectionError e) {
    switch (e) {
        case gloox::ConnNoError: return "no error";
        case gloox::ConnStreamError: return "stream error";
        case gloox::ConnStreamVersionError: return "stream version error";
        case gloox::ConnStreamClosed: return "stream closed by the server";
        case gloox::ConnIoError: return "I/O error";
        case gloox::ConnParseError: return "XML parse error";
        case gloox::ConnConnectionRefused: return "connection refused";
        case gloox::ConnDnsError: return "DNS error";
        case gloox::ConnNoSupportedAuth: return "no supported SASL mechanism";
        case gloox::ConnTlsFailed: return "TLS failed";
        case gloox::ConnTlsNotAvailable: return "TLS not available";
        case gloox::ConnAuthenticationFailed: return "authentication failed";
        case gloox::ConnUserDisconnected: return "disconnected by the client";
        case gloox::ConnNotConnected: return "not connected";
        default: return "connection error " + std::to_string(static_cast<int>(e));
    }
}

std::string describe(gloox::AuthenticationError e) {
    static const char* const names[] = {"undefined",           "aborted",          "incorrect-encoding",
                                        "invalid-authzid",     "invalid-mechanism", "malformed-request",
                                        "mechanism-too-weak",  "not-authorized",    "temporary-auth-failure"};
    auto i = static_cast<std::size_t>(e);
    return i < std::size(names) ? names[i] : "error " + std::to_string(i);
}

}  // namespace

TestClient::TestClient(const Testbed& bed, const std::string& account, Transport transport,
                       const std::string& resource) {
    const Account& a = bed.account(account);
    client_ = std::make_unique<gloox::Client>(gloox::JID(a.jid + "/" + resource), a.password);
    client_->setTls(gloox::TLSDisabled);
    client_->setCompression(false);
    client_->registerConnectionListener(this);
    client_->logInstance().registerLogHandler(gloox::LogLevelDebug, gloox::LogAreaAll, this);
    if (transport == Transport::Tcp) {
        client_->setServer(bed.host());
        client_->setPort(bed.c2sPort());
    } else {
        if (bed.httpPort() == 0) throw std::invalid_argument("TestClient: the testbed runs without BOSH");
        auto* http = new gloox::ConnectionTCPClient(client_->logInstance(), bed.host(), bed.httpPort());
        auto* bosh = new gloox::ConnectionBOSH(client_.get(), http, client_->logInstance(), bed.domain(),
                                               bed.domain());
        bosh->setPath("/http-bind");
        client_->setConnectionImpl(bosh);  // the client owns it, and it owns `http`
    }
    errorType_ = payloadType("error", "");  // <error/> of IQ replies, see handleIqID
}

TestClient::~TestClient() { disconnect(); }

ConnectResult TestClient::connect(std::chrono::milliseconds timeout) {
    connected_ = disconnected_ = false;
    disconnectReason_.clear();
    if (!client_->connect(false)) {
        return {false, disconnectReason_.empty() ? "cannot connect" : disconnectReason_};
    }
    if (!pumpUntil([this] { return connected_ || disconnected_; }, timeout)) {
        return {false, "not logged in after " + std::to_string(timeout.count()) + " ms"};
    }
    if (!connected_) return {false, disconnectReason_};
    return {true, {}};
}

void TestClient::disconnect() {
    if (client_ && client_->state() != gloox::StateDisconnected) client_->disconnect();
    connected_ = false;
}

void TestClient::pump(std::chrono::milliseconds timeout) {
    client_->recv(static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
}

bool TestClient::pumpUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    return pumpUntil(done, Clock::now() + timeout);
}

bool TestClient::pumpUntil(const std::function<bool()>& done, Clock::time_point deadline) {
    while (!done()) {
        auto now = Clock::now();
        if (now >= deadline) return false;
        if (client_->state() == gloox::StateDisconnected) return done();
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        pump(std::min<std::chrono::milliseconds>(kPumpSlice, left));
    }
    return true;
}

int TestClient::payloadType(const std::string& name, const std::string& xmlns) {
    const int next = gloox::ExtUser + 1 + static_cast<int>(payloadTypes_.size());
    auto [it, added] = payloadTypes_.emplace(name + " " + xmlns, next);
    if (added) {
        std::string filter = "/iq/" + name + (xmlns.empty() ? "" : "[@xmlns='" + xmlns + "']");
        client_->registerStanzaExtension(new RawPayload(it->second, filter, nullptr));
    }
    return it->second;
}

std::optional<IqReply> TestClient::request(const gloox::JID& to, gloox::IQ::IqType type, const gloox::Tag& payload,
                                           std::chrono::milliseconds timeout) {
    if (!connected_) return std::nullopt;
    int extType = payloadType(payload.name(), payload.xmlns());
    gloox::IQ iq(type, to, client_->getID());
    iq.addExtension(new RawPayload(extType, {}, payload.clone()));
    int context = nextContext_++;
    pending_[context] = extType;
    client_->send(iq, this, context);
    bool answered = pumpUntil([&] { return replies_.count(context) > 0; }, timeout);
    pending_.erase(context);
    if (!answered) return std::nullopt;
    IqReply reply = std::move(replies_[context]);
    replies_.erase(context);
    return reply;
}

std::string TestClient::logTail(std::size_t lines) const {
    std::string out;
    std::size_t skip = log_.size() > lines ? log_.size() - lines : 0;
    for (std::size_t i = skip; i < log_.size(); ++i) out += log_[i] + "\n";
    return out;
}

void TestClient::onConnect() { connected_ = true; }

void TestClient::onDisconnect(gloox::ConnectionError e) {
    connected_ = false;
    disconnected_ = true;
    disconnectReason_ = describe(e);
    if (e == gloox::ConnAuthenticationFailed) {
        disconnectReason_ += " (SASL " + describe(client_->authError()) + ")";
    } else if (e == gloox::ConnStreamError) {
        disconnectReason_ += " (" + std::to_string(static_cast<int>(client_->streamError())) + ": " +
                             client_->streamErrorText() + ")";
    }
}

bool TestClient::onTLSConnect(const gloox::CertInfo&) { return true; }

void TestClient::handleLog(gloox::LogLevel, gloox::LogArea, const std::string& message) {
    log_.push_back(message);
    if (log_.size() > kLogLines) log_.pop_front();
    static const bool verbose = std::getenv("TERN_TESTCLIENT_LOG") != nullptr;
    if (verbose) std::cerr << client_->jid().bare() << ": " << message << "\n";
}

bool TestClient::handleIq(const gloox::IQ&) { return false; }

void TestClient::handleIqID(const gloox::IQ& iq, int context) {
    auto pending = pending_.find(context);
    if (pending == pending_.end()) return;
    IqReply reply;
    reply.type = iq.subtype();
    if (const auto* payload = iq.findExtension<RawPayload>(pending->second); payload && payload->raw())
        reply.payload.reset(payload->raw()->clone());
    if (const auto* error = iq.findExtension<RawPayload>(errorType_); error && error->raw())
        reply.error = error->raw()->xml();
    replies_[context] = std::move(reply);
}

}  // namespace tern::testbed
