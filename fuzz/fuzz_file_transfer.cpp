// Fuzzes the XEP-0234 (Jingle File Transfer) application format: stanza bytes -> gloox parser ->
// parseFileTransferDescription (section 5, ft:5/4/3), parseChecksum (8.2), parseReceived (8.1),
// and the offered file name through sanitizeFileName (section 12).
//
// Each top-level element is searched for the first file-transfer <description/>, <checksum/> and
// <received/> in any of the three namespaces (so a whole session-initiate or session-info IQ is a
// valid input).
//
// Invariants checked: parse(serialize(d)) == d for descriptions and checksums (we reply in the
// version the peer used), for valid XML text (isXmlText); the sanitised name is a single
// non-empty path component.
//
// Threading: single-threaded.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "tern/signaling/file_transfer.hpp"
#include "tern/signaling/filename.hpp"
#include "tern/signaling/namespaces.hpp"

using namespace tern::signaling;
using tern::fuzz::TagPtr;

namespace {

constexpr const char* kVersions[] = {ns::kFileTransfer5, ns::kFileTransfer4, ns::kFileTransfer3};

const gloox::Tag* find(const gloox::Tag& root, const char* name) {
  for (const char* xmlns : kVersions) {
    if (const gloox::Tag* tag = tern::fuzz::findDeep(root, name, xmlns, 6)) return tag;
  }
  return nullptr;
}

void description(const gloox::Tag& tag, bool xml_text) {
  auto parsed = parseFileTransferDescription(tag);
  if (!parsed.ok()) {
    TERN_FUZZ_CHECK(!parsed.error().text.empty());
    return;
  }
  TagPtr out(serializeFileTransferDescription(*parsed));
  TERN_FUZZ_CHECK(out != nullptr);
  TagPtr back = tern::fuzz::reparseOne(out->xml());
  auto again = parseFileTransferDescription(*back);
  if (xml_text && (!again.ok() || !(*again == *parsed))) {
    std::fprintf(stderr, "file-transfer description round trip differs:\n%s\n", out->xml().c_str());
    std::abort();
  }
  if (parsed->file && parsed->file->name) {
    const std::string safe = sanitizeFileName(*parsed->file->name);
    TERN_FUZZ_CHECK(!safe.empty() && safe.find('/') == std::string::npos);
  }
}

void checksum(const gloox::Tag& tag, bool xml_text) {
  auto parsed = parseChecksum(tag);
  if (!parsed.ok()) return;
  TagPtr out(serializeChecksum(*parsed));
  TERN_FUZZ_CHECK(out != nullptr);
  TagPtr back = tern::fuzz::reparseOne(out->xml());
  auto again = parseChecksum(*back);
  if (!xml_text) return;
  TERN_FUZZ_CHECK(again.ok());
  TERN_FUZZ_CHECK(again->name == parsed->name && again->creator == parsed->creator);
  TERN_FUZZ_CHECK(again->file == parsed->file);
}

void received(const gloox::Tag& tag, bool xml_text) {
  auto parsed = parseReceived(tag);
  if (!parsed.ok()) return;
  TagPtr out(serializeReceived(*parsed));
  TERN_FUZZ_CHECK(out != nullptr);
  auto again = parseReceived(*tern::fuzz::reparseOne(out->xml()));
  if (!xml_text) return;
  TERN_FUZZ_CHECK(again.ok() && again->name == parsed->name && again->creator == parsed->creator);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto tags = tern::fuzz::parseXmlAll(data, size);
  const bool xml_text = tern::fuzz::isXmlText(data, size);
  for (const TagPtr& tag : tags) {
    if (const gloox::Tag* d = find(*tag, "description")) description(*d, xml_text);
    if (const gloox::Tag* c = find(*tag, "checksum")) checksum(*c, xml_text);
    if (const gloox::Tag* r = find(*tag, "received")) received(*r, xml_text);
    if (const gloox::Tag* f = find(*tag, "file")) (void)parseFileInfo(*f);
  }
  return 0;
}
