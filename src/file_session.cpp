#include "file_session.hpp"
#include "jingle_util.hpp"

#include "tern/signaling/filename.hpp"
#include "tern/signaling/hashes.hpp"
#include "tern/transport/log.hpp"

#include <gloox/error.h>
#include <gloox/iq.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tern {

using signaling::ReasonCondition;
namespace sig = signaling;

namespace {

using impl::toHex;
using impl::fromHex;
using impl::toTransport;
using impl::toSignaling;
using impl::toPath;
using impl::iqError;
using impl::randomId;

std::string sha256Of(const std::vector<sig::Hash>& hashes) {
    for (const auto& h : hashes) {
        if (!sig::sameHashAlgo(h.algo, "sha-256")) continue;
        auto digest = h.decode();
        if (digest && digest->size() == 32) return toHex(*digest);
    }
    return {};
}

}  // namespace

FileTransfer::Impl::Impl(impl::SessionHost& host, Direction direction, gloox::JID peer, std::string sid)
    : host_(host), direction_(direction), peer_(std::move(peer)), sid_(std::move(sid)) {
    dialect_ = host_.config().offerDialect == DataChannelDialect::Sctpmap ? sig::DataChannelDialect::Xep0343Sctpmap
                                                                         : sig::DataChannelDialect::ConversationsWrapper;
}

FileTransfer::Impl::~Impl() {
    *hashCancel_ = true;
    if (hasher_.joinable()) hasher_.join();
    if (fd_ >= 0) ::close(fd_);
    // The Link lives on the network thread and must die there. (When the engine
    // is destroyed first, shutdown() has already released it.)
    teardownLink();
}

// ---------------------------------------------------------------- sender

void FileTransfer::Impl::prepareSend(const std::string& path, FileInfo info, int fd) {
    path_ = path;
    info_ = std::move(info);
    fd_ = fd;
    std::weak_ptr<Impl> weak = weak_from_this();
    auto cancel = hashCancel_;
    auto& host = host_;
    hasher_ = std::thread([path, weak, cancel, &host] {
        std::string sha, error;
        int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (in < 0) {
            error = std::string("cannot open the file: ") + std::strerror(errno);
        } else {
            EVP_MD_CTX* ctx = EVP_MD_CTX_new();
            EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
            std::vector<unsigned char> buf(1 << 20);
            for (;;) {
                if (*cancel) break;
                ssize_t n = ::read(in, buf.data(), buf.size());
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) {
                    error = std::string("cannot read the file: ") + std::strerror(errno);
                    break;
                }
                if (n == 0) break;
                EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(n));
            }
            unsigned char digest[EVP_MAX_MD_SIZE];
            unsigned len = 0;
            EVP_DigestFinal_ex(ctx, digest, &len);
            EVP_MD_CTX_free(ctx);
            ::close(in);
            sha = toHex(std::vector<std::uint8_t>(digest, digest + len));
        }
        if (*cancel) return;
        host.postToXmpp([weak, sha, error] {
            if (auto self = weak.lock()) self->hashDone(sha, error);
        });
    });
}

void FileTransfer::Impl::hashDone(const std::string& sha256, const std::string& error) {
    if (state_ != TransferState::Offered) return;
    if (!error.empty()) {
        finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::Io, error});
        return;
    }
    localSha256_ = sha256;
    info_.sha256 = sha256;
    hashReady_ = true;
    maybeStartOffer();
}

void FileTransfer::Impl::peerResolved(const gloox::JID& fullJid) {
    if (state_ != TransferState::Offered) return;
    peer_ = fullJid;
    peerReady_ = true;
    maybeStartOffer();
}

void FileTransfer::Impl::peerFailed(const Error& error) {
    if (state_ != TransferState::Offered) return;
    finish(TransferState::Failed, std::nullopt, error);
}

void FileTransfer::Impl::maybeStartOffer() {
    if (hashReady_ && peerReady_ && !signalledStart_) startOffer();
}

