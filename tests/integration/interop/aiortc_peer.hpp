// The aiortc side of the interoperability test, seen from the test: aiortc_peer.py run by
// /usr/bin/python3 as a child process, talking JSON lines over a Unix socket (see the script for
// the messages). Messages are flat JSON objects; values are kept as strings (numbers as written).
//
// Threading: one thread (the test's) uses an AiortcPeer. The destructor closes the socket (the
// script then hangs up and exits) and stops the process (SIGTERM, then SIGKILL): no failure path
// leaves python running.
#pragma once

#include "net.hpp"
#include "process.hpp"

#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tern::interop {

using Message = std::map<std::string, std::string>;

/// One line of JSON: {"k": "v", ...} with the values as strings.
std::string toJson(const Message& message);
/// Parses a flat JSON object whose values are strings, numbers, booleans or null (kept as their
/// text: "12", "true", "null"). Nothing for anything else (nesting, malformed input).
std::optional<Message> fromJson(const std::string& line);

class AiortcPeer {
 public:
  /// Starts `python` on `script` with `args` (after --socket), output to `log`, and waits up to
  /// `timeout` for it to connect and say "ready". Nothing, with `error` set, if that fails.
  static std::unique_ptr<AiortcPeer> start(const std::string& python, const std::string& script,
                                           const std::vector<std::string>& args,
                                           const std::filesystem::path& dir,
                                           std::chrono::milliseconds timeout, std::string& error);
  ~AiortcPeer();
  AiortcPeer(const AiortcPeer&) = delete;
  AiortcPeer& operator=(const AiortcPeer&) = delete;

  /// Queues a message (written at once; the socket is blocking for writes).
  bool send(const Message& message);
  /// The next complete message, waiting at most `wait` for one. Nothing if none (or closed()).
  std::optional<Message> receive(std::chrono::milliseconds wait);
  /// The script closed its end of the socket.
  bool closed() const { return closed_; }
  testbed::detail::Process& process() { return process_; }

 private:
  AiortcPeer() = default;
  testbed::detail::Process process_;
  testbed::detail::UniqueFd socket_;
  std::string buffer_;
  std::deque<Message> ready_;
  bool closed_ = false;
};

}  // namespace tern::interop
