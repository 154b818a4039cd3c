#include "call_session.hpp"

#include "call_media.hpp"
#include "jingle_util.hpp"

#include <gloox/iq.h>
#include <gloox/tag.h>

#include <openssl/rand.h>

#include <algorithm>

namespace tern {

namespace sig = signaling;
using sig::ReasonCondition;

namespace impl {

/// The transports of one call. Created on the XMPP thread, then used and
/// destroyed on the network thread only.
struct LinkSet {
    std::vector<std::unique_ptr<MediaLink>> links;
    std::map<int, std::size_t> linkForPayloadType;  // unbundled: RTP goes out on its content's link

    void send(const std::vector<std::uint8_t>& packet, bool rtcp) {
        if (links.empty()) return;
        if (rtcp) {  // reports cover every stream: each transport gets them
            for (auto& l : links)
                if (l && l->isConnected()) l->sendRtcp(packet.data(), packet.size());
            return;
        }
        std::size_t index = 0;
        if (packet.size() > 1) {
            auto it = linkForPayloadType.find(packet[1] & 0x7f);
            if (it != linkForPayloadType.end()) index = it->second;
        }
        if (index < links.size() && links[index] && links[index]->isConnected())
            links[index]->sendRtp(packet.data(), packet.size());
    }
};

/// Where the network thread finds the call's media pipeline (set once media
/// starts, cleared at teardown).
struct MediaSlot {
    std::shared_ptr<CallMedia> get() {
        std::lock_guard<std::mutex> lock(mutex);
        return media;
    }
    void set(std::shared_ptr<CallMedia> m) {
        std::lock_guard<std::mutex> lock(mutex);
        media = std::move(m);
    }
    std::mutex mutex;
    std::shared_ptr<CallMedia> media;
};

}  // namespace impl

namespace {

std::uint32_t randomSsrc() {
    std::uint32_t v = 0;
    while (v == 0) RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
    return v;
}

std::string mediumName(Call::Medium m) { return m == Call::Medium::Audio ? "audio" : "video"; }

}  // namespace

Call::Impl::Impl(impl::SessionHost& host, Direction direction, gloox::JID peer, std::string id, CallMedia media)
    : host_(host), direction_(direction), peer_(std::move(peer)), id_(std::move(id)), media_(media) {
    audioSsrc_ = randomSsrc();
    videoSsrc_ = randomSsrc();
    cname_ = impl::randomId();
    mediaSlot_ = std::make_shared<impl::MediaSlot>();
    aec_ = host_.config().echoCancellation;
    ns_ = host_.config().noiseSuppression;
}

Call::Impl::~Impl() { teardown(); }

// ---------------------------------------------------------------- caller

void Call::Impl::startOutgoing() {
    std::vector<sig::JmiDescription> descriptions;
    if (media_.audio) descriptions.push_back({sig::ns::kRtp, "audio"});
    if (media_.video) descriptions.push_back({sig::ns::kRtp, "video"});
    auto [jmi, step] = sig::JmiCall::propose(id_, host_.self(), peer_, descriptions);
    jmi_ = std::move(jmi);
    sendJmi(step);
    std::weak_ptr<Impl> weak = weak_from_this();
    // Servers keep a propose for an offline contact (offline storage, MAM)
    // instead of bouncing it. Devices that get it answer <ringing/> at once: if
    // none does and no device of the contact is known to be online, nobody is there.
    host_.after(std::chrono::milliseconds(10000), [weak] {
        auto self = weak.lock();
        if (!self || self->state_ != CallState::Ringing || !self->jmi_ ||
            self->jmi_->state() != sig::JmiState::Proposed || self->host_.knownOnline(self->peer_.bare()))
            return;
        auto step = self->jmi_->retract(sig::Reason::of(ReasonCondition::Gone));
        if (step) self->sendJmi(step.value());
        self->end(CallEndReason::Unavailable, "no device of " + self->peer_.bare() + " is online to ring", std::nullopt);
    });
    host_.after(host_.config().ringTimeout, [weak] {
        auto self = weak.lock();
        if (!self || self->state_ != CallState::Ringing) return;
        if (self->jmi_) {
            auto step = self->jmi_->retract(sig::Reason::of(ReasonCondition::Timeout));
            if (step) self->sendJmi(step.value());
        }
        self->end(CallEndReason::NoAnswer, "nobody answered", std::nullopt);
    });
}

void Call::Impl::proposeBounced(const std::string& text) {
    if (state_ != CallState::Ringing || direction_ != Direction::Outgoing) return;
    end(CallEndReason::Unavailable, text, std::nullopt);
}

void Call::Impl::jmiProceeded() {
    device_ = jmi_->remoteDevice();
    setState(CallState::Connecting);
    sendInitiate();
}

void Call::Impl::sendInitiate() {
    auto handle = host_.table().localInitiate(device_, id_);
    if (!handle) {
        end(CallEndReason::Failed, "cannot start the Jingle session: " + handle.error().text, std::nullopt);
        return;
    }
    handle_ = handle.value();
    contents_.clear();
    if (media_.audio) contents_.push_back({"audio", "audio", sig::Creator::Initiator, 0, std::nullopt});
    if (media_.video) contents_.push_back({"video", "video", sig::Creator::Initiator, contents_.size(), std::nullopt});
    // One transport per content, offered in a BUNDLE group: a peer that bundles
    // uses the first; one that does not (Dino) uses each.
    createLinks(contents_.size(), true, transport::DtlsTransport::Role::Server);

    sig::Jingle j;
    j.action = sig::Action::SessionInitiate;
    j.sid = id_;
    j.initiator = host_.self().full();
    for (const auto& c : contents_) {
        sig::Content content;
        content.creator = sig::Creator::Initiator;
        content.name = c.name;
        auto desc = c.media == "audio" ? sig::makeOpusOffer(audioSsrc_, cname_) : sig::makeVp8Offer(videoSsrc_, cname_);
        content.description = sig::Description::rtpDescription(desc);
        content.transport = localTransport(c.link, true);
        j.contents.push_back(std::move(content));
    }
    if (contents_.size() > 1) {
        sig::Group g;
        for (const auto& c : contents_) g.contents.push_back(c.name);
        j.groups.push_back(g);
    }
    jingleStarted_ = true;
    std::weak_ptr<Impl> weak = weak_from_this();
    host_.sendJingle(device_, j, [weak](const gloox::IQ* iq) {
        auto self = weak.lock();
        if (!self || self->isOver() || self->accepted_) return;
        if (!iq) self->end(CallEndReason::Unavailable, "the callee did not answer the session-initiate", ReasonCondition::Timeout);
        else if (iq->subtype() == gloox::IQ::Error)
            self->end(CallEndReason::Failed, impl::iqError(*iq, "session-initiate refused").message, std::nullopt);
    });
    auto links = links_;
    host_.network().post([links] {
        for (auto& l : links->links) l->start();
    });
}

void Call::Impl::applyAccept(const sig::Jingle& accept) {
    accepted_ = true;
    // Which of our transports the peer kept: with BUNDLE, the first content's.
    bool bundled = false;
    for (const auto& g : accept.groups)
        if (g.semantics == "BUNDLE" && g.contents.size() > 1) bundled = true;
    bundled_ = bundled;
    bool anyAudio = false;
    for (auto& c : contents_) {
        const sig::Content* answered = accept.findContent(c.name);
        if (!answered || !answered->description || !answered->description->rtp) {
            c.negotiated.reset();  // not accepted: the medium is off
            continue;
        }
        auto prefs = c.media == "audio" ? sig::opusPreferences(audioSsrc_, cname_) : sig::vp8Preferences(videoSsrc_, cname_);
        auto n = sig::negotiate(*answered->description->rtp, prefs);
        if (!n) {
            end(CallEndReason::MediaFailed, "the answer has no codec we offered for " + c.media, ReasonCondition::FailedApplication);
            return;
        }
        c.negotiated = n.value();
        if (c.media == "audio") anyAudio = true;
        if (bundled) c.link = 0;
    }
    if (!anyAudio && !std::any_of(contents_.begin(), contents_.end(), [](const ContentState& c) { return c.negotiated.has_value(); })) {
        end(CallEndReason::MediaFailed, "the answer accepted no media", ReasonCondition::FailedApplication);
        return;
    }
    media_.audio = std::any_of(contents_.begin(), contents_.end(), [](const ContentState& c) { return c.media == "audio" && c.negotiated; });
    media_.video = std::any_of(contents_.begin(), contents_.end(), [](const ContentState& c) { return c.media == "video" && c.negotiated; });
    if (bundled) {
        // Drop the transports the bundle made unnecessary.
        auto links = links_;
        host_.network().invoke([links] {
            for (std::size_t i = 1; i < links->links.size(); ++i) links->links[i].reset();
        });
        linkUp_.assign(1, linkUp_.empty() ? false : linkUp_[0]);
    } else {
        // Transports of contents the peer did not accept are not needed: close them, and do not
        // wait for them before media starts.
        std::vector<std::size_t> unused;
        for (std::size_t i = 0; i < linkUp_.size(); ++i)
            if (std::none_of(contents_.begin(), contents_.end(),
                             [i](const ContentState& c) { return c.link == i && c.negotiated; }))
                unused.push_back(i);
        auto links = links_;
        host_.network().invoke([links, &unused] {
            for (std::size_t i : unused)
                if (i < links->links.size()) links->links[i].reset();
        });
        for (std::size_t i : unused) linkUp_[i] = true;
    }
    for (const auto& c : contents_) {
        const sig::Content* answered = accept.findContent(c.name);
        if (answered && answered->transport && (!bundled || c.link == 0)) applyRemoteTransport(c.link, *answered->transport, true);
        if (bundled) break;
    }
}

// ---------------------------------------------------------------- callee

void Call::Impl::takePropose(sig::JmiCall jmi) {
    jmi_ = std::move(jmi);
    media_.audio = false;
    media_.video = false;
    for (const auto& d : jmi_->descriptions()) {
        if (d.media == "audio") media_.audio = true;
        if (d.media == "video") media_.video = true;
    }
    device_ = peer_;
    auto step = jmi_->ring();
    if (step) sendJmi(step.value());
    std::weak_ptr<Impl> weak = weak_from_this();
    host_.after(host_.config().ringTimeout, [weak] {
        auto self = weak.lock();
        if (!self || self->state_ != CallState::Ringing) return;
        auto step = self->jmi_->reject(sig::Reason::of(ReasonCondition::Timeout));
        if (step) self->sendJmi(step.value());
        self->end(CallEndReason::NoAnswer, "not answered", std::nullopt);
    });
}

bool Call::Impl::takeInitiate(const sig::Jingle& initiate, sig::SessionHandle handle, std::string& refusal) {
    handle_ = handle;
    jingleStarted_ = true;
    device_ = peer_;
    contents_.clear();
    std::map<std::string, std::size_t> bundleIndex;
    for (const auto& g : initiate.groups)
        if (g.semantics == "BUNDLE")
            for (const auto& name : g.contents) bundleIndex.emplace(name, 0);
    std::size_t transports = 0;
    for (const auto& c : initiate.contents) {
        if (!c.description || !c.description->rtp) continue;
        const auto& rtp = *c.description->rtp;
        if (!c.transport || !c.transport->hasIce()) {
            refusal = "a content without an ICE-UDP transport";
            end(CallEndReason::Failed, refusal, ReasonCondition::UnsupportedTransports);
            return false;
        }
        if (!impl::pickFingerprint(c.transport->ice.fingerprints)) {
            refusal = impl::noFingerprintReason(c.transport->ice.fingerprints) + " (answered security-error)";
            end(CallEndReason::Security, refusal, ReasonCondition::SecurityError);
            return false;
        }
        ContentState s;
        s.name = c.name;
        s.media = rtp.media;
        s.creator = c.creator;
        if (s.media != "audio" && s.media != "video") continue;
        auto prefs = s.media == "audio" ? sig::opusPreferences(audioSsrc_, cname_) : sig::vp8Preferences(videoSsrc_, cname_);
        auto n = sig::negotiate(rtp, prefs);
        if (n) s.negotiated = n.value();
        bool inBundle = bundleIndex.count(c.name) > 0;
        if (inBundle && transports > 0 && bundled_) s.link = 0;
        else s.link = transports++;
        if (inBundle) bundled_ = true;
        contents_.push_back(std::move(s));
    }
    bool audioOk = std::any_of(contents_.begin(), contents_.end(), [](const ContentState& c) { return c.media == "audio" && c.negotiated; });
    bool videoOk = std::any_of(contents_.begin(), contents_.end(), [](const ContentState& c) { return c.media == "video" && c.negotiated; });
    if (!audioOk && !videoOk) {
        refusal = "no common codec";
        end(CallEndReason::MediaFailed, refusal, ReasonCondition::FailedApplication);
        return false;
    }
    if (!jmi_) {
        media_.audio = audioOk;
        media_.video = videoOk;
    }
    createLinks(transports, false, transport::DtlsTransport::Role::Client);
    for (const auto& c : initiate.contents) {
        std::size_t link = linkForContent(c.name);
        if (link == static_cast<std::size_t>(-1) || !c.transport) continue;
        applyRemoteTransport(link, *c.transport, false);
    }
    pendingInitiate_ = initiate;
    if (jmi_ && jmi_->state() == sig::JmiState::Proceeded) {
        sendAccept();  // answered already through JMI
    } else if (!jmi_) {
        // No JMI: the caller learns that we ring from the Jingle session itself (XEP-0167 7).
        sig::Jingle j;
        j.action = sig::Action::SessionInfo;
        j.sid = id_;
        j.initiator = device_.full();
        sig::SessionInfoPayload p;
        p.kind = sig::SessionInfoPayload::Kind::Ringing;
        p.xmlns = sig::ns::kRtpInfo;
        p.name = "ringing";
        j.session_info.push_back(p);
        host_.sendJingle(device_, j, nullptr);
    }
    return true;
}

void Call::Impl::sendAccept() {
    if (accepted_ || isOver() || !pendingInitiate_) return;
    accepted_ = true;
    auto accepted = host_.table().localAccept(handle_);
    if (!accepted) {
        end(CallEndReason::Failed, "cannot accept: " + accepted.error().text, std::nullopt);
        return;
    }
    sig::Jingle j;
    j.action = sig::Action::SessionAccept;
    j.sid = id_;
    j.initiator = device_.full();
    j.responder = host_.self().full();
    std::vector<std::string> bundle;
    sig::Jingle removal;  // XEP-0166 6.4, 7.2.5: the contents we take out before accepting
    removal.action = sig::Action::ContentRemove;
    removal.sid = id_;
    removal.initiator = device_.full();
    for (auto& c : contents_) {
        bool wanted = c.media == "audio" ? media_.audio : media_.video;
        if (!c.negotiated || !wanted) {
            c.negotiated.reset();
            sig::Content gone;
            gone.creator = c.creator;
            gone.name = c.name;
            removal.contents.push_back(std::move(gone));
            continue;
        }
        sig::Content content;
        content.creator = c.creator;
        content.name = c.name;
        content.description = sig::Description::rtpDescription(c.negotiated->answer);
        content.transport = localTransport(c.link, false);
        j.contents.push_back(std::move(content));
        if (bundled_) bundle.push_back(c.name);
    }
    if (!bundle.empty()) {  // RFC 8843 7.3: the answer echoes the group it accepts, even of one
        sig::Group g;
        g.contents = bundle;
        j.groups.push_back(g);
    }
    if (!removal.contents.empty()) host_.sendJingle(device_, removal, nullptr);
    host_.sendJingle(device_, j, nullptr);
    setState(CallState::Connecting);
    auto links = links_;
    host_.network().post([links] {
        for (auto& l : links->links)
            if (l) l->start();
    });
}

Result<bool> Call::Impl::accept(CallMedia media) {
    if (direction_ != Direction::Incoming || state_ != CallState::Ringing)
        return Error{ErrorCategory::InvalidArgument, "only a ringing incoming call can be accepted"};
    media_.audio = media_.audio && media.audio;
    media_.video = media_.video && media.video;
    if (!media_.audio && !media_.video) return Error{ErrorCategory::InvalidArgument, "accept at least one offered medium"};
    if (jmi_ && !pendingInitiate_) {
        auto step = jmi_->proceed();
        if (!step) return Error{ErrorCategory::InvalidArgument, "the call can no longer be answered"};
        sendJmi(step.value());
        setState(CallState::Connecting);
        // The caller now sends session-initiate; takeInitiate() answers it.
        std::weak_ptr<Impl> weak = weak_from_this();
        host_.after(std::chrono::milliseconds(15000), [weak] {
            auto self = weak.lock();
            if (self && !self->isOver() && !self->jingleStarted_)
                self->end(CallEndReason::Failed, "the caller never started the session", std::nullopt);
        });
        return true;
    }
    if (jmi_) {
        auto step = jmi_->proceed();
        if (step) sendJmi(step.value());
    }
    sendAccept();
    return true;
}

// ---------------------------------------------------------------- both

void Call::Impl::sendJmi(const sig::JmiStep& step) {
    for (const auto& out : step.send) {
        std::string stanzaId = out.message.type == sig::JmiType::Propose ? id_ : impl::randomId();
        host_.sendStanza(sig::makeJmiMessageStanza(out.to, out.message, stanzaId));
    }
}

void Call::Impl::handleJmi(const sig::JmiMessage& message, const gloox::JID& from, bool carbon) {
    if (!jmi_ || isOver()) return;
    auto step = jmi_->onMessage(message, from, carbon);
    sendJmi(step);
    switch (step.event) {
    case sig::JmiEvent::Proceeded:
        if (direction_ == Direction::Outgoing && state_ == CallState::Ringing) jmiProceeded();
        break;
    case sig::JmiEvent::Rejected: end(CallEndReason::Rejected, "the callee rejected the call", std::nullopt); break;
    case sig::JmiEvent::Retracted: end(CallEndReason::Retracted, "the caller hung up", std::nullopt); break;
    case sig::JmiEvent::Finished:
        end(state_ == CallState::Ringing ? CallEndReason::AnsweredElsewhere : CallEndReason::RemoteHungUp,
            "the call was finished", std::nullopt);
        break;
    case sig::JmiEvent::AcceptedElsewhere: end(CallEndReason::AnsweredElsewhere, "answered on another device", std::nullopt); break;
    case sig::JmiEvent::RejectedElsewhere: end(CallEndReason::RejectedElsewhere, "rejected on another device", std::nullopt); break;
    default: break;
    }
}

void Call::Impl::handleJingle(const sig::Jingle& j) {
    if (isOver()) return;
    switch (j.action) {
    case sig::Action::SessionAccept:
        if (direction_ == Direction::Outgoing && !accepted_) applyAccept(j);
        break;
    case sig::Action::TransportInfo:
        for (const auto& c : j.contents) {
            if (!c.transport) continue;
            std::size_t link = linkForContent(c.name);
            if (link != static_cast<std::size_t>(-1)) applyRemoteTransport(link, *c.transport, false);
        }
        break;
    case sig::Action::ContentRemove: {
        // XEP-0166 7.2.5: no more media for those contents. Before our accept (we called),
        // the answer decides anyway; after it, the medium stops arriving.
        for (const auto& removed : j.contents)
            for (auto& c : contents_)
                if (c.name == removed.name) {
                    c.negotiated.reset();
                    c.removed = true;
                }
        bool any = std::any_of(contents_.begin(), contents_.end(), [](const ContentState& c) { return !c.removed; });
        if (!any) {
            end(CallEndReason::RemoteHungUp, "the peer removed every content", ReasonCondition::Success);
            break;
        }
        if (accepted_) {
            media_.audio = std::any_of(contents_.begin(), contents_.end(), [](const ContentState& c) { return c.media == "audio" && c.negotiated; });
            media_.video = std::any_of(contents_.begin(), contents_.end(), [](const ContentState& c) { return c.media == "video" && c.negotiated; });
        }
        break;
    }
    case sig::Action::SessionInfo:
        for (const auto& p : j.session_info) {
            if (p.kind != sig::SessionInfoPayload::Kind::Mute && p.kind != sig::SessionInfoPayload::Kind::Unmute) continue;
            bool muted = p.kind == sig::SessionInfoPayload::Kind::Mute;
            std::string name = p.content_name.value_or("");
            for (const auto& c : contents_) {
                if (!name.empty() && c.name != name) continue;
                auto medium = c.media == "audio" ? Call::Medium::Audio : Call::Medium::Video;
                auto cb = onRemoteMute;
                std::weak_ptr<Impl> weak = weak_from_this();
                host_.postToXmpp([weak, medium, muted] {
                    auto self = weak.lock();
                    if (self && self->appAttached_ && self->onRemoteMute) self->onRemoteMute(medium, muted);
                });
            }
        }
        break;
    case sig::Action::SessionTerminate: {
        CallEndReason reason = CallEndReason::RemoteHungUp;
        std::string text = "the peer hung up";
        if (j.reason) {
            switch (j.reason->condition) {
            case ReasonCondition::Decline:
            case ReasonCondition::Busy: reason = CallEndReason::Rejected; text = "the callee rejected the call"; break;
            case ReasonCondition::SecurityError: reason = CallEndReason::Security; text = "the peer refused the DTLS session"; break;
            case ReasonCondition::FailedApplication:
            case ReasonCondition::UnsupportedApplications:
            case ReasonCondition::IncompatibleParameters: reason = CallEndReason::MediaFailed; text = "no common media"; break;
            case ReasonCondition::ConnectivityError:
            case ReasonCondition::FailedTransport: reason = CallEndReason::NoIcePath; text = "the peer found no network path"; break;
            case ReasonCondition::Cancel:
                if (state_ == CallState::Ringing) reason = CallEndReason::Retracted;
                break;
            default: break;
            }
            if (j.reason->text && !j.reason->text->empty()) text += ": " + *j.reason->text;
        }
        host_.table().markEnded(handle_);
        handle_ = {};
        jingleStarted_ = false;  // nothing to terminate any more
        if (jmi_ && jmi_->state() == sig::JmiState::Proceeded) {
            auto step = jmi_->finish();
            if (step) sendJmi(step.value());
        }
        end(reason, text, std::nullopt);
        break;
    }
    default: break;
    }
}

void Call::Impl::peerWentOffline(const gloox::JID& from) {
    if (isOver() || device_.full().empty() || !(from == device_)) return;
    end(CallEndReason::ConnectionLost, "the peer went offline", std::nullopt);
}

void Call::Impl::signalingLost() {
    if (isOver() || state_ == CallState::Connected) return;
    end(CallEndReason::Failed, "the XMPP connection was lost before the call connected", std::nullopt);
}

// The link whose remote transport this content describes. With BUNDLE only the first
// content of a link describes it: the others may still carry the separate transport they
// were offered with (their own ufrag and candidates), which the bundle replaced.
std::size_t Call::Impl::linkForContent(const std::string& name) const {
    for (std::size_t i = 0; i < contents_.size(); ++i) {
        if (contents_[i].name != name) continue;
        for (std::size_t k = 0; k < i; ++k)
            if (contents_[k].link == contents_[i].link) return static_cast<std::size_t>(-1);
        return contents_[i].link;
    }
    return static_cast<std::size_t>(-1);
}

void Call::Impl::createLinks(std::size_t count, bool controlling, transport::DtlsTransport::Role role) {
    auto set = std::make_shared<impl::LinkSet>();
    linkUp_.assign(count, false);
    auto cert = host_.certificate();
    std::weak_ptr<Impl> weak = weak_from_this();
    impl::SessionHost* host = &host_;
    auto post = [host, weak](std::function<void(Impl&)> fn) {
        host->postToXmpp([weak, fn = std::move(fn)] {
            if (auto self = weak.lock()) fn(*self);
        });
    };
    transport::NetworkThread* net = &host_.network();
    impl::MediaLinkConfig lc;
    lc.ice = host_.iceConfig(controlling);
    lc.dtlsRole = role;
    lc.connectTimeout = host_.config().connectTimeout;
    lc.silenceTimeout = host_.config().peerSilenceTimeout;
    auto slot = mediaSlot_;
    host_.network().invoke([&] {
        for (std::size_t i = 0; i < count; ++i) {
            impl::MediaLinkEvents ev;
            ev.candidate = [post, i](const transport::IceCandidate& c) { post([c, i](Impl& s) { s.sendCandidate(i, c); }); };
            ev.gatheringDone = [post, i] { post([i](Impl& s) { s.sendGatheringDone(i); }); };
            ev.selected = [post](const transport::SelectedPair& p) {
                post([p](Impl& s) {
                    std::lock_guard<std::mutex> lock(s.statsMutex_);
                    s.route_ = impl::toPath(p);
                });
            };
            ev.connected = [post, i](const std::string& profile) { post([i, profile](Impl& s) { s.linkConnected(i, profile); }); };
            ev.rtp = [slot](const std::uint8_t* d, std::size_t n) {
                if (auto m = slot->get()) m->incomingRtp(d, n);
            };
            ev.rtcp = [slot](const std::uint8_t* d, std::size_t n) {
                if (auto m = slot->get()) m->incomingRtcp(d, n);
            };
            ev.failed = [post](ErrorCategory c, const std::string& m) { post([c, m](Impl& s) { s.linkFailed(c, m); }); };
            ev.closedByPeer = [post] { post([](Impl& s) { s.linkClosedByPeer(); }); };
            set->links.push_back(impl::MediaLink::create(*net, cert, lc, ev));
        }
    });
    links_ = set;
}

sig::Transport Call::Impl::localTransport(std::size_t link, bool offer) const {
    sig::IceUdpTransport ice;
    std::string ufrag, pwd;
    auto links = links_;
    host_.network().invoke([&] {
        if (link < links->links.size() && links->links[link]) {
            ufrag = links->links[link]->localUfrag();
            pwd = links->links[link]->localPwd();
        }
    });
    ice.ufrag = ufrag;
    ice.pwd = pwd;
    sig::DtlsFingerprint fp;
    fp.hash = "sha-256";
    fp.setup = offer ? sig::DtlsSetup::ActPass : sig::DtlsSetup::Active;
    fp.value = host_.certificate()->fingerprint();
    ice.fingerprints.push_back(fp);
    return sig::Transport::iceUdp(ice);
}

void Call::Impl::applyRemoteTransport(std::size_t link, const sig::Transport& t, bool answer) {
    if (!t.hasIce() || !links_ || link >= links_->links.size()) return;
    const auto& ice = t.ice;
    const sig::DtlsFingerprint* fp = impl::pickFingerprint(ice.fingerprints);
    if (answer && !fp) {
        end(CallEndReason::Security, "the peer sent " + impl::noFingerprintReason(ice.fingerprints),
            ReasonCondition::SecurityError);
        return;
    }
    std::vector<transport::IceCandidate> candidates;
    for (const auto& c : ice.candidates)
        if (c.component == 1 && c.protocol == "udp") candidates.push_back(impl::toTransport(c));
    bool done = ice.gathering_complete;
    std::string ufrag = ice.ufrag.value_or(""), pwd = ice.pwd.value_or("");
    std::string fpHash = fp ? fp->hash : "", fpValue = fp ? fp->value : "";
    bool passive = answer && fp && fp->setup && *fp->setup == sig::DtlsSetup::Passive;
    auto links = links_;
    host_.network().post([links, link, candidates, done, ufrag, pwd, fpHash, fpValue, passive] {
        if (link >= links->links.size() || !links->links[link]) return;
        auto& l = links->links[link];
        if (passive) l->setDtlsRole(transport::DtlsTransport::Role::Client);
        if (!ufrag.empty() || !fpValue.empty()) l->setRemote(ufrag, pwd, fpHash, fpValue);
        for (const auto& c : candidates) l->addRemoteCandidate(c);
        if (done) l->remoteGatheringDone();
    });
}

void Call::Impl::sendCandidate(std::size_t link, const transport::IceCandidate& c) {
    sig::IceUdpTransport ice;
    ice.candidates.push_back(impl::toSignaling(c, 0, impl::randomId()));
    sendTransportInfo(link, std::move(ice));
}

void Call::Impl::sendGatheringDone(std::size_t link) {
    sig::IceUdpTransport ice;
    ice.gathering_complete = true;
    sendTransportInfo(link, std::move(ice));
}

void Call::Impl::sendTransportInfo(std::size_t link, sig::IceUdpTransport ice) {
    if (isOver() || !jingleStarted_) return;
    if (bundled_ && accepted_ && link != 0) return;  // a transport the bundle dropped
    std::string ufrag;
    auto links = links_;
    host_.network().invoke([&] {
        if (link < links->links.size() && links->links[link]) ufrag = links->links[link]->localUfrag();
    });
    if (ufrag.empty()) return;
    ice.ufrag = ufrag;
    sig::Jingle j;
    j.action = sig::Action::TransportInfo;
    j.sid = id_;
    j.initiator = direction_ == Direction::Outgoing ? host_.self().full() : device_.full();
    // One content per transport; with BUNDLE the first content names it.
    for (const auto& c : contents_) {
        if (c.link != link) continue;
        sig::Content content;
        content.creator = c.creator;
        content.name = c.name;
        content.transport = sig::Transport::iceUdp(ice);
        j.contents.push_back(std::move(content));
        break;
    }
    if (j.contents.empty()) return;
    host_.sendJingle(device_, j, nullptr);
}

void Call::Impl::linkConnected(std::size_t link, const std::string& profile) {
    if (isOver() || link >= linkUp_.size()) return;
    linkUp_[link] = true;
    {
        std::lock_guard<std::mutex> lock(statsMutex_);
        srtpProfile_ = profile;
    }
    if (!accepted_) return;
    if (std::all_of(linkUp_.begin(), linkUp_.end(), [](bool b) { return b; })) startMedia();
}

void Call::Impl::startMedia() {
    if (callMedia_ || isOver()) return;
    impl::CallMediaConfig mc;
    mc.audio = false;
    mc.video = false;
    auto set = links_;
    set->linkForPayloadType.clear();
    for (const auto& c : contents_) {
        if (!c.negotiated) continue;
        const auto& codec = c.negotiated->codec;
        if (c.media == "audio" && media_.audio) {
            mc.audio = true;
            mc.audioPayloadType = codec.id;
            mc.audioClockRate = static_cast<int>(codec.clockrate.value_or(48000));
            mc.audioChannels = codec.channels;
        } else if (c.media == "video" && media_.video) {
            mc.video = true;
            mc.videoPayloadType = codec.id;
            bool nack = false, pli = false, fir = false;
            for (const auto& fb : c.negotiated->rtcp_fb) {
                if (fb.type == "nack" && fb.subtype.empty()) nack = true;
                if (fb.type == "nack" && fb.subtype == "pli") pli = true;
                if (fb.type == "ccm" && fb.subtype == "fir") fir = true;
            }
            mc.nack = nack;
            mc.pli = pli;
            mc.fir = fir;
        }
    }
    mc.localAudioSsrc = audioSsrc_;
    mc.localVideoSsrc = videoSsrc_;
    mc.cname = cname_;
    mc.echoCancellation = aec_;
    mc.noiseSuppression = ns_;
    std::map<int, std::size_t> routes;
    for (const auto& c : contents_)
        if (c.negotiated) routes[c.negotiated->codec.id] = c.link;
    host_.network().invoke([set, routes] { set->linkForPayloadType = routes; });
    std::weak_ptr<impl::LinkSet> weakSet = set;
    transport::NetworkThread* net = &host_.network();
    auto sendFn = [net, weakSet](std::vector<std::uint8_t> packet, bool rtcp) {
        net->post([weakSet, packet = std::move(packet), rtcp] {
            if (auto s = weakSet.lock()) s->send(packet, rtcp);
        });
    };
    callMedia_ = std::make_shared<impl::CallMedia>(host_.mediaEngine(), mc, sendFn);
    if (audioSource_) callMedia_->setAudioSource(audioSource_);
    if (audioSink_) callMedia_->setAudioSink(audioSink_);
    if (videoSource_) callMedia_->setVideoSource(videoSource_);
    if (videoSink_) callMedia_->setVideoSink(videoSink_);
    for (int m = 0; m < 2; ++m)
        for (int f = 0; f < 2; ++f)
            if (mutedFlags_[m][f]) callMedia_->setMuted(static_cast<Call::Medium>(m), static_cast<Call::Flow>(f), true);
    mediaSlot_->set(callMedia_);
    callMedia_->start();
    connectedAt_ = std::chrono::steady_clock::now();
    setState(CallState::Connected);
}

void Call::Impl::linkFailed(ErrorCategory category, const std::string& message) {
    if (isOver()) return;
    // A path that worked and then failed is a lost connection, not a missing path.
    if (category == ErrorCategory::NoIcePath && state_ == CallState::Connected) category = ErrorCategory::PeerGone;
    switch (category) {
    case ErrorCategory::Security: end(CallEndReason::Security, message, ReasonCondition::SecurityError); break;
    case ErrorCategory::NoIcePath: end(CallEndReason::NoIcePath, message, ReasonCondition::ConnectivityError); break;
    case ErrorCategory::PeerGone: end(CallEndReason::ConnectionLost, message, ReasonCondition::ConnectivityError); break;
    default: end(CallEndReason::Failed, message, ReasonCondition::GeneralError); break;
    }
}

void Call::Impl::linkClosedByPeer() {
    if (isOver()) return;
    // Media over DTLS comes straight from the peer; its session-terminate takes
    // the longer way through the server. Give that a moment to arrive.
    stopMedia();
    std::weak_ptr<Impl> weak = weak_from_this();
    host_.after(std::chrono::milliseconds(2000), [weak] {
        if (auto self = weak.lock()) self->end(CallEndReason::RemoteHungUp, "the peer closed the connection", std::nullopt);
    });
}

void Call::Impl::reject() {
    if (direction_ != Direction::Incoming || state_ != CallState::Ringing) return;
    appAttached_ = false;
    if (jmi_ && !pendingInitiate_) {
        auto step = jmi_->reject();
        if (step) sendJmi(step.value());
        end(CallEndReason::RejectedHere, "rejected", std::nullopt);
        return;
    }
    if (jmi_) {
        auto step = jmi_->reject();
        if (step) sendJmi(step.value());
    }
    end(CallEndReason::RejectedHere, "rejected", ReasonCondition::Decline);
}

void Call::Impl::hangUp() {
    appAttached_ = false;
    if (isOver()) {
        teardown();
        return;
    }
    if (direction_ == Direction::Incoming && state_ == CallState::Ringing) {
        reject();
        return;
    }
    if (direction_ == Direction::Outgoing && state_ == CallState::Ringing && jmi_) {
        auto step = jmi_->retract();
        if (step) sendJmi(step.value());
        end(CallEndReason::HungUp, "hung up", std::nullopt);
        return;
    }
    if (jmi_ && jmi_->state() == sig::JmiState::Proceeded) {
        auto step = jmi_->finish();
        if (step) sendJmi(step.value());
    }
    end(CallEndReason::HungUp, "hung up", ReasonCondition::Success);
}

void Call::Impl::detachApp() {
    if (!isOver()) hangUp();
    appAttached_ = false;
}

void Call::Impl::shutdown() {
    appAttached_ = false;
    if (!isOver()) hangUp();
    teardown();
    // The engine goes away: the posted end notification never runs.
    onStateChanged = nullptr;
    onEnded = nullptr;
    onRemoteMute = nullptr;
}

void Call::Impl::setMuted(Call::Medium medium, Call::Flow flow, bool muted) {
    bool& flag = mutedFlags_[static_cast<int>(medium)][static_cast<int>(flow)];
    if (flag == muted) return;
    flag = muted;
    if (callMedia_) callMedia_->setMuted(medium, flow, muted);
    if (flow == Call::Flow::Send && accepted_ && !isOver()) sendMuteInfo(medium, muted);
}

bool Call::Impl::muted(Call::Medium medium, Call::Flow flow) const {
    return mutedFlags_[static_cast<int>(medium)][static_cast<int>(flow)];
}

void Call::Impl::sendMuteInfo(Call::Medium medium, bool muted) {
    sig::Jingle j;
    j.action = sig::Action::SessionInfo;
    j.sid = id_;
    j.initiator = direction_ == Direction::Outgoing ? host_.self().full() : device_.full();
    for (const auto& c : contents_) {
        if (c.media != mediumName(medium) || !c.negotiated) continue;
        sig::SessionInfoPayload p;
        p.kind = muted ? sig::SessionInfoPayload::Kind::Mute : sig::SessionInfoPayload::Kind::Unmute;
        p.xmlns = sig::ns::kRtpInfo;
        p.name = muted ? "mute" : "unmute";
        p.creator = c.creator == sig::Creator::Initiator ? "initiator" : "responder";
        p.content_name = c.name;
        j.session_info.push_back(p);
    }
    if (!j.session_info.empty()) host_.sendJingle(device_, j, nullptr);
}

void Call::Impl::setAudioProcessing(bool echoCancellation, bool noiseSuppression) {
    aec_ = echoCancellation;
    ns_ = noiseSuppression;
    if (callMedia_) callMedia_->setAudioProcessing(echoCancellation, noiseSuppression);
}

CallStats Call::Impl::stats() const {
    CallStats out;
    std::shared_ptr<impl::CallMedia> media = mediaSlot_->get();
    if (media) out = media->stats();
    std::lock_guard<std::mutex> lock(statsMutex_);
    out.state = statsState_;
    out.route = route_;
    out.srtpProfile = srtpProfile_;
    if (statsState_ == CallState::Connected)
        out.secondsConnected = std::chrono::duration<double>(std::chrono::steady_clock::now() - connectedAt_).count();
    return out;
}

void Call::Impl::setAudioSource(std::shared_ptr<AudioSource> s) {
    audioSource_ = s;
    if (callMedia_) callMedia_->setAudioSource(std::move(s));
}
void Call::Impl::setAudioSink(std::shared_ptr<AudioSink> s) {
    audioSink_ = s;
    if (callMedia_) callMedia_->setAudioSink(std::move(s));
}
void Call::Impl::setVideoSource(std::shared_ptr<VideoSource> s) {
    videoSource_ = s;
    if (callMedia_) callMedia_->setVideoSource(std::move(s));
}
void Call::Impl::setVideoSink(std::shared_ptr<VideoSink> s) {
    videoSink_ = s;
    if (callMedia_) callMedia_->setVideoSink(std::move(s));
}

void Call::Impl::setState(CallState state) {
    if (state_ == state || state_ == CallState::Ended) return;
    state_ = state;
    {
        std::lock_guard<std::mutex> lock(statsMutex_);
        statsState_ = state;
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    host_.postToXmpp([weak, state] {
        auto self = weak.lock();
        if (self && self->appAttached_ && self->onStateChanged) self->onStateChanged(state);
    });
}

void Call::Impl::end(CallEndReason reason, const std::string& text, std::optional<ReasonCondition> condition) {
    if (isOver()) return;
    bool terminate = condition && jingleStarted_ && handle_;
    if (terminate) {
        (void)host_.table().localTerminate(handle_);
        sig::Jingle j;
        j.action = sig::Action::SessionTerminate;
        j.sid = id_;
        j.reason = sig::Reason::of(*condition, text.empty() || *condition == ReasonCondition::Success
                                                   ? std::nullopt : std::optional<std::string>(text));
        // Media stops now; the transports stay until the peer has our reason, so
        // that it hears "terminated" before it sees the connection close.
        stopMedia();
        auto self = shared_from_this();
        host_.sendJingle(device_, j, [self](const gloox::IQ*) { self->teardown(); });
    } else if (handle_) {
        host_.table().markEnded(handle_);
    }
    setState(CallState::Ended);
    if (!terminate) teardown();
    CallEnd e{reason, text};
    std::weak_ptr<Impl> weak = weak_from_this();
    std::string key = this->key();
    host_.postToXmpp([weak, e] {
        auto self = weak.lock();
        if (!self) return;
        // The app's callbacks often hold the Call handle: dropping them once the
        // call is over breaks that cycle.
        auto ended = std::move(self->onEnded);
        self->onStateChanged = nullptr;
        self->onRemoteMute = nullptr;
        if (self->appAttached_ && ended) ended(e);
    });
    host_.sessionEnded(key);
}

void Call::Impl::stopMedia() {
    // After this no source, sink or send of this call runs.
    mediaSlot_->set(nullptr);
    if (callMedia_ && links_) {
        // RFC 3550 6.6: our streams end. Queued before any teardown of the transports, so it
        // leaves while they are still up.
        auto bye = callMedia_->byePacket("call ended");
        auto links = links_;
        if (!bye.empty()) host_.network().post([links, bye] { links->send(bye, true); });
    }
    callMedia_.reset();
}

void Call::Impl::teardown() {
    // Media first, then the transports, on the thread that owns them.
    stopMedia();
    if (links_) {
        auto links = std::move(links_);
        host_.network().invoke([&] { links.reset(); });
    }
}

// ---------------------------------------------------------------- handle

const char* toString(CallEndReason r) noexcept {
    switch (r) {
    case CallEndReason::HungUp: return "hung-up";
    case CallEndReason::RemoteHungUp: return "remote-hung-up";
    case CallEndReason::Rejected: return "rejected";
    case CallEndReason::RejectedHere: return "rejected-here";
    case CallEndReason::Retracted: return "retracted";
    case CallEndReason::AnsweredElsewhere: return "answered-elsewhere";
    case CallEndReason::RejectedElsewhere: return "rejected-elsewhere";
    case CallEndReason::Unavailable: return "unavailable";
    case CallEndReason::NoAnswer: return "no-answer";
    case CallEndReason::NoIcePath: return "no-ice-path";
    case CallEndReason::Security: return "security";
    case CallEndReason::MediaFailed: return "media-failed";
    case CallEndReason::ConnectionLost: return "connection-lost";
    case CallEndReason::Failed: return "failed";
    }
    return "unknown";
}

const char* toString(CallState s) noexcept {
    switch (s) {
    case CallState::Ringing: return "ringing";
    case CallState::Connecting: return "connecting";
    case CallState::Connected: return "connected";
    case CallState::Ended: return "ended";
    }
    return "unknown";
}

Call::Call(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Call::~Call() { impl_->detachApp(); }
Call::Direction Call::direction() const { return impl_->direction(); }
std::string Call::peer() const { return impl_->device().full().empty() ? impl_->peer().full() : impl_->device().full(); }
std::string Call::id() const { return impl_->id(); }
CallState Call::state() const { return impl_->state(); }
CallMedia Call::media() const { return impl_->media(); }
void Call::setAudioSource(std::shared_ptr<AudioSource> s) { impl_->setAudioSource(std::move(s)); }
void Call::setAudioSink(std::shared_ptr<AudioSink> s) { impl_->setAudioSink(std::move(s)); }
void Call::setVideoSource(std::shared_ptr<VideoSource> s) { impl_->setVideoSource(std::move(s)); }
void Call::setVideoSink(std::shared_ptr<VideoSink> s) { impl_->setVideoSink(std::move(s)); }
void Call::onStateChanged(std::function<void(CallState)> cb) { impl_->onStateChanged = std::move(cb); }
void Call::onEnded(std::function<void(const CallEnd&)> cb) { impl_->onEnded = std::move(cb); }
void Call::onRemoteMute(std::function<void(Medium, bool)> cb) { impl_->onRemoteMute = std::move(cb); }
Result<bool> Call::accept(CallMedia media) { return impl_->accept(media); }
void Call::reject() { impl_->reject(); }
void Call::hangUp() { impl_->hangUp(); }
void Call::setMuted(Medium medium, Flow flow, bool muted) { impl_->setMuted(medium, flow, muted); }
bool Call::muted(Medium medium, Flow flow) const { return impl_->muted(medium, flow); }
CallStats Call::stats() const { return impl_->stats(); }
void Call::setAudioProcessing(bool aec, bool ns) { impl_->setAudioProcessing(aec, ns); }

AudioSource::~AudioSource() = default;
AudioSink::~AudioSink() = default;
VideoSource::~VideoSource() = default;
VideoSink::~VideoSink() = default;

}  // namespace tern