void FileTransfer::Impl::createLink(bool controlling, int fd) {
    impl::LinkConfig lc;
    lc.ice = host_.iceConfig(controlling);
    lc.dtlsRole = controlling ? transport::DtlsTransport::Role::Server : transport::DtlsTransport::Role::Client;
    lc.sctp.remotePort = remoteSctpPort_;
    lc.sender = direction_ == Direction::Send;
    lc.fd = fd;
    lc.size = info_.size;
    lc.channelLabel = "filetransfer";
    lc.channelProtocol = dialect_ == sig::DataChannelDialect::ConversationsWrapper ? "xmpp-jingle" : "";
    lc.connectTimeout = host_.config().connectTimeout;
    lc.silenceTimeout = host_.config().peerSilenceTimeout;
    // The silence bound stays what the app configured: a third of it makes a path count as
    // lost (ICE restart, RFC 8445 section 9), and the rest is what the restart has to bring
    // a path back. Longer than SCTP's heartbeat interval, so an idle path is not "lost".
    lc.pathLossTimeout = std::max(lc.silenceTimeout / 3, std::chrono::milliseconds(1000));
    lc.restartTimeout = std::max(lc.silenceTimeout - lc.pathLossTimeout, std::chrono::milliseconds(1000));
    if (remoteMaxMessage_ > 0) lc.messageSize = static_cast<std::size_t>(std::min<std::uint64_t>(remoteMaxMessage_, 65536));
    else if (dialect_ == sig::DataChannelDialect::Xep0343Sctpmap) lc.messageSize = 16384;  // browsers' safe size

    std::weak_ptr<Impl> weak = weak_from_this();
    auto& host = host_;
    auto post = [weak, &host](auto fn) {
        host.postToXmpp([weak, fn] {
            if (auto self = weak.lock()) fn(*self);
        });
    };
    impl::LinkEvents ev;
    ev.candidate = [post](const transport::IceCandidate& c) { post([c](Impl& s) { s.sendCandidate(c); }); };
    ev.gatheringDone = [post](unsigned generation) {
        post([generation](Impl& s) { s.sendGatheringDone(generation); });
    };
    ev.pathLost = [post](const std::string& reason) { post([reason](Impl& s) { s.linkPathLost(reason); }); };
    ev.pathRestored = [post] {
        post([](Impl& s) {
            s.restartPending_ = false;
            s.pathLost_ = false;
            s.lastMovedAt_ = std::chrono::steady_clock::now();
        });
    };
    ev.selected = [post](const transport::SelectedPair& p) { post([p](Impl& s) { s.route_ = toPath(p); }); };
    ev.channelOpen = [post] {
        post([](Impl& s) {
            if (s.state_ != TransferState::Connecting && s.state_ != TransferState::Offered) return;
            s.state_ = TransferState::Transferring;
            s.startedAt_ = s.lastRateAt_ = s.lastMovedAt_ = std::chrono::steady_clock::now();
            s.watchStall();
            if (s.onConnected && s.appAttached_) s.onConnected(s.route_);
        });
    };
    ev.progress = [post](std::uint64_t bytes) { post([bytes](Impl& s) { s.linkProgress(bytes); }); };
    ev.dataDone = [post](const std::string& sha) { post([sha](Impl& s) { s.linkDataDone(sha); }); };
    ev.failed = [post](ErrorCategory c, const std::string& m) { post([c, m](Impl& s) { s.linkFailed(c, m); }); };

    auto cert = host_.certificate();
    std::shared_ptr<impl::Link> link;
    host_.network().invoke([&] { link = impl::Link::create(host_.network(), cert, lc, ev); });
    link_ = std::move(link);
}

sig::Transport FileTransfer::Impl::localTransport(bool offer) const {
    sig::IceUdpTransport ice;
    std::string ufrag, pwd;
    auto link = link_;
    host_.network().invoke([&] {
        ufrag = link->localUfrag();
        pwd = link->localPwd();
    });
    ice.ufrag = ufrag;
    ice.pwd = pwd;
    sig::DtlsFingerprint fp;
    fp.hash = "sha-256";
    fp.setup = offer ? sig::DtlsSetup::ActPass : sig::DtlsSetup::Active;
    fp.value = host_.certificate()->fingerprint();
    ice.fingerprints.push_back(fp);
    const std::uint64_t maxMessage = 262144;
    switch (dialect_) {
    case sig::DataChannelDialect::ConversationsWrapper: return sig::Transport::webRtcDataChannel(ice, 5000, maxMessage);
    case sig::DataChannelDialect::Xep0343SctpPort:
        ice.sctp_port = 5000;
        ice.max_message_size = maxMessage;
        return sig::Transport::iceUdp(ice);
    default: {
        sig::SctpMap map;
        map.number = 5000;
        map.protocol = "webrtc-datachannel";
        map.streams = 1024;
        ice.sctpmap = map;
        return sig::Transport::iceUdp(ice);
    }
    }
}

