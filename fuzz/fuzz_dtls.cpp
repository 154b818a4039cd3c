// Fuzzes the bottom of the transport chain as a hostile peer reaches it: datagrams from the ICE
// component -> DtlsTransport's demultiplexer (RFC 7983 / RFC 5764 section 5.1.2: DTLS 20..63,
// SRTP 128..191, the rest dropped) -> OpenSSL's DTLS 1.2 handshake (RFC 6347) in either role,
// with and without use_srtp -> record reading and the fingerprint check (XEP-0320).
//
// Input layout: byte 0 selects the role (bit 0: client) and use_srtp (bit 1); the rest is a
// sequence of datagrams, each a 2-byte big-endian length followed by that many bytes (a short
// last one takes what is left). The ICE component below is an in-memory stand-in that reports
// Connected and swallows what DTLS sends.
//
// Invariants checked: the transport never reaches Connected (the peer cannot produce a
// certificate matching the signalled fingerprint, nor finish a handshake without our keys), and
// nothing is delivered to the upper layers; no sanitizer report.
//
// Threading: everything runs on one NetworkThread (created once), as in the engine.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_support.hpp"
#include "tern/transport/certificate.hpp"
#include "tern/transport/dtls_transport.hpp"
#include "tern/transport/log.hpp"
#include "tern/transport/network_thread.hpp"
#include "tern/transport/transport.hpp"

using namespace tern::transport;

namespace {

/// The ICE component: connected, and sends nowhere.
class FakeIce final : public Transport {
 public:
  bool send(const std::uint8_t*, std::size_t len) override {
    sent += len;
    return true;
  }
  void connect() { changeState(State::Connected); }
  void push(const std::uint8_t* data, std::size_t len) { deliver(data, len); }
  std::size_t sent = 0;
};

struct Globals {
  Globals() {
    setLogSink([](Level, const std::string&) {});  // the fuzzer makes every warning happen
    certificate = Certificate::generate();
  }
  NetworkThread thread;
  std::shared_ptr<Certificate> certificate;
};

Globals& globals() {
  static Globals* g = new Globals();  // never destroyed: the thread outlives every input
  return *g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 16 * 1024) return 0;
  Globals& g = globals();
  g.thread.invoke([&] {
    FakeIce ice;
    const auto role = (data[0] & 1) ? DtlsTransport::Role::Client : DtlsTransport::Role::Server;
    std::vector<SrtpProfile> profiles;
    if (data[0] & 2) profiles = DtlsTransport::defaultSrtpProfiles();
    bool delivered = false;
    {
      DtlsTransport dtls(g.thread, ice, g.certificate, role, profiles);
      dtls.setRemoteFingerprint("sha-256",
                                "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:"
                                "66:77:88:99:AA:BB:CC:DD:EE:FF");
      dtls.onRecv([&](const std::uint8_t*, std::size_t) { delivered = true; });
      std::size_t srtp = 0;
      dtls.onSrtpPacket([&](const std::uint8_t*, std::size_t) { ++srtp; });
      ice.connect();
      std::size_t at = 1;
      while (at < size) {
        std::size_t len = size - at;
        if (len >= 2) {
          len = std::min<std::size_t>(static_cast<std::size_t>(data[at] << 8 | data[at + 1]),
                                      size - at - 2);
          at += 2;
        } else {
          len = size - at;
        }
        ice.push(data + at, len);
        at += len;
        TERN_FUZZ_CHECK(dtls.state() != Transport::State::Connected);
      }
      if (profiles.empty()) TERN_FUZZ_CHECK(srtp == 0);
      TERN_FUZZ_CHECK(!dtls.srtpKeyingMaterial().has_value());
    }
    TERN_FUZZ_CHECK(!delivered);
  });
  return 0;
}
