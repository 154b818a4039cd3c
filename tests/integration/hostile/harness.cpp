#include "harness.hpp"

#include "integration.hpp"

#include <gloox/disco.h>
#include <gloox/iq.h>
#include <gloox/parser.h>
#include <gloox/stanzaextension.h>
#include <gloox/taghandler.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <gtest/gtest.h>

namespace tern::hostile {

namespace {

constexpr int kExtJingle = gloox::ExtUser + 0x5a1;
constexpr int kExtError = gloox::ExtUser + 0x5a2;
constexpr const char* kJingleNs = "urn:xmpp:jingle:1";

using Raw = tern::testbed::RawPayload;

class Collector : public gloox::TagHandler {
public:
  void handleTag(gloox::Tag* tag) override {
    if (!tag_) tag_.reset(tag->clone());
  }
  std::unique_ptr<gloox::Tag> tag_;
};

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

}  // namespace

testbed::Testbed* bed() { return testbed::Suite::bed(); }

bool pumpAll(const std::vector<Pumped*>& who, const std::function<bool()>& done,
             std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    for (auto* p : who) p->pumpOnce(std::chrono::milliseconds(5));
  }
  return true;
}

void pumpFor(const std::vector<Pumped*>& who, std::chrono::milliseconds duration) {
  auto deadline = Clock::now() + duration;
  while (Clock::now() < deadline)
    for (auto* p : who) p->pumpOnce(std::chrono::milliseconds(5));
}

Config testConfig() {
  Config c;
  c.discoverIceServers = false;
  c.localAddresses = {"127.0.0.1"};
  c.echoCancellation = false;
  c.noiseSuppression = false;
  c.mediaThreads = 1;
  c.log = [](LogLevel, const std::string&) {};  // the suites provoke warnings on purpose
  return c;
}

// ---------------------------------------------------------------- EnginePeer

EnginePeer::EnginePeer(const std::string& account, const std::string& resource, Config config)
    : config_(std::move(config)), client_(*bed(), account, testbed::TestClient::Transport::Tcp, resource) {}

EnginePeer::~EnginePeer() {
  offers.clear();
  calls.clear();
  engine_.reset();
  client_.disconnect();
}

void EnginePeer::createEngine() {
  if (engine_) return;
  engine_ = std::make_unique<Engine>(client_.client(), config_);
  engine_->onFileOffer([this](std::shared_ptr<IncomingFileOffer> o) { offers.push_back(std::move(o)); });
  engine_->onIncomingCall([this](std::shared_ptr<Call> c) { calls.push_back(std::move(c)); });
}

