// Tern public API: peer-to-peer file transfer (XEP-0234 over an SCTP data
// channel, DTLS, ICE).
//
// Threading: every method must be called on the app's XMPP thread (the thread
// that runs gloox's recv() and Engine::processEvents()/pump()), and every
// callback is called on that thread, from inside processEvents(), never while
// Tern holds an internal lock. Once cancel() has returned or the last handle is
// destroyed, no callback of that transfer runs again.
#pragma once

#include <tern/error.hpp>
#include <tern/export.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tern {

class Engine;

/// File metadata as offered (XEP-0234 `<file/>`).
struct FileInfo {
    std::string name;         ///< as offered by the sender (not yet sanitised)
    std::uint64_t size = 0;   ///< bytes
    std::string mediaType;    ///< e.g. "application/octet-stream"; may be empty
    std::string date;         ///< XEP-0082 date-time of last modification; may be empty
    std::string description;  ///< may be empty
    std::string sha256;       ///< lower-case hex of the announced SHA-256; may be empty
};

/// The network path a session uses, as chosen by ICE.
struct PathInfo {
    std::string localType;       ///< host, srflx, prflx or relay
    std::string remoteType;      ///< host, srflx, prflx or relay
    std::string localAddress;    ///< "ip:port"
    std::string remoteAddress;   ///< "ip:port"
    std::string relayProtocol;   ///< udp, tcp or tls when localType is relay; else empty
};

struct TransferProgress {
    std::uint64_t bytes = 0;      ///< transferred so far
    std::uint64_t total = 0;      ///< file size
    double bytesPerSecond = 0;    ///< recent rate
};

/// What a finished transfer reports.
struct TransferResult {
    std::string path;        ///< receiver: the final file; sender: the file sent
    std::uint64_t bytes = 0;
    std::string sha256;      ///< SHA-256 of the data, lower-case hex
    /// True when the sender announced a SHA-256 (in the offer or a checksum) and
    /// it matched. False only for peers that announce no hash at all.
    bool verified = true;
    PathInfo route;          ///< the ICE pair used
    double seconds = 0;      ///< from the channel opening to completion
};

enum class TransferState { Offered, Connecting, Transferring, Verifying, Completed, Failed, Cancelled };

class TERN_EXPORT FileTransfer {
public:
    enum class Direction { Send, Receive };
    class Impl;

    ~FileTransfer();
    FileTransfer(const FileTransfer&) = delete;
    FileTransfer& operator=(const FileTransfer&) = delete;

    Direction direction() const;
    const FileInfo& file() const;
    std::string peer() const;  ///< full JID of the peer
    std::string sid() const;   ///< Jingle session id
    TransferState state() const;
    PathInfo route() const;    ///< empty until ICE has selected a pair

    /// The ICE/DTLS/SCTP path is up and the data channel is open.
    void onConnected(std::function<void(const PathInfo&)> cb);
    /// Bytes moved; called at most about ten times a second, and once at the end.
    void onProgress(std::function<void(const TransferProgress&)> cb);
    /// The transfer finished and the hash was verified (receiver), or the receiver
    /// confirmed it (sender).
    void onComplete(std::function<void(const TransferResult&)> cb);
    /// The transfer failed or was cancelled by the peer; a receiver leaves no
    /// complete-looking file behind.
    void onError(std::function<void(const Error&)> cb);

    /// Stops the transfer and tells the peer (session-terminate `<cancel/>`).
    /// No callback runs after this returns.
    void cancel();

private:
    friend class Engine;
    friend class IncomingFileOffer;
    explicit FileTransfer(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

/// An incoming file offer. Accept or decline it; an offer left alone is
/// declined when the last handle is destroyed.
class TERN_EXPORT IncomingFileOffer {
public:
    class Impl;
    struct AcceptOptions {
        bool overwrite = false;  ///< replace an existing file of the same name
    };

    ~IncomingFileOffer();
    IncomingFileOffer(const IncomingFileOffer&) = delete;
    IncomingFileOffer& operator=(const IncomingFileOffer&) = delete;

    const FileInfo& file() const;
    std::string peer() const;  ///< full JID of the sender
    std::string sid() const;

    /// The name the file will get in a directory: a single path component with
    /// directories, control characters and reserved names removed.
    std::string safeName() const;

    /// Accepts into `directory`. The data goes to "<safeName>.part" and is renamed
    /// to "<safeName>" only after the hash matched.
    Result<std::shared_ptr<FileTransfer>> accept(const std::string& directory, AcceptOptions options);
    Result<std::shared_ptr<FileTransfer>> accept(const std::string& directory) { return accept(directory, AcceptOptions{}); }
    /// Declines (session-terminate `<decline/>`).
    void decline();

private:
    friend class Engine;
    explicit IncomingFileOffer(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace tern
