#include "tern/testbed/testbed.hpp"

#include "net.hpp"
#include "process.hpp"
#include "tern/testbed/stun.hpp"

#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

namespace tern::testbed {

namespace fs = std::filesystem;
using detail::Process;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kRelayPorts = 40;  // coturn relay range: 20 allocations with RTP+RTCP
constexpr auto kReadyPoll = std::chrono::milliseconds(20);
constexpr auto kCommandTimeout = std::chrono::seconds(30);
constexpr int kStartAttempts = 3;  // a port picked as free can be taken before the server binds it

// A server could not bind one of its ports: start() tries again with new ones.
class PortConflict : public TestbedError {
public:
    using TestbedError::TestbedError;
};

std::string luaString(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

bool validAccountName(const std::string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    });
}

std::string readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string tailOf(const std::string& text, std::size_t lines) {
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (std::size_t n = 0; pos > 0; --pos) {
        if (text[pos - 1] == '\n' && ++n == lines) break;
    }
    return text.substr(pos);
}

fs::path makeDir(const fs::path& parent) {
    fs::create_directories(parent);
    std::string templ = (parent / "tern-testbed-XXXXXX").string();
    if (!::mkdtemp(templ.data()))
        throw TestbedError("cannot create a directory in " + parent.string() + ": " + detail::errnoText(errno));
    return templ;
}

fs::path tempRoot() {
    const char* tmp = std::getenv("TMPDIR");
    return tmp && *tmp ? fs::path(tmp) : fs::path("/tmp");
}

}  // namespace

