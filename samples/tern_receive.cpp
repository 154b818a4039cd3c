// tern-receive: waits for file offers and receives them into a directory,
// verifying the SHA-256 before a file gets its final name.
#include "common.hpp"


#include <cstdio>
#include <optional>

using namespace samples;


int main(int argc, char** argv) {
    CLI::App app{"Receive files sent peer to peer by XMPP contacts (Jingle XEP-0234 over ICE/DTLS/SCTP)."};
    app.footer(kExitCodeHelp);
    AccountOptions account;
    addAccountOptions(app, account);
    std::string directory = ".";
    std::vector<std::string> from;
    bool overwrite = false, noProgress = false;
    int count = 1, timeout = 0;
    app.add_option("directory", directory, "where to save files")->check(CLI::ExistingDirectory);
    app.add_option("--from", from, "accept offers only from these JIDs (repeatable; default: anyone)")->allow_extra_args(false);
    app.add_flag("--overwrite", overwrite, "replace existing files of the same name");
    app.add_option("--count", count, "exit after this many files (0: keep running)");
    app.add_flag("--no-progress", noProgress, "do not print progress");
    app.add_option("--timeout", timeout, "give up after this many seconds (0: never)");
    if (auto rc = parseCommandLine(app, argc, argv, account, "tern-receive")) return *rc;
    installSignalHandlers();

    Session session(account);
    SubscriptionApprover approver(session.client(), from);
    session.client().registerSubscriptionHandler(&approver);
    if (!session.login(std::chrono::seconds(20))) {
        std::fprintf(stderr, "tern-receive: %s\n", session.error().c_str());
        return kLoginFailed;
    }
    std::printf("tern-receive: logged in as %s, saving to %s\n", session.client().jid().full().c_str(), directory.c_str());
    std::fflush(stdout);

    std::shared_ptr<tern::FileTransfer> current;
    std::optional<Progress> progress;
    std::optional<int> exitCode;
    int received = 0;
    session.engine().onFileOffer([&](std::shared_ptr<tern::IncomingFileOffer> offer) {
        bool allowed = from.empty();
        for (const auto& a : from) allowed = allowed || gloox::JID(a).bare() == gloox::JID(offer->peer()).bare();
        if (!allowed || current) {
            std::printf("tern-receive: declined %s from %s\n", offer->safeName().c_str(), offer->peer().c_str());
            offer->decline();
            return;
        }
        std::printf("tern-receive: offer from %s: %s (%s)\n", offer->peer().c_str(), offer->safeName().c_str(),
                    humanBytes(static_cast<double>(offer->file().size)).c_str());
        std::fflush(stdout);
        auto accepted = offer->accept(directory, tern::IncomingFileOffer::AcceptOptions{overwrite});
        if (!accepted) {
            std::fprintf(stderr, "tern-receive: cannot accept: %s\n", accepted.error().message.c_str());
            exitCode = exitCodeFor(accepted.error().category);
            return;
        }
        current = accepted.value();
        progress.emplace("receiving", !noProgress);
        current->onProgress([&](const tern::TransferProgress& p) { progress->update(p.bytes, p.total, p.bytesPerSecond); });
        current->onComplete([&](const tern::TransferResult& r) {
            progress->finish();
            double rate = r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds : 0;
            std::printf("tern-receive: saved %s: %llu bytes in %.2f s (%.1f MB/s), path %s, sha256 %s %s\n", r.path.c_str(),
                        static_cast<unsigned long long>(r.bytes), r.seconds, rate / 1e6, describeRoute(r.route).c_str(),
                        r.sha256.c_str(), r.verified ? "verified" : "NOT verified (the sender announced no hash)");
            std::fflush(stdout);
            current.reset();
            if (++received == count) exitCode = kOk;
        });
        current->onError([&](const tern::Error& e) {
            progress->finish();
            std::fprintf(stderr, "tern-receive: failed (%s): %s\n", tern::toString(e.category), e.message.c_str());
            current.reset();
            exitCode = exitCodeFor(e.category);
        });
    });

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
    while (!exitCode) {
        if (interrupted()) {
            if (current) current->cancel();
            if (progress) progress->finish();
            std::fprintf(stderr, "tern-receive: cancelled\n");
            exitCode = kCancelled;
            break;
        }
        if (timeout > 0 && std::chrono::steady_clock::now() > deadline) {
            if (current) current->cancel();
            std::fprintf(stderr, "tern-receive: timed out after %d s\n", timeout);
            exitCode = kTimeout;
            break;
        }
        if (!session.pump(std::chrono::milliseconds(100))) {
            std::fprintf(stderr, "tern-receive: lost the XMPP connection: %s\n", session.error().c_str());
            exitCode = kFailed;
            break;
        }
    }
    for (int i = 0; i < 5; ++i) session.pump(std::chrono::milliseconds(20));
    return *exitCode;
}
