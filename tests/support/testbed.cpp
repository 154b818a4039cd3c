#include "tern/testbed/testbed.hpp"

#include "net.hpp"
#include "process.hpp"
#include "tern/testbed/stun.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
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

// True if a TCP connection to ip:port (IPv4) succeeds within `timeout`.
bool tcpConnectsTo(const std::string& ip, std::uint16_t port, std::chrono::milliseconds timeout) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return false;
    detail::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return false;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
    if (errno != EINPROGRESS) return false;
    pollfd pfd{fd.get(), POLLOUT, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) return false;
    int err = 0;
    socklen_t len = sizeof err;
    return ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

// One STUN Binding request (RFC 5389 section 6: 20-byte header, no attributes)
// to ip:port, resent every 100 ms; true once a Binding success response with
// the same transaction ID arrives within `timeout`. For listenAddress, which
// stunBindingProbe (loopback only by design) refuses.
bool stunBindingTo(const std::string& ip, std::uint16_t port, std::chrono::milliseconds timeout) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return false;
    detail::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    std::string txid = detail::randomHex(6);  // 12 bytes of transaction ID
    unsigned char request[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    std::copy(txid.begin(), txid.end(), request + 8);
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        (void)::send(fd.get(), request, sizeof request, 0);
        pollfd pfd{fd.get(), POLLIN, 0};
        if (::poll(&pfd, 1, 100) != 1) continue;
        unsigned char buf[1500];
        ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n >= 20 && buf[0] == 0x01 && buf[1] == 0x01 && std::equal(request + 4, request + 20, buf + 4))
            return true;
    }
    return false;
}

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct FileClose {
    void operator()(FILE* f) const { std::fclose(f); }
};