TurnCredentials turnCredentials(const std::string& secret, std::chrono::seconds ttl) {
    TurnCredentials c;
    c.username = std::to_string(static_cast<long long>(std::time(nullptr)) + ttl.count());
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int macLen = 0;
    HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(), mac, &macLen);
    std::string b64(4 * ((macLen + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac, static_cast<int>(macLen));
    b64.resize(static_cast<std::size_t>(n));
    c.password = b64;
    return c;
}

struct Testbed::Impl {
    Options options;
    fs::path dir;
    bool keep = false;
    std::string domain = "localhost";
    std::string host = "127.0.0.1";
    std::string realm = "localhost";
    std::string turnSecret;
    std::uint16_t c2sPort = 0, httpPort = 0, proxy65Port = 0, turnPort = 0, relayMin = 0;
    std::vector<Account> accounts;
    Process prosody, turn;
    pid_t prosodyPid = 0, turnPid = 0;

    ~Impl() { stop(); }

    void stop() {
        prosody.stop();
        turn.stop();
        if (!dir.empty() && !keep) {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    }

    fs::path config() const { return dir / "prosody.cfg.lua"; }

    std::string removalNote() const {
        if (keep || dir.empty()) return {};
        return "\n(" + dir.string() + " is removed again; TERN_KEEP_TESTBED=1 keeps it)";
    }

    std::string tail(const std::string& file, std::size_t lines = 30) const {
        std::string text = tailOf(readFile(dir / file), lines);
        return "\n--- " + (dir / file).string() + " (last lines) ---\n" + (text.empty() ? "(empty)\n" : text);
    }

    void pickPorts() {
        std::size_t count = 1 + (options.bosh ? 1 : 0) + (options.proxy65 ? 1 : 0) + (options.turn ? 1 : 0);
        std::vector<std::uint16_t> ports = detail::freePorts(count);
        std::size_t i = 0;
        c2sPort = ports[i++];
        if (options.bosh) httpPort = ports[i++];
        if (options.proxy65) proxy65Port = ports[i++];
        if (options.turn) {
            turnPort = ports[i++];
            relayMin = detail::freePortRange(kRelayPorts, ports);
        }
    }

    void writeProsodyConfig() const {
        fs::create_directories(dir / "data");
        fs::create_directories(dir / "certs");  // none: this only keeps certmanager from logging errors
        std::ofstream cfg(config());
        cfg << "-- Written by tern::testbed::Testbed. Everything listens on 127.0.0.1 only.\n"
            << "run_as_root = true -- CI runs the tests as root; mod_posix refuses root otherwise\n"
            << "pidfile = " << luaString((dir / "prosody.pid").string()) << "\n"
            << "data_path = " << luaString((dir / "data").string()) << "\n"
            << "certificates = " << luaString((dir / "certs").string()) << "\n"
            << "log = {\n"
            << "  { levels = { min = \"debug\" }, to = \"file\", filename = "
            << luaString((dir / "prosody.log").string()) << " };\n"
            << "}\n"
            << "interfaces = { \"127.0.0.1\" }\n"
            << "local_interfaces = { \"127.0.0.1\" }\n"
            << "c2s_ports = { " << c2sPort << " }\n"
            << "c2s_direct_tls_ports = { }\n"
            << "legacy_ssl_ports = { }\n"
            << "s2s_ports = { }\n"
            << "s2s_direct_tls_ports = { }\n"
            << "http_ports = { " << (options.bosh ? std::to_string(httpPort) : "") << " }\n"
            << "http_interfaces = { \"127.0.0.1\" }\n"
            << "https_ports = { }\n"
            << "https_interfaces = { }\n"
            << "http_default_host = " << luaString(domain) << "\n"
            << "proxy65_ports = { " << (options.proxy65 ? std::to_string(proxy65Port) : "") << " }\n"
            << "proxy65_interfaces = { \"127.0.0.1\" }\n"
            << "modules_enabled = {\n"
            << "  \"roster\"; \"saslauth\"; \"disco\"; \"ping\"; \"presence\"; \"posix\";\n"
            << (options.bosh ? "  \"bosh\";\n" : "") << (options.turn ? "  \"turn_external\";\n" : "")
            << (options.tamper ? "  \"tern_tamper\";\n" : "") << "}\n"
            << "plugin_paths = { " << luaString(TERN_PROSODY_PLUGIN_DIR) << " }\n"
            << "modules_disabled = { \"s2s\" }\n"
            << "c2s_require_encryption = false\n"
            << "allow_unencrypted_plain_auth = true\n"
            << "authentication = \"internal_plain\"\n"
            << "consider_bosh_secure = true\n";
        if (options.turn) {
            cfg << "turn_external_secret = " << luaString(turnSecret) << "\n"
                << "turn_external_host = " << luaString(host) << "\n"
                << "turn_external_port = " << turnPort << "\n"
                << "turn_external_ttl = 86400\n"
                << "turn_external_tcp = true\n";
        }
        cfg << "\nVirtualHost " << luaString(domain) << "\n";
        if (options.proxy65) {
            cfg << "\nComponent " << luaString("proxy." + domain) << " \"proxy65\"\n"
                << "  proxy65_address = " << luaString(host) << "\n";
        }
        if (!cfg.flush()) throw TestbedError("cannot write " + config().string());
    }

    void registerAccounts() {
        // prosodyctl takes a moment to start: register everyone at once.
        std::vector<Process> runs;
        for (const Account& a : accounts) {
            runs.push_back(Process::spawn(
                {"prosodyctl", "--config", config().string(), "register", a.name, domain, a.password},
                dir / "prosodyctl.log"));
        }
        for (std::size_t i = 0; i < runs.size(); ++i) {
            auto status = runs[i].wait(kCommandTimeout);
            if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
                throw TestbedError("prosodyctl register " + accounts[i].name + " " + domain + " " +
                                   (status ? detail::describeStatus(*status) : "timed out") + tail("prosodyctl.log"));
            }
        }
    }

    void startTurn() {
        // TODO: TLS/DTLS listeners (turns:) with a self-signed certificate.
        turn = Process::spawn(
            {"turnserver", "-n", "-v", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
             "--listening-port=" + std::to_string(turnPort), "--min-port=" + std::to_string(relayMin),
             "--max-port=" + std::to_string(relayMin + kRelayPorts - 1), "--use-auth-secret",
             "--static-auth-secret=" + turnSecret, "--realm=" + realm, "--allow-loopback-peers", "--no-cli",
             "--no-tls", "--no-dtls", "--db=" + (dir / "turndb").string(),
             "--log-file=" + (dir / "turn.log").string(), "--simple-log", "--no-stdout-log", "--pidfile",
             (dir / "turn.pid").string()},
            dir / "turnserver.stdout");
        turnPid = turn.pid();
        // The log line proves that this coturn holds the port (-v logs it), the
        // Binding response that it serves it. coturn retries a busy port forever.
        const std::string listener = "UDP listener opened on: 127.0.0.1:" + std::to_string(turnPort) + "\n";
        waitReady(turn, "turnserver", "turn.log", "errno=98", "a STUN Binding response on 127.0.0.1:" +
                  std::to_string(turnPort), [&](const std::string& log) {
                      return log.find(listener) != std::string::npos &&
                             stunBindingProbe(host, turnPort, std::chrono::milliseconds(200));
                  });
    }

    void startProsody() {
        prosody = Process::spawn({"prosody", "--config", config().string(), "-F"}, dir / "prosody.stdout");
        prosodyPid = prosody.pid();
        std::vector<std::pair<std::string, std::uint16_t>> services{{"c2s", c2sPort}};
        if (options.bosh) services.emplace_back("http", httpPort);
        if (options.proxy65) services.emplace_back("proxy65", proxy65Port);
        std::string what;
        for (const auto& [name, port] : services)
            what += (what.empty() ? "" : ", ") + name + " on 127.0.0.1:" + std::to_string(port);
        // Like coturn: the log says that prosody itself bound each port.
        waitReady(prosody, "prosody", "prosody.log", "Failed to open server port", what,
                  [&](const std::string& log) {
                      return std::all_of(services.begin(), services.end(), [&](const auto& service) {
                          std::string line = "Activated service '" + service.first + "' on [127.0.0.1]:" +
                                             std::to_string(service.second) + "\n";
                          return log.find(line) != std::string::npos &&
                                 detail::tcpConnects(service.second, std::chrono::milliseconds(200));
                      });
                  });
    }

    // Polls `ready(log text)` until it holds. Fails at once when the server
    // exits or its log shows `conflict` (a port taken since it was picked),
    // otherwise at the deadline; the error carries the log's tail.
    void waitReady(Process& server, const std::string& name, const std::string& log, const std::string& conflict,
                   const std::string& what, const std::function<bool(const std::string&)>& ready) {
        const std::string out = name + ".stdout";
        auto deadline = Clock::now() + options.startTimeout;
        for (;;) {
            std::string text = readFile(dir / log);
            if (text.find(conflict) != std::string::npos)
                throw PortConflict(name + " could not bind a port that was free a moment ago" + tail(log));
            if (ready(text)) return;
            if (!server.running()) {
                auto status = server.wait(std::chrono::seconds(1));
                throw TestbedError(name + " " + (status ? detail::describeStatus(*status) : "exited") +
                                   " during startup" + tail(log) + tail(out));
            }
            if (Clock::now() >= deadline) {
                throw TestbedError(name + " not ready after " + std::to_string(options.startTimeout.count()) +
                                   " ms (waiting for " + what + ")" + tail(log) + tail(out));
            }
            std::this_thread::sleep_for(kReadyPoll);
        }
    }
};

std::unique_ptr<Testbed> Testbed::start(const Options& options) {
    for (const std::string& name : options.accounts) {
        if (!validAccountName(name)) throw TestbedError("invalid account name '" + name + "' (use [a-z0-9._-])");
        if (std::count(options.accounts.begin(), options.accounts.end(), name) > 1)
            throw TestbedError("account '" + name + "' listed twice");
    }
    const char* keepEnv = std::getenv("TERN_KEEP_TESTBED");
    for (int attempt = 1;; ++attempt) {
        auto impl = std::make_unique<Impl>();  // on failure, its destructor stops what was started
        impl->options = options;
        impl->keep = !options.keepDir.empty() || (keepEnv && std::string(keepEnv) == "1");
        try {
            for (const std::string& name : options.accounts)
                impl->accounts.push_back({name, name + "@" + impl->domain, detail::randomHex(12)});
            impl->dir = makeDir(options.keepDir.empty() ? tempRoot() : options.keepDir);
            impl->turnSecret = detail::randomHex(16);
            impl->pickPorts();
            impl->writeProsodyConfig();
            impl->registerAccounts();
            if (options.turn) impl->startTurn();
            impl->startProsody();
        } catch (const PortConflict& e) {
            if (attempt < kStartAttempts) continue;
            throw TestbedError(e.what());
        } catch (const TestbedError& e) {
            throw TestbedError(e.what() + impl->removalNote());
        } catch (const std::exception& e) {
            throw TestbedError(std::string("testbed setup failed: ") + e.what() + impl->removalNote());
        }
        if (impl->keep) std::cerr << "tern::testbed: keeping " << impl->dir.string() << "\n";
        return std::unique_ptr<Testbed>(new Testbed(std::move(impl)));
    }
}

Testbed::Testbed(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Testbed::~Testbed() = default;

void Testbed::stop() { impl_->stop(); }

const std::string& Testbed::domain() const { return impl_->domain; }
const std::string& Testbed::host() const { return impl_->host; }
std::uint16_t Testbed::c2sPort() const { return impl_->c2sPort; }
std::uint16_t Testbed::httpPort() const { return impl_->httpPort; }
std::string Testbed::boshUrl() const {
    return impl_->options.bosh ? "http://" + impl_->host + ":" + std::to_string(impl_->httpPort) + "/http-bind"
                               : std::string();
}
bool Testbed::hasTurn() const { return impl_->options.turn; }
const std::string& Testbed::turnHost() const { return impl_->host; }
std::uint16_t Testbed::turnPort() const { return impl_->turnPort; }
const std::string& Testbed::turnSecret() const { return impl_->turnSecret; }
const std::string& Testbed::turnRealm() const { return impl_->realm; }
std::string Testbed::proxy65Jid() const { return impl_->options.proxy65 ? "proxy." + impl_->domain : std::string(); }
std::uint16_t Testbed::proxy65Port() const { return impl_->proxy65Port; }

const Account& Testbed::account(const std::string& name) const {
    for (const Account& a : impl_->accounts) {
        if (a.name == name) return a;
    }
    throw std::out_of_range("tern::testbed: no account '" + name + "'");
}
const std::vector<Account>& Testbed::accounts() const { return impl_->accounts; }
const fs::path& Testbed::dir() const { return impl_->dir; }
bool Testbed::keepsDir() const { return impl_->keep; }
pid_t Testbed::prosodyPid() const { return impl_->prosodyPid; }
pid_t Testbed::turnPid() const { return impl_->turnPid; }

std::string Testbed::logTail(const std::string& file, std::size_t lines) const {
    return tailOf(readFile(impl_->dir / file), lines);
}

}  // namespace tern::testbed
