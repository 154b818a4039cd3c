// tern-testbed: runs a Testbed (Prosody + coturn on 127.0.0.1, or on --listen's
// address, e.g. inside a NAT-lab namespace) for demos and
// manual tests. Prints the facts as shell KEY=VALUE lines (and writes them to
// --env-file), then READY, and runs until stdin reaches EOF or SIGTERM/SIGINT.
//
//   tern-testbed --env-file /tmp/tb.env --ignore-stdin &
//   # wait for /tmp/tb.env to appear (it is written atomically), then:
//   . /tmp/tb.env; ...; kill %1
//
// A background job of a non-interactive shell has stdin from /dev/null, which
// is an immediate EOF: pass --ignore-stdin there and stop it with a signal.
#include "tern/testbed/testbed.hpp"

#include <CLI/CLI.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <utility>
#include <vector>

namespace {

std::string shellQuote(const std::string& value) {
    auto safe = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::string("@%+=:,./_-").find(c) != std::string::npos;
    };
    bool plain = !value.empty() && std::all_of(value.begin(), value.end(), safe);
    if (plain) return value;
    std::string out = "'";
    for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string envName(const std::string& name) {
    std::string out;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        out += std::isalnum(u) ? static_cast<char>(std::toupper(u)) : '_';
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> facts(const tern::testbed::Testbed& bed) {
    std::vector<std::pair<std::string, std::string>> out{
        {"TERN_DOMAIN", bed.domain()},
        {"TERN_XMPP_HOST", bed.host()},
        {"TERN_XMPP_PORT", std::to_string(bed.c2sPort())},
        {"TERN_BOSH_URL", bed.boshUrl()},
    };
    if (bed.hasTurn()) {
        out.emplace_back("TERN_TURN_HOST", bed.turnHost());
        out.emplace_back("TERN_TURN_PORT", std::to_string(bed.turnPort()));
        out.emplace_back("TERN_TURN_SECRET", bed.turnSecret());
        out.emplace_back("TERN_TURN_REALM", bed.turnRealm());
        if (bed.turnTlsPort() != 0) {
            out.emplace_back("TERN_TURN_TLS_PORT", std::to_string(bed.turnTlsPort()));
            out.emplace_back("TERN_TURN_CERT", bed.turnCertificate().string());
        }
    }
    if (bed.proxy65Port() != 0) {
        out.emplace_back("TERN_PROXY65_JID", bed.proxy65Jid());
        out.emplace_back("TERN_PROXY65_PORT", std::to_string(bed.proxy65Port()));
    }
    for (const auto& a : bed.accounts()) {
        out.emplace_back("TERN_ACCOUNT_" + envName(a.name) + "_JID", a.jid);
        out.emplace_back("TERN_ACCOUNT_" + envName(a.name) + "_PASSWORD", a.password);
    }
    out.emplace_back("TERN_TESTBED_DIR", bed.dir().string());
    return out;
}

bool writeAtomically(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out.flush()) return false;
    }
    return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Blocks until stdin reaches EOF (unless ignored) or a signal of `signals` arrives.
void waitForEnd(const sigset_t& signals, bool watchStdin) {
    int sfd = ::signalfd(-1, &signals, SFD_CLOEXEC);
    if (sfd < 0) {
        std::cerr << "tern-testbed: signalfd failed\n";
        return;
    }
    pollfd fds[2] = {{sfd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    for (;;) {
        int n = ::poll(fds, watchStdin ? 2 : 1, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || fds[0].revents) break;
        if (fds[1].revents & POLLNVAL) {
            watchStdin = false;  // no stdin at all: only signals end us
            continue;
        }
        if (fds[1].revents) {
            char buf[256];
            ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
            if (r <= 0 && !(r < 0 && errno == EINTR)) break;
        }
    }
    ::close(sfd);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Runs Prosody and coturn on 127.0.0.1 with random ports and fresh accounts."};
    tern::testbed::Options options;
    std::string envFile, keepDir;
    bool noTurn = false, noBosh = false, noProxy65 = false, ignoreStdin = false;
    app.add_option("--accounts", options.accounts, "Accounts to register (comma-separated)")->delimiter(',');
    app.add_flag("--no-turn", noTurn, "Do not start coturn");
    app.add_flag("--no-bosh", noBosh, "Do not enable BOSH");
    app.add_flag("--no-proxy65", noProxy65, "Do not run the XEP-0065 proxy");
    app.add_option("--listen", options.listenAddress,
                   "Listen on (and announce) this IPv4 address instead of 127.0.0.1");
    app.add_flag("--turn-tls", options.turnTls, "Also run TURN over TLS (self-signed certificate) and announce it");
    app.add_option("--env-file", envFile, "Also write the KEY=VALUE lines to this file (atomically)");
    app.add_option("--keep-dir", keepDir, "Make the testbed directory in here and keep it");
    app.add_flag("--ignore-stdin", ignoreStdin, "Run until SIGTERM/SIGINT only, not until stdin's EOF");
    CLI11_PARSE(app, argc, argv);
    options.turn = !noTurn;
    options.bosh = !noBosh;
    options.proxy65 = !noProxy65;
    options.keepDir = keepDir;

    // Blocked from here on and taken from a signalfd; the servers get a clean mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    std::unique_ptr<tern::testbed::Testbed> bed;
    try {
        bed = tern::testbed::Testbed::start(options);
    } catch (const std::exception& e) {
        std::cerr << "tern-testbed: " << e.what() << "\n";
        return 1;
    }
    std::string text;
    for (const auto& [key, value] : facts(*bed)) text += key + "=" + shellQuote(value) + "\n";
    std::cout << text;
    if (!envFile.empty() && !writeAtomically(envFile, text)) {
        std::cerr << "tern-testbed: cannot write " << envFile << "\n";
        return 1;
    }
    std::cout << "READY" << std::endl;

    waitForEnd(signals, !ignoreStdin);
    bed->stop();
    if (!envFile.empty()) std::remove(envFile.c_str());
    return 0;
}