void FileTransfer::Impl::startOffer() {
    auto handle = host_.table().localInitiate(peer_, sid_);
    if (!handle) {
        finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::Internal, "cannot start the session: " + handle.error().text});
        return;
    }
    handle_ = handle.value();
    createLink(true, fd_);
    fd_ = -1;

    sig::Jingle j;
    j.action = sig::Action::SessionInitiate;
    j.sid = sid_;
    j.initiator = host_.self().full();
    sig::Content c;
    c.creator = sig::Creator::Initiator;
    c.name = contentName_;
    c.senders = sig::Senders::Initiator;
    sig::FileTransferDescription d;
    d.version = sig::FtVersion::V5;
    sig::FileInfo fi;
    fi.name = info_.name;
    fi.size = info_.size;
    if (!info_.date.empty()) fi.date = info_.date;
    if (!info_.mediaType.empty()) fi.media_type = info_.mediaType;
    if (!info_.description.empty()) fi.desc = info_.description;
    fi.hashes.push_back(sig::Hash::fromDigest("sha-256", fromHex(localSha256_)));
    d.file = fi;
    c.description = sig::Description::fileTransfer(d);
    c.transport = localTransport(true);
    j.contents.push_back(c);

    std::weak_ptr<Impl> weak = weak_from_this();
    host_.sendJingle(peer_, j, [weak](const gloox::IQ* iq) {
        auto self = weak.lock();
        if (!self || self->state_ != TransferState::Offered) return;
        if (!iq) self->finish(TransferState::Failed, ReasonCondition::Timeout, Error{ErrorCategory::PeerUnavailable, "the peer did not answer the offer"});
        else if (iq->subtype() == gloox::IQ::Error) self->finish(TransferState::Failed, std::nullopt, iqError(*iq, "offer refused"));
    });
    signalledStart_ = true;
    auto link = link_;
    host_.network().post([link] { link->start(); });
}

// ---------------------------------------------------------------- receiver

bool FileTransfer::Impl::takeOffer(const sig::Jingle& initiate, sig::SessionHandle handle, std::string& refusal) {
    handle_ = handle;
    const sig::Content* content = nullptr;
    for (const auto& c : initiate.contents)
        if (c.description && c.description->kind == sig::ApplicationKind::FileTransfer) content = &c;
    if (!content) {
        refusal = "no file-transfer content";
        finish(TransferState::Failed, ReasonCondition::UnsupportedApplications, std::nullopt);
        return false;
    }
    contentName_ = content->name;
    contentCreator_ = content->creator;
    const auto& desc = *content->description->file_transfer;
    ftVersion_ = desc.version;
    if (!desc.file || !desc.file->size) {
        refusal = "the offer has no file size";
        finish(TransferState::Failed, ReasonCondition::FailedApplication, std::nullopt, refusal);
        return false;
    }
    if (!content->transport || !content->transport->hasIce()) {
        refusal = "no ICE-UDP transport (only ICE-UDP is supported)";
        finish(TransferState::Failed, ReasonCondition::UnsupportedTransports, std::nullopt);
        return false;
    }
    const auto& t = *content->transport;
    if (!impl::pickFingerprint(t.ice.fingerprints)) {
        refusal = impl::noFingerprintReason(t.ice.fingerprints) + " (answered security-error)";
        finish(TransferState::Failed, ReasonCondition::SecurityError, std::nullopt,
               "a DTLS fingerprint with sha-256 is required");
        return false;
    }
    const auto& f = *desc.file;
    info_.name = f.name.value_or("");
    info_.size = *f.size;
    info_.date = f.date.value_or("");
    info_.mediaType = f.media_type.value_or("");
    info_.description = f.desc.value_or("");
    expectedSha256_ = sha256Of(f.hashes);
    info_.sha256 = expectedSha256_;
    dialect_ = sig::dataChannelDialect(t);
    if (dialect_ == sig::DataChannelDialect::None) dialect_ = sig::DataChannelDialect::Xep0343Sctpmap;
    offer_ = initiate;
    applyRemoteTransport(t, true);
    return true;
}

std::string FileTransfer::Impl::safeName() const { return sig::sanitizeFileName(info_.name); }

