// Tern public API: the engine an app creates over its gloox client.
//
// Threading (see docs/threading.md):
// - Create, use and destroy the Engine on the app's XMPP thread: the thread that
//   calls gloox's recv(). Tern touches gloox objects only there.
// - Each Engine runs one network thread of its own (ICE, DTLS, SCTP). Work for
//   the XMPP thread is queued; the app lets it run by calling processEvents()
//   after each recv(), or by calling pump() instead of recv(). Config::wakeup
//   tells an app with its own event loop that work is waiting.
// - All app callbacks run on the XMPP thread from inside processEvents().
#pragma once

#include <tern/call.hpp>
#include <tern/config.hpp>
#include <tern/error.hpp>
#include <tern/export.hpp>
#include <tern/file_transfer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gloox {
class Client;
}

namespace tern {

/// Options of one outgoing file.
struct SendOptions {
    std::string name;          ///< name to offer; default: the file's own name
    std::string mediaType;     ///< default: application/octet-stream
    std::string description;
};

class TERN_EXPORT Engine {
public:
    /// Registers Tern's Jingle handlers and disco features on `client`. Call it
    /// before client.connect(). The client must outlive the Engine.
    explicit Engine(gloox::Client& client, Config config = {});
    /// Cancels every session (telling peers when still possible), stops the
    /// network thread and unregisters from the client. No callback runs after.
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Offers a file to `peer`: a full JID, a bare JID (a resource seen online
    /// that supports file transfer is chosen) or an `xmpp:` URI. Synchronous
    /// errors: InvalidArgument (bad JID, unreadable file). Everything later comes
    /// through the transfer's callbacks (PeerUnavailable, FeatureNotSupported,
    /// Declined, NoIcePath, ...).
    Result<std::shared_ptr<FileTransfer>> sendFile(const std::string& peer, const std::string& path,
                                                   SendOptions options = {});

    /// Incoming offers. Without a handler every offer is declined.
    void onFileOffer(std::function<void(std::shared_ptr<IncomingFileOffer>)> cb);

    /// Calls `peer`: a bare JID rings every device of the contact (XEP-0353 JMI
    /// propose), a full JID rings that device. The call starts in Ringing;
    /// everything later comes through its callbacks. Synchronous errors:
    /// InvalidArgument (bad JID, no medium), NotConnected.
    Result<std::shared_ptr<Call>> call(const std::string& peer, CallMedia media = {});

    /// Incoming calls, in Ringing: the app accepts or rejects them. Without a
    /// handler every incoming call is rejected (busy).
    void onIncomingCall(std::function<void(std::shared_ptr<Call>)> cb);

    /// Runs queued work and callbacks. XMPP thread only.
    void processEvents();

    /// Waits up to `maxWait` for XMPP input or queued work, then runs gloox's
    /// recv() and processEvents(). Returns false when the XMPP connection is gone.
    bool pump(std::chrono::milliseconds maxWait);

    /// STUN/TURN servers in use (configured plus discovered through XEP-0215).
    std::vector<IceServer> iceServers() const;

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace tern
