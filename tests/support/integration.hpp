// Helpers shared by the integration suites that drive the sample programs
// against one Testbed per test program.
#pragma once

#include "tern/testbed/testbed.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <csignal>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>

namespace tern::testbed {

/// The servers of a whole test program: started once, stopped at the end.
/// Every test reads them through Suite::bed().
class Suite : public ::testing::Environment {
public:
    explicit Suite(Options options) : options_(std::move(options)) {}
    void SetUp() override {
        bed_ = Testbed::start(options_);
        current() = bed_.get();
    }
    void TearDown() override {
        current() = nullptr;
        bed_.reset();  // stops Prosody and coturn
    }
    static Testbed* bed() { return current(); }

private:
    static Testbed*& current() {
        static Testbed* bed = nullptr;
        return bed;
    }
    Options options_;
    std::unique_ptr<Testbed> bed_;
};

inline std::string readFile(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// SHA-256 of a file's bytes, lower-case hex.
inline std::string sha256File(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::string buf(1 << 16, '\0');
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, d, &len);
    EVP_MD_CTX_free(ctx);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += digits[d[i] >> 4];
        out += digits[d[i] & 15];
    }
    return out;
}

/// Freezes a server process (SIGSTOP) for the lifetime of this object and lets it go
/// on (SIGCONT) when destroyed, even if the test fails: to the peers the server stops
/// answering, while the suite's later tests still have it.
class Frozen {
public:
    explicit Frozen(pid_t pid) : pid_(pid), ok_(pid > 0 && ::kill(pid, SIGSTOP) == 0) {}
    ~Frozen() {
        if (ok_) ::kill(pid_, SIGCONT);
    }
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;
    bool ok() const { return ok_; }

private:
    pid_t pid_;
    bool ok_;
};

/// Stops Prosody for real (Testbed::stopProsody(): every client's XMPP connection breaks)
/// until end() or the destructor starts it again on the same port with the same accounts,
/// so that the suite's later tests still have a server even if the test fails.
class ProsodyOutage {
public:
    explicit ProsodyOutage(Testbed& bed) : bed_(bed) { bed_.stopProsody(); }
    ~ProsodyOutage() {
        if (bed_.prosodyRunning()) return;
        try {
            bed_.startProsody();
        } catch (const TestbedError& e) {
            ADD_FAILURE() << "Prosody did not come back: " << e.what();
        }
    }
    ProsodyOutage(const ProsodyOutage&) = delete;
    ProsodyOutage& operator=(const ProsodyOutage&) = delete;
    /// Starts Prosody again now. Throws TestbedError.
    void end() { bed_.startProsody(); }

private:
    Testbed& bed_;
};

/// Kills coturn with SIGKILL (no goodbye: its allocations and relayed flows vanish at
/// once) and starts a new one on the same ports when destroyed (Testbed::restartTurn()),
/// even if the test fails, so that the suite's later tests still have a relay.
class TurnKilled {
public:
    explicit TurnKilled(Testbed& bed) : bed_(bed), ok_(bed.turnPid() > 0 && ::kill(bed.turnPid(), SIGKILL) == 0) {}
    ~TurnKilled() {
        try {
            bed_.restartTurn();
        } catch (const TestbedError& e) {
            ADD_FAILURE() << "coturn did not come back: " << e.what();
        }
    }
    TurnKilled(const TurnKilled&) = delete;
    TurnKilled& operator=(const TurnKilled&) = delete;
    bool ok() const { return ok_; }

private:
    Testbed& bed_;
    bool ok_;
};

/// A process's exit code; 128 + signal if it was killed; -1 if it still runs.
inline int exitCode(std::optional<int> status) {
    if (!status) return -1;
    if (WIFEXITED(*status)) return WEXITSTATUS(*status);
    return 128 + WTERMSIG(*status);
}

/// Waits until `file` contains `text` (the programs log each event as a line).
inline bool waitForText(const std::filesystem::path& file, const std::string& text, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (readFile(file).find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a log file for an event
    }
    return false;
}

// Removes a test's working directory when the test passed, unless TERN_KEEP_TEST_DIRS=1;
// otherwise says where it is (docs/testing.md).
inline void finishTestDir(const std::filesystem::path& dir, bool failed) {
    const char* keep = std::getenv("TERN_KEEP_TEST_DIRS");
    if (!failed && !(keep && std::string(keep) == "1")) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        return;
    }
    std::printf("[ kept     ] %s\n", dir.c_str());
}

}  // namespace tern::testbed
