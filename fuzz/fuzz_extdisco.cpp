// Fuzzes XEP-0215 (External Service Discovery) results as the server sends them: IQ bytes ->
// gloox parser -> parseExternalServices (section 3.2 <services/>, 3.3 <credentials/>, pushes), and
// parseXmppDateTime (XEP-0082) on the raw input and on every 'expires' attribute.
//
// Invariants checked: at most limits::kMaxExternalServices services; every service kept has a
// host; the effective port is never 0 when no port was given; an 'expires' that parses is what
// parseXmppDateTime says.
//
// Threading: single-threaded.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "tern/signaling/extdisco.hpp"
#include "tern/signaling/limits.hpp"
#include "tern/signaling/namespaces.hpp"

using namespace tern::signaling;
using tern::fuzz::TagPtr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size <= 64) {
    (void)parseXmppDateTime(std::string_view(reinterpret_cast<const char*>(data), size));
  }
  auto tags = tern::fuzz::parseXmlAll(data, size);
  for (const TagPtr& tag : tags) {
    const gloox::Tag* element = tern::fuzz::findDeep(*tag, "services", ns::kExtDisco, 2);
    if (!element) element = tern::fuzz::findDeep(*tag, "credentials", ns::kExtDisco, 2);
    if (!element) element = tag.get();
    auto parsed = parseExternalServices(*element);
    if (!parsed.ok()) {
      TERN_FUZZ_CHECK(!parsed.error().text.empty());
      continue;
    }
    TERN_FUZZ_CHECK(parsed->size() <= limits::kMaxExternalServices);
    for (const ExternalService& service : *parsed) {
      TERN_FUZZ_CHECK(!service.host.empty());
      if (!service.port) TERN_FUZZ_CHECK(service.effectivePort() != 0);
      (void)service.effectiveTransport();
      if (service.expires)
        TERN_FUZZ_CHECK(service.expires_unix == parseXmppDateTime(*service.expires));
    }
  }
  return 0;
}
