// Harness of the hostile-input and teardown suites (docs/robustness.md, "Hostile
// input: what each case gets" and "Teardown"): in-process tern::Engines logged in
// to the suite's Prosody, and a hostile peer that sends raw Jingle IQs
// (XEP-0166 section 8 error handling) and reads the engine's answers.
//
// Threading: everything runs on the test's main thread. Nothing happens unless the
// test pumps; pumpAll() pumps every participant in turn (an Engine through
// Engine::pump(), which runs gloox's recv() and the engine's queued work), so an IQ
// sent by one participant is answered by another within the same loop.
#pragma once

#include "integration.hpp"
#include "tern/testbed/test_client.hpp"
#include "tern/testbed/testbed.hpp"

#include <tern/engine.hpp>

#include <gloox/iqhandler.h>
#include <gloox/tag.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tern::hostile {

using Clock = std::chrono::steady_clock;

testbed::Testbed* bed();

/// Something the test thread pumps.
class Pumped {
public:
  virtual ~Pumped() = default;
  /// One slice of work, waiting at most `wait` for input.
  virtual void pumpOnce(std::chrono::milliseconds wait) = 0;
};

/// Pumps every participant in short slices until `done()` holds (true) or `timeout`
/// passes (false).
bool pumpAll(const std::vector<Pumped*>& who, const std::function<bool()>& done,
             std::chrono::milliseconds timeout);
/// Pumps for exactly `duration` (lets timers and network events run).
void pumpFor(const std::vector<Pumped*>& who, std::chrono::milliseconds duration);

/// The engine configuration used by the suites: loopback only, no XEP-0215 wait.
Config testConfig();

/// An in-process Engine on its own gloox client, logged in as account/resource.
/// Offers are collected (not answered) unless the test sets its own handler.
class EnginePeer : public Pumped {
public:
  EnginePeer(const std::string& account, const std::string& resource, Config config = testConfig());
  ~EnginePeer() override;

  /// Creates the Engine (if none) and logs in. False (with a reason in error())
  /// when the login fails.
  bool connect();
  /// Creates a fresh Engine on the (possibly already connected) client.
  void createEngine();
  /// Destroys the Engine and returns how long the destructor took.
  std::chrono::milliseconds destroyEngine();
  bool hasEngine() const { return engine_ != nullptr; }

  Engine& engine() { return *engine_; }
  gloox::JID jid() const { return client_.jid(); }
  testbed::TestClient& client() { return client_; }
  const std::string& error() const { return error_; }

  void pumpOnce(std::chrono::milliseconds wait) override;

  /// Offers received since the last take (handler installed by createEngine()).
  std::vector<std::shared_ptr<IncomingFileOffer>> offers;
  /// Incoming calls received (handler installed by createEngine()).
  std::vector<std::shared_ptr<Call>> calls;

private:
  Config config_;
  testbed::TestClient client_;
  std::unique_ptr<Engine> engine_;
  std::string error_;
};

/// A peer that writes its own stanzas: raw Jingle IQs to the engine, and a record
/// of every Jingle IQ the engine sends to it (acknowledged with a result unless
/// ackIncoming is false). Announces file-transfer support in disco#info so that
/// an Engine offers files to it.
class HostilePeer : public Pumped, public gloox::IqHandler {
public:
  struct Reply {
    gloox::IQ::IqType type = gloox::IQ::Invalid;
    std::string error;  ///< the <error/> element as XML, for an error reply
    bool isError(const std::string& condition, const std::string& jingleCondition = {}) const;
  };
  struct Received {
    gloox::JID from;
    std::unique_ptr<gloox::Tag> jingle;
  };

  HostilePeer(const std::string& account, const std::string& resource);
  ~HostilePeer() override;

  bool connect();
  gloox::JID jid() const { return client_.jid(); }
  testbed::TestClient& client() { return client_; }

  /// Sends <iq type='set'> carrying `payload`; returns the context to wait on.
  int send(const gloox::JID& to, const gloox::Tag& payload);
  /// Sends `payload` given as XML text (parsed here; the text must be well formed).
  int sendXml(const gloox::JID& to, const std::string& xml);
  /// The reply to `context`, once it arrived.
  std::optional<Reply> reply(int context) const;
  bool answered(int context) const { return replies_.count(context) > 0; }

  /// Jingle IQs received from engines, in order.
  std::vector<Received> received;
  bool ackIncoming = true;

  void pumpOnce(std::chrono::milliseconds wait) override;

  bool handleIq(const gloox::IQ& iq) override;
  void handleIqID(const gloox::IQ& iq, int context) override;

private:
  testbed::TestClient client_;
  std::map<int, Reply> replies_;
  int nextContext_ = 1;
};

/// Parses one XML element; null if the text is not well formed.
std::unique_ptr<gloox::Tag> parseXml(const std::string& xml);
/// Escapes text for XML character data and attribute values.
std::string xmlEscape(const std::string& text);

/// A XEP-0234 file offer (session-initiate) in the XEP-0343 sctpmap dialect, as
/// StanzaJS sends it. `fingerprints` is inserted verbatim in the transport (empty:
/// none); `extra` is inserted verbatim in the <jingle/> element.
struct OfferSpec {
  std::string sid;
  std::string name = "offer.bin";
  std::uint64_t size = 1024;
  std::string fingerprints = defaultFingerprint();
  std::string extra;
  static std::string defaultFingerprint();
};
std::string offerXml(const OfferSpec& spec);
/// <jingle action='...' sid='...'/> with `inner` as its children.
std::string jingleXml(const std::string& action, const std::string& sid, const std::string& inner = {});

/// Writes `size` random bytes to `path`; returns the SHA-256 (lower-case hex).
std::string writeRandomFile(const std::filesystem::path& path, std::size_t size);
using tern::testbed::sha256File;  // tests/support/integration.hpp

/// Entries of a /proc directory (e.g. "/proc/self/fd"), "." and ".." excluded.
std::size_t countEntries(const char* dir);

/// A fresh temporary directory named after the running test, removed when the test passed.
class TempDir {
public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

}  // namespace tern::hostile
