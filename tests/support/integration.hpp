// Helpers shared by the integration suites that drive the sample programs
// against one Testbed per test program.
#pragma once

#include "tern/testbed/testbed.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
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

}  // namespace tern::testbed
