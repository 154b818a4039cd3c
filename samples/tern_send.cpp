// tern-send: sends one file to an XMPP contact, peer to peer (Jingle file
// transfer over ICE + DTLS + an SCTP data channel).
#include "common.hpp"

#include <gloox/subscription.h>

#include <cstdio>
#include <iostream>
#include <optional>

using namespace samples;

int main(int argc, char** argv) {
    CLI::App app{"Send a file peer to peer to an XMPP contact (Jingle XEP-0234 over ICE/DTLS/SCTP)."};
    app.footer(kExitCodeHelp);
    AccountOptions account;
    addAccountOptions(app, account);
    std::string peer, file;
    bool noProgress = false;
    int timeout = 0;
    app.add_option("peer", peer, "recipient: a JID (bare or full) or an xmpp: URI")->required();
    app.add_option("file", file, "the file to send")->required()->check(CLI::ExistingFile);
    app.add_flag("--no-progress", noProgress, "do not print progress");
    app.add_option("--timeout", timeout, "give up after this many seconds (0: never)");
    if (auto rc = parseCommandLine(app, argc, argv, account, "tern-send")) return *rc;
    installSignalHandlers();

    Session session(account);
    if (!session.login(std::chrono::seconds(20))) {
        std::fprintf(stderr, "tern-send: %s\n", session.error().c_str());
        return kLoginFailed;
    }
    // A bare JID needs the peer's presence: ask for it (tern-receive approves).
    gloox::JID target(peer.rfind("xmpp:", 0) == 0 ? peer.substr(5, peer.find('?') == std::string::npos ? std::string::npos : peer.find('?') - 5) : peer);
    if (target && target.resource().empty())
        session.client().send(gloox::Subscription(gloox::Subscription::Subscribe, target.bareJID()));

    auto result = session.engine().sendFile(peer, file);
    if (!result) {
        std::fprintf(stderr, "tern-send: %s\n", result.error().message.c_str());
        return exitCodeFor(result.error().category);
    }
    auto transfer = result.value();
    Progress progress("sending", !noProgress);
    std::optional<int> exitCode;
    transfer->onConnected([&](const tern::PathInfo& p) {
        progress.finish();
        std::printf("tern-send: connected, path %s\n", describeRoute(p).c_str());
        std::fflush(stdout);
    });
    transfer->onProgress([&](const tern::TransferProgress& p) { progress.update(p.bytes, p.total, p.bytesPerSecond); });
    transfer->onComplete([&](const tern::TransferResult& r) {
        progress.finish();
        double rate = r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds : 0;
        std::printf("tern-send: done: %llu bytes in %.2f s (%.1f MB/s), path %s, sha256 %s, verified by the receiver\n",
                    static_cast<unsigned long long>(r.bytes), r.seconds, rate / 1e6, describeRoute(r.route).c_str(),
                    r.sha256.c_str());
        exitCode = kOk;
    });
    transfer->onError([&](const tern::Error& e) {
        progress.finish();
        std::fprintf(stderr, "tern-send: failed (%s): %s\n", tern::toString(e.category), e.message.c_str());
        exitCode = exitCodeFor(e.category);
    });

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
    while (!exitCode) {
        if (interrupted()) {
            transfer->cancel();
            progress.finish();
            std::fprintf(stderr, "tern-send: cancelled\n");
            exitCode = kCancelled;
            break;
        }
        if (timeout > 0 && std::chrono::steady_clock::now() > deadline) {
            transfer->cancel();
            progress.finish();
            std::fprintf(stderr, "tern-send: timed out after %d s\n", timeout);
            exitCode = kTimeout;
            break;
        }
        if (!session.pump(std::chrono::milliseconds(100))) {
            progress.finish();
            std::fprintf(stderr, "tern-send: lost the XMPP connection: %s\n", session.error().c_str());
            exitCode = kFailed;
            break;
        }
    }
    // Let the terminate reach the peer before logging out.
    for (int i = 0; i < 5; ++i) session.pump(std::chrono::milliseconds(20));
    return *exitCode;
}