std::chrono::milliseconds EnginePeer::destroyEngine() {
  auto start = Clock::now();
  engine_.reset();
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

bool EnginePeer::connect() {
  createEngine();
  auto r = client_.connect(std::chrono::seconds(10));
  if (!r) error_ = r.error + "\n" + client_.logTail();
  return r.ok;
}

void EnginePeer::pumpOnce(std::chrono::milliseconds wait) {
  if (engine_) engine_->pump(wait);
  else client_.pump(wait);
}

// ---------------------------------------------------------------- HostilePeer

bool HostilePeer::Reply::isError(const std::string& condition, const std::string& jingleCondition) const {
  if (type != gloox::IQ::Error) return false;
  if (error.find("<" + condition) == std::string::npos) return false;
  return jingleCondition.empty() || error.find("<" + jingleCondition) != std::string::npos;
}

HostilePeer::HostilePeer(const std::string& account, const std::string& resource)
    : client_(*bed(), account, testbed::TestClient::Transport::Tcp, resource) {
  auto& c = client_.client();
  c.registerStanzaExtension(new Raw(kExtJingle, "/iq/jingle[@xmlns='" + std::string(kJingleNs) + "']", nullptr));
  c.registerStanzaExtension(new Raw(kExtError, "/iq/error", nullptr));
  c.registerIqHandler(this, kExtJingle);
  for (const char* f : {"urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:file-transfer:5",
                        "urn:xmpp:jingle:transports:ice-udp:1", "urn:xmpp:jingle:apps:dtls:0",
                        "urn:xmpp:jingle:transports:dtls-sctp:1"})
    c.disco()->addFeature(f);
}

HostilePeer::~HostilePeer() {
  client_.client().removeIqHandler(this, kExtJingle);
  client_.client().removeIDHandler(this);
  client_.disconnect();
}

bool HostilePeer::connect() { return client_.connect(std::chrono::seconds(10)).ok; }

int HostilePeer::send(const gloox::JID& to, const gloox::Tag& payload) {
  gloox::IQ iq(gloox::IQ::Set, to, client_.client().getID());
  iq.addExtension(new Raw(kExtJingle, {}, payload.clone()));
  int context = nextContext_++;
  client_.client().send(iq, this, context);
  return context;
}

int HostilePeer::sendXml(const gloox::JID& to, const std::string& xml) {
  auto tag = parseXml(xml);
  EXPECT_TRUE(tag) << "not well formed: " << xml.substr(0, 300);
  if (!tag) return -1;
  return send(to, *tag);
}

std::optional<HostilePeer::Reply> HostilePeer::reply(int context) const {
  auto it = replies_.find(context);
  if (it == replies_.end()) return std::nullopt;
  return it->second;
}

void HostilePeer::pumpOnce(std::chrono::milliseconds wait) { client_.pump(wait); }

bool HostilePeer::handleIq(const gloox::IQ& iq) {
  if (iq.subtype() != gloox::IQ::Set) return false;
  const auto* ext = iq.findExtension<Raw>(kExtJingle);
  if (!ext || !ext->raw()) return false;
  received.push_back({iq.from(), std::unique_ptr<gloox::Tag>(ext->raw()->clone())});
  if (ackIncoming) {
    gloox::IQ ack(gloox::IQ::Result, iq.from(), iq.id());
    client_.client().send(ack);
  }
  return true;
}

void HostilePeer::handleIqID(const gloox::IQ& iq, int context) {
  Reply r;
  r.type = iq.subtype();
  if (const auto* e = iq.findExtension<Raw>(kExtError); e && e->raw()) r.error = e->raw()->xml();
  replies_[context] = r;
}

// ---------------------------------------------------------------- XML

std::unique_ptr<gloox::Tag> parseXml(const std::string& xml) {
  Collector collector;
  gloox::Parser parser(&collector);
  std::string copy = xml;
  if (parser.feed(copy) >= 0) return nullptr;  // >= 0: position of a parse error
  return std::move(collector.tag_);
}

std::string xmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string OfferSpec::defaultFingerprint() {
  return "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>"
         "E1:EB:3B:99:25:0C:BB:BD:F1:EC:C1:8F:E3:85:01:33:B2:D9:78:35:D1:3D:00:D3:EA:67:BA:FF:74:C2:39:3D"
         "</fingerprint>";
}

std::string offerXml(const OfferSpec& s) {
  return "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='" + xmlEscape(s.sid) +
         "'><content creator='initiator' name='0'>"
         "<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file>"
         "<date>2026-11-24T22:21:27.609Z</date><name>" +
         xmlEscape(s.name) + "</name><size>" + std::to_string(s.size) +
         "</size>"
         "<hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</hash>"
         "</file></description>"
         "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='ShtS' pwd='HHM42z0+cclNbCHyUOPfpyLF'>" +
         s.fingerprints +
         "<sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1' number='5000' protocol='webrtc-datachannel'/>"
         "</transport></content>" +
         s.extra + "</jingle>";
}

std::string jingleXml(const std::string& action, const std::string& sid, const std::string& inner) {
  return "<jingle xmlns='urn:xmpp:jingle:1' action='" + action + "' sid='" + xmlEscape(sid) + "'>" + inner +
         "</jingle>";
}

// ---------------------------------------------------------------- files, /proc

std::string writeRandomFile(const std::filesystem::path& path, std::size_t size) {
  std::ofstream out(path, std::ios::binary);
  std::vector<unsigned char> buf(1 << 16);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::size_t left = size;
  while (left > 0) {
    std::size_t n = std::min(left, buf.size());
    RAND_bytes(buf.data(), static_cast<int>(n));
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    EVP_DigestUpdate(ctx, buf.data(), n);
    left -= n;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  return hex(digest, len);
}

std::size_t countEntries(const char* dir) {
  std::size_t n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") ++n;
    }
    ::closedir(d);
    // The directory stream's own descriptor was listed while reading /proc/self/fd.
    if (std::string(dir) == "/proc/self/fd" && n > 0) --n;
  }
  return n;
}

TempDir::TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  path_ = std::filesystem::temp_directory_path() /
          ("tern-hostile-" + std::to_string(::getpid()) + "-" + (info ? info->name() : "x"));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  if (!::testing::Test::HasFailure()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

}  // namespace tern::hostile