Result<bool> FileTransfer::Impl::accept(const std::string& directory, bool overwrite, std::string* finalPath) {
    if (state_ != TransferState::Offered || direction_ != Direction::Receive)
        return Error{ErrorCategory::InvalidArgument, "the offer is no longer open"};
    struct stat st {};
    if (::stat(directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return Error{ErrorCategory::InvalidArgument, "not a directory: " + directory};
    std::string dir = directory;
    if (dir.empty() || dir.back() != '/') dir += '/';
    path_ = dir + safeName();
    partPath_ = path_ + ".part";
    overwrite_ = overwrite;
    if (!overwrite && ::access(path_.c_str(), F_OK) == 0)
        return Error{ErrorCategory::InvalidArgument, "the file exists already: " + path_};
    int fd = ::open(partPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return Error{ErrorCategory::Io, "cannot create " + partPath_ + ": " + std::strerror(errno)};
    if (finalPath) *finalPath = path_;

    auto accepted = host_.table().localAccept(handle_);
    if (!accepted) {
        ::close(fd);
        ::unlink(partPath_.c_str());
        return Error{ErrorCategory::Protocol, "the session can no longer be accepted"};
    }
    state_ = TransferState::Connecting;
    createLink(false, fd);

    sig::Jingle j;
    j.action = sig::Action::SessionAccept;
    j.sid = sid_;
    j.initiator = offer_->initiator.value_or(peer_.full());
    j.responder = host_.self().full();
    sig::Content c;
    c.creator = contentCreator_;
    c.name = contentName_;
    c.senders = sig::Senders::Initiator;
    for (const auto& oc : offer_->contents)
        if (oc.name == contentName_) c.description = oc.description;
    c.transport = localTransport(false);
    j.contents.push_back(c);
    j.groups = offer_->groups;
    offer_.reset();

    std::weak_ptr<Impl> weak = weak_from_this();
    host_.sendJingle(peer_, j, [weak](const gloox::IQ* iq) {
        auto self = weak.lock();
        if (!self || self->state_ == TransferState::Completed || self->state_ == TransferState::Failed ||
            self->state_ == TransferState::Cancelled)
            return;
        if (!iq) self->finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::PeerUnavailable, "the sender did not answer"});
        else if (iq->subtype() == gloox::IQ::Error) self->finish(TransferState::Failed, std::nullopt, iqError(*iq, "accept refused"));
    });
    signalledStart_ = true;
    auto link = link_;
    auto queued = std::move(remoteQueue_);
    bool done = remoteGatheringDone_;
    std::string ufrag = pendingUfrag_, pwd = pendingPwd_, fpHash = pendingFpHash_, fp = pendingFp_;
    host_.network().post([link, queued, done, ufrag, pwd, fpHash, fp] {
        link->start();  // gather before adding remote candidates (libnice pairs them as local ones appear)
        link->setRemote(ufrag, pwd, fpHash, fp);
        for (const auto& c : queued) link->addRemoteCandidate(c);
        if (done) link->remoteGatheringDone();
    });
    remoteQueue_.clear();
    return true;
}

void FileTransfer::Impl::decline() {
    if (state_ != TransferState::Offered) return;
    appAttached_ = false;
    finish(TransferState::Cancelled, ReasonCondition::Decline, std::nullopt);
}

// ---------------------------------------------------------------- both

void FileTransfer::Impl::applyRemoteTransport(const sig::Transport& t, bool requireFingerprint) {
    if (!t.hasIce()) return;
    const auto& ice = t.ice;
    const sig::DtlsFingerprint* fp = impl::pickFingerprint(ice.fingerprints);
    if (requireFingerprint && !fp) {
        finish(TransferState::Failed, ReasonCondition::SecurityError,
               Error{ErrorCategory::Security, "the peer sent " + impl::noFingerprintReason(ice.fingerprints)},
               "a DTLS fingerprint with sha-256 is required");
        return;
    }
    if (t.sctp_port) remoteSctpPort_ = *t.sctp_port;
    else if (ice.sctp_port) remoteSctpPort_ = *ice.sctp_port;
    else if (ice.sctpmap) remoteSctpPort_ = ice.sctpmap->number;
    if (t.max_message_size) remoteMaxMessage_ = *t.max_message_size;
    else if (ice.max_message_size) remoteMaxMessage_ = *ice.max_message_size;

    std::vector<transport::IceCandidate> candidates;
    for (const auto& c : ice.candidates)
        if (c.component == 1 && c.protocol == "udp") candidates.push_back(toTransport(c));
    bool done = ice.gathering_complete;
    std::string ufrag = ice.ufrag.value_or(""), pwd = ice.pwd.value_or("");
    std::string fpHash = fp ? fp->hash : "", fpValue = fp ? fp->value : "";
    bool passive = fp && fp->setup && *fp->setup == sig::DtlsSetup::Passive;

    if (!ufrag.empty() && !pwd.empty() && !remoteUfrag_.empty() && ufrag != remoteUfrag_ && link_ && signalledStart_) {
        // New credentials: an ICE restart (XEP-0176 section 5.9, RFC 8445 section 9).
        remoteUfrag_ = ufrag;
        peerRestarted(ufrag, pwd, candidates, done);
        return;
    }
    if (!ufrag.empty() && remoteUfrag_.empty()) remoteUfrag_ = ufrag;
    if (!ufrag.empty() && ufrag != remoteUfrag_) {
        // Candidates of a generation that is not the current one (an old one, or a new one
        // whose credentials never came): they cannot be checked with the current password.
        transport::logDebug("transfer " + sid_ + ": ignoring transport-info for ICE ufrag " + ufrag);
        return;
    }

    if (!link_) {  // receiver before accept: keep for later
        remoteQueue_.insert(remoteQueue_.end(), candidates.begin(), candidates.end());
        remoteGatheringDone_ = remoteGatheringDone_ || done;
        if (!ufrag.empty() || fp) {
            // The link does not exist yet; createLink() is followed by setRemote below.
            pendingUfrag_ = ufrag.empty() ? pendingUfrag_ : ufrag;
            pendingPwd_ = pwd.empty() ? pendingPwd_ : pwd;
            if (fp) {
                pendingFpHash_ = fpHash;
                pendingFp_ = fpValue;
            }
        }
        return;
    }
    auto link = link_;
    bool initiator = direction_ == Direction::Send;
    bool answer = requireFingerprint && initiator;  // session-accept: carries the peer's SCTP parameters
    std::uint16_t sctpPort = remoteSctpPort_;
    std::uint64_t maxMessage = remoteMaxMessage_;
    host_.network().post([link, candidates, done, ufrag, pwd, fpHash, fpValue, passive, initiator, answer, sctpPort, maxMessage] {
        if (initiator && passive) link->setDtlsRole(transport::DtlsTransport::Role::Client);
        if (answer) link->setRemoteSctp(sctpPort, maxMessage);
        if (!ufrag.empty() || !fpValue.empty()) link->setRemote(ufrag, pwd, fpHash, fpValue);
        for (const auto& c : candidates) link->addRemoteCandidate(c);
        if (done) link->remoteGatheringDone();
    });
}

void FileTransfer::Impl::sendCandidate(const transport::IceCandidate& c) {
    if (isOver() || c.generation != localGeneration_) return;  // gathered by a generation since replaced
    sig::IceUdpTransport ice;
    ice.candidates.push_back(toSignaling(c, c.generation, randomId()));
    sendTransportInfo(std::move(ice));
}

void FileTransfer::Impl::sendGatheringDone(unsigned generation) {
    if (isOver() || generation != localGeneration_) return;
    sig::IceUdpTransport ice;
    ice.gathering_complete = true;
    sendTransportInfo(std::move(ice));
}

void FileTransfer::Impl::linkPathLost(const std::string& reason) {
    if (isOver() || !link_) return;
    pathLost_ = true;
    if (direction_ != Direction::Send) {
        // The controlling side (the initiator) restarts; its transport-info makes us follow.
        transport::logWarning("transfer " + sid_ + ": path lost (" + reason + "), waiting for the peer's ICE restart");
        return;
    }
    startIceRestart(reason);
}

void FileTransfer::Impl::startIceRestart(const std::string& reason) {
    if (restartPending_) return;  // one restart in flight at a time
    auto link = link_;
    bool ok = false;
    unsigned generation = 0;
    host_.network().invoke([&] {
        ok = link->restartIce();
        generation = link->iceGeneration();
    });
    if (!ok) {
        transport::logWarning("transfer " + sid_ + ": path lost (" + reason + "), no ICE restart possible");
        return;  // the link reports the failure when its bound is reached
    }
    localGeneration_ = generation;
    restartPending_ = true;
    transport::logWarning("transfer " + sid_ + ": path lost (" + reason + "), ICE restart (generation " +
                          std::to_string(generation) + ") signalled in transport-info");
    // The credentials first: the new generation's candidates follow as they are gathered.
    sendRestartCredentials();
}

void FileTransfer::Impl::peerRestarted(const std::string& ufrag, const std::string& pwd,
                                       const std::vector<transport::IceCandidate>& candidates, bool done) {
    auto link = link_;
    bool answer = !restartPending_;  // not the answer to our own restart: follow with one of ours
    bool ok = true;
    unsigned generation = localGeneration_;
    host_.network().invoke([&] {
        if (answer) ok = link->restartIce();
        generation = link->iceGeneration();
        if (!ok) return;
        link->setRemote(ufrag, pwd, {}, {});
        for (const auto& c : candidates) link->addRemoteCandidate(c);
        if (done) link->remoteGatheringDone();
    });
    if (!ok) {
        transport::logWarning("transfer " + sid_ + ": the peer restarted ICE, no restart left to follow it");
        return;
    }
    localGeneration_ = generation;
    restartPending_ = false;
    if (answer) {
        transport::logWarning("transfer " + sid_ + ": the peer restarted ICE (ufrag " + ufrag +
                              "), answered with generation " + std::to_string(generation));
        sendRestartCredentials();
    } else {
        transport::logWarning("transfer " + sid_ + ": the peer answered the ICE restart (ufrag " + ufrag + ")");
    }
}

void FileTransfer::Impl::sendTransportInfo(sig::IceUdpTransport ice, std::function<void(const gloox::IQ*)> done) {
    std::string ufrag, pwd;
    auto link = link_;
    host_.network().invoke([&] {
        ufrag = link->localUfrag();
        pwd = link->localPwd();
    });
    // XEP-0176 section 5.2: both MUST come with every candidate; a restart is told by them.
    ice.ufrag = ufrag;
    ice.pwd = pwd;
    sig::Jingle j;
    j.action = sig::Action::TransportInfo;
    j.sid = sid_;
    j.initiator = direction_ == Direction::Send ? host_.self().full() : peer_.full();
    sig::Content c;
    c.creator = contentCreator_;
    c.name = contentName_;
    c.transport = dialect_ == sig::DataChannelDialect::ConversationsWrapper
                      ? sig::Transport::webRtcDataChannel(ice, std::nullopt, std::nullopt)
                      : sig::Transport::iceUdp(ice);
    j.contents.push_back(c);
    host_.sendJingle(peer_, j, std::move(done));
}

void FileTransfer::Impl::sendRestartCredentials() {
    std::weak_ptr<Impl> weak = weak_from_this();
    sendTransportInfo(sig::IceUdpTransport{}, [weak](const gloox::IQ* iq) {
        if (auto self = weak.lock()) self->restartAnswered(iq);
    });
}

void FileTransfer::Impl::restartAnswered(const gloox::IQ* iq) {
    if (isOver() || (iq && iq->subtype() == gloox::IQ::Result)) return;
    // The peer (or its server) refused our new credentials, or nobody answered: no restart
    // can bring the path back, so there is no point in waiting for the bound.
    Error e = iq ? iqError(*iq, "the peer refused the ICE restart")
                 : Error{ErrorCategory::PeerGone, "the peer did not answer the ICE restart"};
    linkFailed(ErrorCategory::PeerGone, e.message);
}

void FileTransfer::Impl::linkProgress(std::uint64_t bytes) {
    if (isOver()) return;
    auto now = std::chrono::steady_clock::now();
    if (bytes != bytes_) lastMovedAt_ = now;
    bytes_ = bytes;
    double dt = std::chrono::duration<double>(now - lastRateAt_).count();
    if (dt >= 0.5) {
        double instant = static_cast<double>(bytes - lastRateBytes_) / dt;
        rate_ = rate_ == 0 ? instant : 0.7 * rate_ + 0.3 * instant;
        lastRateAt_ = now;
        lastRateBytes_ = bytes;
    }
    if (rate_ == 0) {
        double total = std::chrono::duration<double>(now - startedAt_).count();
        if (total > 0) rate_ = static_cast<double>(bytes) / total;
    }
    if (onProgress && appAttached_) onProgress(TransferProgress{bytes, info_.size, rate_});
}

void FileTransfer::Impl::watchStall() {
    if (stallWatched_) return;
    stallWatched_ = true;
    std::weak_ptr<Impl> weak = weak_from_this();
    host_.after(std::chrono::milliseconds(1000), [weak] {
        if (auto self = weak.lock()) {
            self->stallWatched_ = false;
            self->checkStall();
        }
    });
}

// A connected transfer whose bytes have not moved for Config::transferStallTimeout, on a
// path that works, fails instead of waiting forever: a receiver still missing bytes the
// sender will never send (it announced more than it had), a sender whose receiver never
// confirms, a peer that stopped reading. While the path is lost the link's own bounds apply.
void FileTransfer::Impl::checkStall() {
    if (isOver()) return;
    auto now = std::chrono::steady_clock::now();
    if (pathLost_ || restartPending_) lastMovedAt_ = now;
    const auto limit = host_.config().transferStallTimeout;
    if (limit.count() > 0 && now - lastMovedAt_ >= limit) {
        const auto ms = limit.count();
        const auto secs = ms % 1000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s";
        std::string what;
        if (direction_ == Direction::Send && dataDone_)
            what = "the receiver did not confirm the file within " + secs + " of the last byte";
        else if (direction_ == Direction::Send)
            what = "the receiver took no data for " + secs + " (" + std::to_string(bytes_) + " of " +
                   std::to_string(info_.size) + " bytes sent)";
        else
            what = "no data for " + secs + " (" + std::to_string(bytes_) + " of the " +
                   std::to_string(info_.size) + " bytes announced received)";
        finish(TransferState::Failed, ReasonCondition::Timeout, Error{ErrorCategory::Timeout, what}, what);
        return;
    }
    watchStall();
}

void FileTransfer::Impl::linkDataDone(const std::string& sha256) {
    if (isOver()) return;
    lastMovedAt_ = std::chrono::steady_clock::now();
    dataDone_ = true;
    state_ = TransferState::Verifying;
    if (direction_ == Direction::Send) {
        sendChecksum();
        return;  // completion comes with the receiver's session-terminate
    }
    localSha256_ = sha256;
    verifyAndFinish();
}

void FileTransfer::Impl::sendChecksum() {
    sig::ChecksumInfo cs;
    cs.version = ftVersion_;
    cs.creator = "initiator";
    cs.name = contentName_;
    cs.file.hashes.push_back(sig::Hash::fromDigest("sha-256", fromHex(localSha256_)));
    sig::Jingle j;
    j.action = sig::Action::SessionInfo;
    j.sid = sid_;
    j.initiator = host_.self().full();
    j.session_info.push_back(sig::SessionInfoPayload::of(cs));
    host_.sendJingle(peer_, j, nullptr);
}

void FileTransfer::Impl::verifyAndFinish() {
    if (isOver() || !dataDone_) return;
    if (expectedSha256_.empty()) {
        // The hash may still come in a checksum session-info; wait a bounded time.
        if (verifyScheduled_) return;
        verifyScheduled_ = true;
        std::weak_ptr<Impl> weak = weak_from_this();
        host_.after(std::chrono::milliseconds(5000), [weak] {
            auto self = weak.lock();
            if (!self || self->isOver()) return;
            self->verified_ = false;
            self->expectedSha256_ = self->localSha256_;  // nothing to compare with: unverified
            self->verifyAndFinish();
        });
        return;
    }
    if (expectedSha256_ != localSha256_) {
        finish(TransferState::Failed, ReasonCondition::MediaError,
               Error{ErrorCategory::HashMismatch, "the received data does not match the announced SHA-256"},
               "hash mismatch");
        return;
    }
    int rc = overwrite_ ? ::rename(partPath_.c_str(), path_.c_str())
                        : ::renameat2(AT_FDCWD, partPath_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
    if (rc != 0) {
        finish(TransferState::Failed, ReasonCondition::FailedApplication,
               Error{ErrorCategory::Io, "cannot move the file into place: " + std::string(std::strerror(errno))});
        return;
    }
    partPath_.clear();
    finish(TransferState::Completed, ReasonCondition::Success, std::nullopt);
}

void FileTransfer::Impl::linkFailed(ErrorCategory category, const std::string& message) {
    if (isOver()) return;
    ReasonCondition reason = ReasonCondition::GeneralError;
    switch (category) {
    case ErrorCategory::NoIcePath: reason = ReasonCondition::ConnectivityError; break;
    case ErrorCategory::Security: reason = ReasonCondition::SecurityError; break;
    case ErrorCategory::PeerGone: reason = ReasonCondition::ConnectivityError; break;
    case ErrorCategory::Io: reason = ReasonCondition::MediaError; break;
    case ErrorCategory::Protocol: reason = ReasonCondition::FailedApplication; break;
    default: break;
    }
    finish(TransferState::Failed, reason, Error{category, message}, message);
}

void FileTransfer::Impl::handleJingle(const sig::Jingle& j) {
    if (isOver()) return;
    switch (j.action) {
    case sig::Action::SessionAccept: {
        if (direction_ != Direction::Send) return;
        const sig::Content* content = j.contents.empty() ? nullptr : &j.contents.front();
        for (const auto& c : j.contents)
            if (c.name == contentName_) content = &c;
        if (!content || !content->transport || !content->transport->hasIce()) {
            finish(TransferState::Failed, ReasonCondition::UnsupportedTransports,
                   Error{ErrorCategory::FeatureNotSupported, "the peer accepted without an ICE transport"});
            return;
        }
        state_ = TransferState::Connecting;
        applyRemoteTransport(*content->transport, true);
        return;
    }
    case sig::Action::TransportInfo:
        for (const auto& c : j.contents)
            if (c.transport) applyRemoteTransport(*c.transport, false);
        return;
    case sig::Action::SessionInfo:
        for (const auto& p : j.session_info) {
            if (p.kind == sig::SessionInfoPayload::Kind::Checksum && p.checksum) {
                auto sha = sha256Of(p.checksum->file.hashes);
                if (!sha.empty()) {
                    expectedSha256_ = sha;
                    if (dataDone_) verifyAndFinish();
                }
            }
        }
        return;
    case sig::Action::SessionTerminate:
        peerTerminated(j.reason.value_or(sig::Reason::of(ReasonCondition::Success)));
        return;
    default: return;
    }
}

void FileTransfer::Impl::peerTerminated(const sig::Reason& reason) {
    std::string text = reason.text.value_or("");
    auto with = [&](const std::string& base) { return text.empty() ? base : base + ": " + text; };
    switch (reason.condition) {
    case ReasonCondition::Success:
        // The receiver ends with success only after it has every byte and the hash
        // matched; its terminate can overtake our own "all sent" event, which the
        // network thread posts to the same XMPP thread. An empty file needs no byte: its
        // receiver can be done before this side saw the data channel open.
        if (direction_ == Direction::Send &&
            (dataDone_ || state_ == TransferState::Transferring ||
             (info_.size == 0 && state_ == TransferState::Connecting)))
            finish(TransferState::Completed, std::nullopt, std::nullopt);
        else finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::Protocol, "the peer ended the session before the transfer finished"});
        return;
    case ReasonCondition::Decline:
        finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::Declined, with("the peer declined the file")});
        return;
    case ReasonCondition::Cancel:
        finish(TransferState::Cancelled, std::nullopt, Error{ErrorCategory::Cancelled, with("the peer cancelled the transfer")});
        return;
    case ReasonCondition::SecurityError:
        finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::Security, with("the peer reported a security error")});
        return;
    case ReasonCondition::MediaError:
        finish(TransferState::Failed, std::nullopt,
               Error{direction_ == Direction::Send ? ErrorCategory::HashMismatch : ErrorCategory::Protocol, with("the peer reported a media error")});
        return;
    case ReasonCondition::ConnectivityError:
    case ReasonCondition::FailedTransport:
        // A path that carried the transfer and broke is a lost connection (as the side that
        // noticed it reports), not a path never found.
        finish(TransferState::Failed, std::nullopt,
               Error{state_ == TransferState::Transferring || state_ == TransferState::Verifying ? ErrorCategory::PeerGone
                                                                                                 : ErrorCategory::NoIcePath,
                     with("the peer found no working connection")});
        return;
    case ReasonCondition::UnsupportedTransports:
    case ReasonCondition::UnsupportedApplications:
        finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::FeatureNotSupported, with("the peer does not support this transfer")});
        return;
    case ReasonCondition::Timeout:
        if (state_ == TransferState::Transferring || state_ == TransferState::Verifying) {
            // The peer's stall watchdog (checkStall()) gave up on this transfer.
            finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::Timeout, with("the peer stopped waiting")});
            return;
        }
        [[fallthrough]];
    case ReasonCondition::Gone:
    case ReasonCondition::Expired:
        finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::PeerGone, with("the peer went away")});
        return;
    default:
        finish(TransferState::Failed, std::nullopt, Error{ErrorCategory::Protocol, with("the peer ended the session (" + std::string(sig::toString(reason.condition)) + ")")});
        return;
    }
}

