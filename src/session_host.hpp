// What a session needs from its engine. Implemented by Engine::Impl; all
// methods are XMPP-thread only unless stated.
#pragma once

#include <tern/config.hpp>

#include "tern/signaling/jingle.hpp"
#include "tern/signaling/session_table.hpp"
#include "tern/transport/certificate.hpp"
#include "tern/transport/ice_transport.hpp"
#include "tern/transport/network_thread.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace gloox {
class IQ;
class JID;
class Tag;
}  // namespace gloox

namespace tern::impl {

class MediaEngine;

class SessionHost {
public:
    virtual ~SessionHost() = default;
    /// Sends a Jingle IQ set; `done` gets the result or error IQ (or a timeout as nullptr).
    virtual void sendJingle(const gloox::JID& to, const signaling::Jingle& jingle,
                            std::function<void(const gloox::IQ*)> done) = 0;
    /// Sends a stanza built elsewhere (takes ownership), e.g. a JMI <message/>.
    virtual void sendStanza(gloox::Tag* stanza) = 0;
    /// True when an available resource of this bare JID has been seen (presence).
    virtual bool knownOnline(const std::string& bareJid) const = 0;
    /// The media worker threads (created on first use).
    virtual MediaEngine& mediaEngine() = 0;
    /// Queues `fn` on the XMPP thread (any thread may call this).
    virtual void postToXmpp(std::function<void()> fn) = 0;
    /// Runs `fn` on the XMPP thread after `delay`.
    virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
    virtual transport::NetworkThread& network() = 0;
    virtual std::shared_ptr<transport::Certificate> certificate() = 0;
    virtual transport::IceConfig iceConfig(bool controlling) = 0;
    virtual const Config& config() const = 0;
    virtual signaling::SessionTable& table() = 0;
    virtual const gloox::JID& self() const = 0;
    /// The session has ended and may be forgotten by the engine.
    virtual void sessionEnded(const std::string& key) = 0;
};

}  // namespace tern::impl