// A self-signed ECDSA P-256 certificate for `ip` (CN and subjectAltName IP, plus
// DNS:localhost), valid from an hour ago for two days, written as PEM to
// `certPath` and its key to `keyPath`. Throws TestbedError.
void writeSelfSignedCertificate(const fs::path& certPath, const fs::path& keyPath, const std::string& ip) {
    std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_EC_gen("P-256"));
    std::unique_ptr<X509, X509Free> cert(X509_new());
    if (!key || !cert) throw TestbedError("cannot make a TLS key for coturn");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::time(nullptr)));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 2 * 86400);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(ip.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), name);
    X509_set_pubkey(cert.get(), key.get());
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    const std::string san = "IP:" + ip + ",DNS:localhost";
    for (const auto& [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, san},
                                     {NID_basic_constraints, "critical,CA:TRUE"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
        if (!ext) throw TestbedError("cannot add the certificate extension " + value);
        X509_add_ext(cert.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw TestbedError("cannot sign coturn's certificate");
    std::unique_ptr<FILE, FileClose> c(std::fopen(certPath.c_str(), "w"));
    std::unique_ptr<FILE, FileClose> k(std::fopen(keyPath.c_str(), "w"));
    if (!c || !k || PEM_write_X509(c.get(), cert.get()) != 1 ||
        PEM_write_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw TestbedError("cannot write " + certPath.string() + " or " + keyPath.string());
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
    std::uint16_t c2sPort = 0, httpPort = 0, proxy65Port = 0, turnPort = 0, relayMin = 0, turnTlsPort = 0;
    fs::path turnCert;
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
        std::size_t count = 1 + (options.bosh ? 1 : 0) + (options.proxy65 ? 1 : 0) + (options.turn ? 1 : 0) +
                            (options.turn && options.turnTls ? 1 : 0);
        std::vector<std::uint16_t> ports = detail::freePorts(count);
        std::size_t i = 0;
        c2sPort = ports[i++];
        if (options.bosh) httpPort = ports[i++];
        if (options.proxy65) proxy65Port = ports[i++];
        if (options.turn) {
            turnPort = ports[i++];
            if (options.turnTls) turnTlsPort = ports[i++];
            relayMin = detail::freePortRange(kRelayPorts, ports);
        }
    }

    void writeProsodyConfig() const {
        fs::create_directories(dir / "data");
        fs::create_directories(dir / "certs");  // none: this only keeps certmanager from logging errors
        std::ofstream cfg(config());
        cfg << "-- Written by tern::testbed::Testbed. Everything listens on " << host << " only.\n"
            << "run_as_root = true -- CI runs the tests as root; mod_posix refuses root otherwise\n"
            << "pidfile = " << luaString((dir / "prosody.pid").string()) << "\n"
            << "data_path = " << luaString((dir / "data").string()) << "\n"
            << "certificates = " << luaString((dir / "certs").string()) << "\n"
            << "log = {\n"
            << "  { levels = { min = \"debug\" }, to = \"file\", filename = "
            << luaString((dir / "prosody.log").string()) << " };\n"
            << "}\n"
            << "interfaces = { " << luaString(host) << " }\n"
            << "local_interfaces = { " << luaString(host) << " }\n"
            << "c2s_ports = { " << c2sPort << " }\n"
            << "c2s_direct_tls_ports = { }\n"
            << "legacy_ssl_ports = { }\n"
            << "s2s_ports = { }\n"
            << "s2s_direct_tls_ports = { }\n"
            << "http_ports = { " << (options.bosh ? std::to_string(httpPort) : "") << " }\n"
            << "http_interfaces = { " << luaString(host) << " }\n"
            << "https_ports = { }\n"
            << "https_interfaces = { }\n"
            << "http_default_host = " << luaString(domain) << "\n"
            << "proxy65_ports = { " << (options.proxy65 ? std::to_string(proxy65Port) : "") << " }\n"
            << "proxy65_interfaces = { " << luaString(host) << " }\n"
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
            // Not turn_external_tls_port: Prosody 0.12's mod_turn_external announces
            // "turns" without credentials (it derives them for type "turn" only), so
            // the TLS service is configured here with the same REST-API secret.
            if (turnTlsPort != 0) {
                cfg << "external_services = {\n"
                    << "  { type = \"turns\"; transport = \"tcp\"; host = " << luaString(host)
                    << "; port = " << turnTlsPort << "; secret = " << luaString(turnSecret)
                    << "; algorithm = \"turn\"; ttl = 86400 };\n"
                    << "}\n";
            }
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

    // Starts coturn and waits for it. `logFrom`: where in turn.log this start's
    // lines begin (a restart appends to the log of the earlier runs).
    void startTurn(std::size_t logFrom = 0) {
        std::vector<std::string> argv{
            "turnserver", "-n", "-v", "--listening-ip=" + host, "--relay-ip=" + host,
            "--listening-port=" + std::to_string(turnPort), "--min-port=" + std::to_string(relayMin),
            "--max-port=" + std::to_string(relayMin + kRelayPorts - 1), "--use-auth-secret",
            "--static-auth-secret=" + turnSecret, "--realm=" + realm, "--allow-loopback-peers", "--no-cli",
            "--no-dtls", "--db=" + (dir / "turndb").string(),
            "--log-file=" + (dir / "turn.log").string(), "--simple-log", "--no-stdout-log", "--pidfile",
            (dir / "turn.pid").string()};
        if (turnTlsPort == 0) {
            argv.push_back("--no-tls");
        } else {
            turnCert = dir / "turn-cert.pem";
            // A restart keeps the certificate the clients were told to trust.
            if (!fs::exists(turnCert)) writeSelfSignedCertificate(turnCert, dir / "turn-key.pem", host);
            argv.push_back("--tls-listening-port=" + std::to_string(turnTlsPort));
            argv.push_back("--cert=" + turnCert.string());
            argv.push_back("--pkey=" + (dir / "turn-key.pem").string());
        }
        turn = Process::spawn(argv, dir / "turnserver.stdout");
        turnPid = turn.pid();
        // The log line proves that this coturn holds the port (-v logs it), the
        // Binding response that it serves it. coturn retries a busy port forever.
        const std::string listener = "UDP listener opened on: " + host + ":" + std::to_string(turnPort) + "\n";
        const std::string tlsListener = "TLS/TCP listener opened on : " + host + ":" + std::to_string(turnTlsPort);
        waitReady(turn, "turnserver", "turn.log", logFrom, "errno=98", "a STUN Binding response on " + host + ":" +
                  std::to_string(turnPort), [&](const std::string& log) {
                      return log.find(listener) != std::string::npos &&
                             (turnTlsPort == 0 || (log.find(tlsListener) != std::string::npos &&
                                                   tcpConnectsTo(host, turnTlsPort, std::chrono::milliseconds(200)))) &&
                             (options.listenAddress.empty()
                                  ? stunBindingProbe(host, turnPort, std::chrono::milliseconds(200))
                                  : stunBindingTo(host, turnPort, std::chrono::milliseconds(200)));
                  });
    }

    // Starts Prosody and waits for it; `logFrom` as for startTurn().
    void startProsody(std::size_t logFrom = 0) {
        prosody = Process::spawn({"prosody", "--config", config().string(), "-F"}, dir / "prosody.stdout");
        prosodyPid = prosody.pid();
        std::vector<std::pair<std::string, std::uint16_t>> services{{"c2s", c2sPort}};
        if (options.bosh) services.emplace_back("http", httpPort);
        if (options.proxy65) services.emplace_back("proxy65", proxy65Port);
        std::string what;
        for (const auto& [name, port] : services)
            what += (what.empty() ? "" : ", ") + name + " on " + host + ":" + std::to_string(port);
        // Like coturn: the log says that prosody itself bound each port.
        waitReady(prosody, "prosody", "prosody.log", logFrom, "Failed to open server port", what,
                  [&](const std::string& log) {
                      return std::all_of(services.begin(), services.end(), [&](const auto& service) {
                          std::string line = "Activated service '" + service.first + "' on [" + host + "]:" +
                                             std::to_string(service.second) + "\n";
                          return log.find(line) != std::string::npos &&
                                 (options.listenAddress.empty()
                                      ? detail::tcpConnects(service.second, std::chrono::milliseconds(200))
                                      : tcpConnectsTo(host, service.second, std::chrono::milliseconds(200)));
                      });
                  });
    }

    // Polls `ready(log text from logFrom on)` until it holds. Fails at once when the
    // server exits or its log shows `conflict` (a port taken since it was picked),
    // otherwise at the deadline; the error carries the log's tail.
    void waitReady(Process& server, const std::string& name, const std::string& log, std::size_t logFrom,
                   const std::string& conflict, const std::string& what,
                   const std::function<bool(const std::string&)>& ready) {
        const std::string out = name + ".stdout";
        auto deadline = Clock::now() + options.startTimeout;
        for (;;) {
            std::string text = readFile(dir / log);
            if (text.size() >= logFrom) text.erase(0, logFrom);  // shorter: the server started a new log
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
    if (!options.listenAddress.empty()) {
        in_addr probe{};
        if (::inet_pton(AF_INET, options.listenAddress.c_str(), &probe) != 1)
            throw TestbedError("listenAddress '" + options.listenAddress + "' is not an IPv4 address");
    }
    if (options.turnTls && !options.turn) throw TestbedError("turnTls needs turn");
    const char* keepEnv = std::getenv("TERN_KEEP_TESTBED");
    for (int attempt = 1;; ++attempt) {
        auto impl = std::make_unique<Impl>();  // on failure, its destructor stops what was started
        impl->options = options;
        if (!options.listenAddress.empty()) impl->host = options.listenAddress;
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

void Testbed::stopProsody() {
    impl_->prosody.stop();
    impl_->prosodyPid = 0;
}

void Testbed::startProsody() {
    if (impl_->prosodyPid != 0 && impl_->prosody.running())
        throw TestbedError("startProsody: prosody is running (pid " + std::to_string(impl_->prosodyPid) + ")");
    impl_->prosody.stop();  // reaps one that died by itself
    impl_->prosodyPid = 0;
    std::error_code ec;
    auto logFrom = fs::file_size(impl_->dir / "prosody.log", ec);
    try {
        impl_->startProsody(ec ? 0 : static_cast<std::size_t>(logFrom));
    } catch (const TestbedError&) {
        impl_->prosody.stop();
        impl_->prosodyPid = 0;
        throw;
    }
}

void Testbed::restartProsody() {
    stopProsody();
    startProsody();
}

bool Testbed::prosodyRunning() const { return impl_->prosodyPid != 0 && impl_->prosody.running(); }

void Testbed::restartTurn() {
    if (!impl_->options.turn) throw TestbedError("restartTurn: the testbed has no TURN server");
    impl_->turn.stop();
    impl_->turnPid = 0;
    std::error_code ec;
    auto logFrom = fs::file_size(impl_->dir / "turn.log", ec);
    try {
        impl_->startTurn(ec ? 0 : static_cast<std::size_t>(logFrom));
    } catch (const TestbedError&) {
        impl_->turn.stop();
        impl_->turnPid = 0;
        throw;
    }
}

bool Testbed::turnRunning() const { return impl_->turnPid != 0 && impl_->turn.running(); }

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
std::uint16_t Testbed::turnTlsPort() const { return impl_->turnTlsPort; }
const fs::path& Testbed::turnCertificate() const { return impl_->turnCert; }
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