void FileTransfer::Impl::cancel() {
    appAttached_ = false;
    if (isOver()) return;
    finish(TransferState::Cancelled, direction_ == Direction::Receive && state_ == TransferState::Offered
                                         ? ReasonCondition::Decline
                                         : ReasonCondition::Cancel,
           std::nullopt);
}

void FileTransfer::Impl::detachApp() { cancel(); }

void FileTransfer::Impl::peerWentOffline() {
    if (isOver()) return;
    finish(state_ == TransferState::Offered && direction_ == Direction::Receive ? TransferState::Cancelled : TransferState::Failed,
           std::nullopt, Error{ErrorCategory::PeerGone, "the peer went offline"});
}

void FileTransfer::Impl::overruledByPeer() {
    if (isOver()) return;
    finish(TransferState::Cancelled, std::nullopt,
           Error{ErrorCategory::Cancelled, "overruled by the peer's simultaneous session-initiate"});
}

void FileTransfer::Impl::shutdown() {
    appAttached_ = false;
    *hashCancel_ = true;
    if (hasher_.joinable()) hasher_.join();
    if (!isOver()) finish(TransferState::Cancelled, ReasonCondition::Gone, std::nullopt);
    if (link_) {
        auto link = std::move(link_);
        host_.network().invoke([&] { link.reset(); });
    }
}

