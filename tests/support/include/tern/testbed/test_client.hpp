// A gloox client logged in to a Testbed, driven by the test's own thread:
// nothing happens unless the test calls pump()/pumpUntil(), which run
// gloox::Client::recv() in short slices.
#pragma once

#include <gloox/client.h>
#include <gloox/connectionlistener.h>
#include <gloox/iq.h>
#include <gloox/iqhandler.h>
#include <gloox/loghandler.h>
#include <gloox/stanzaextension.h>
#include <gloox/tag.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace tern::testbed {

class Testbed;

struct ConnectResult {
    bool ok = false;
    std::string error;  // why not, e.g. "authentication failed (not-authorized)"
    explicit operator bool() const { return ok; }
};

struct IqReply {
    gloox::IQ::IqType type = gloox::IQ::Invalid;  // Result or Error
    std::unique_ptr<gloox::Tag> payload;          // the reply's child named like the request's payload, if any
    std::string error;                            // for an Error reply: its <error/> element as XML
};

/// Any child element of an IQ, kept as a raw Tag: lets tests send and read payloads for
/// which gloox has no class (register one per element with the client, by XPath filter).
class RawPayload : public gloox::StanzaExtension {
public:
    RawPayload(int type, std::string filter, gloox::Tag* tag)
        : gloox::StanzaExtension(type), filter_(std::move(filter)), tag_(tag) {}
    const std::string& filterString() const override { return filter_; }
    gloox::StanzaExtension* newInstance(const gloox::Tag* tag) const override {
        return new RawPayload(extensionType(), filter_, tag ? tag->clone() : nullptr);
    }
    gloox::Tag* tag() const override { return tag_ ? tag_->clone() : nullptr; }
    gloox::StanzaExtension* clone() const override { return newInstance(tag_.get()); }
    const gloox::Tag* raw() const { return tag_.get(); }

private:
    std::string filter_;
    std::unique_ptr<gloox::Tag> tag_;
};

class TestClient : public gloox::ConnectionListener, public gloox::LogHandler, public gloox::IqHandler {
public:
    enum class Transport { Tcp, Bosh };

    // Prepares (does not connect) a client for `account` of `bed`: plain TCP
    // to the c2s port, or BOSH (XEP-0124/0206) over the HTTP port. No TLS.
    TestClient(const Testbed& bed, const std::string& account, Transport transport = Transport::Tcp,
               const std::string& resource = "test");
    ~TestClient() override;
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    // Connects, authenticates and binds, pumping until done or `timeout`.
    ConnectResult connect(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    void disconnect();
    bool connected() const { return connected_; }

    // One gloox recv() of at most `timeout`.
    void pump(std::chrono::milliseconds timeout = std::chrono::milliseconds(50));
    // Pumps until `done()` holds (true) or `timeout` passes (false).
    bool pumpUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);
    bool pumpUntil(const std::function<bool()>& done, std::chrono::steady_clock::time_point deadline);

    // Sends <iq type=... to=...> carrying a copy of `payload` and pumps until the
    // reply arrives. Nothing on timeout or when not connected.
    std::optional<IqReply> request(const gloox::JID& to, gloox::IQ::IqType type, const gloox::Tag& payload,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // The gloox client, e.g. to register handlers (or setPassword() before connect()).
    gloox::Client& client() { return *client_; }
    gloox::JID jid() const { return client_->jid(); }
    // The last gloox log lines (stanzas in and out), for failure messages.
    std::string logTail(std::size_t lines = 40) const;

    // gloox callbacks.
    void onConnect() override;
    void onDisconnect(gloox::ConnectionError e) override;
    bool onTLSConnect(const gloox::CertInfo& info) override;
    void handleLog(gloox::LogLevel level, gloox::LogArea area, const std::string& message) override;
    bool handleIq(const gloox::IQ& iq) override;
    void handleIqID(const gloox::IQ& iq, int context) override;

private:
    int payloadType(const std::string& name, const std::string& xmlns);

    std::unique_ptr<gloox::Client> client_;
    bool connected_ = false;
    bool disconnected_ = false;
    std::string disconnectReason_;
    std::deque<std::string> log_;
    std::map<std::string, int> payloadTypes_;  // "name xmlns" -> StanzaExtension type
    std::map<int, int> pending_;               // context -> payload type of the request
    std::map<int, IqReply> replies_;           // by context
    int nextContext_ = 1;
    int errorType_ = 0;
};

}  // namespace tern::testbed