void FileTransfer::Impl::finish(TransferState state, std::optional<ReasonCondition> reason, std::optional<Error> error,
                                const std::string& reasonText) {
    if (over_) return;
    over_ = true;
    state_ = state;
    *hashCancel_ = true;
    bool sendTerminate = reason.has_value() && (signalledStart_ || direction_ == Direction::Receive);
    if (handle_) {
        if (sendTerminate) (void)host_.table().localTerminate(handle_);
        else host_.table().markEnded(handle_);
    }
    if (direction_ == Direction::Receive && state != TransferState::Completed) removePart();

    if (sendTerminate) {
        sig::Jingle j;
        j.action = sig::Action::SessionTerminate;
        j.sid = sid_;
        j.reason = sig::Reason::of(*reason, reasonText.empty() ? std::nullopt : std::optional<std::string>(reasonText));
        // Tear the link down once the peer has the terminate, so that it hears
        // our reason before it notices the connection closing.
        std::weak_ptr<Impl> weak = weak_from_this();
        host_.sendJingle(peer_, j, [weak](const gloox::IQ*) {
            if (auto self = weak.lock()) self->teardownLink();
        });
    } else {
        teardownLink();
    }

    // Report from processEvents(), and only if the app still listens then.
    std::optional<TransferResult> result;
    if (!error && state == TransferState::Completed) {
        TransferResult r;
        r.path = path_;
        r.bytes = info_.size;
        r.sha256 = localSha256_;
        r.verified = verified_;
        r.route = route_;
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - startedAt_).count();
        result = r;
    }
    auto self = shared_from_this();
    host_.postToXmpp([self, error, result] {
        if (!self->appAttached_) return;
        if (error) {
            if (self->onError) self->onError(*error);
        } else if (result) {
            if (self->onProgress && self->bytes_ != self->info_.size)
                self->onProgress(TransferProgress{self->info_.size, self->info_.size, self->rate_});
            if (self->onComplete) self->onComplete(*result);
        }
    });
    host_.sessionEnded(key());
}

void FileTransfer::Impl::teardownLink() {
    if (!link_) return;
    auto link = std::move(link_);
    host_.network().post([link]() mutable { link.reset(); });
}

void FileTransfer::Impl::removePart() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!partPath_.empty()) {
        ::unlink(partPath_.c_str());
        partPath_.clear();
    }
}

}  // namespace tern
