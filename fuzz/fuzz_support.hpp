// Shared helpers for the libFuzzer targets under fuzz/: untrusted bytes -> gloox::Tag (the path a
// stanza takes from the XMPP connection), and a check that aborts (so libFuzzer records a crash)
// when an invariant of the code under test does not hold.
//
// Threading: each fuzzer runs LLVMFuzzerTestOneInput on one thread; these helpers keep no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <gloox/parser.h>
#include <gloox/tag.h>
#include <gloox/taghandler.h>

namespace tern::fuzz {

/// Aborts with a message when `cond` is false (independent of NDEBUG).
#define TERN_FUZZ_CHECK(cond)                                                             \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

using TagPtr = std::unique_ptr<gloox::Tag>;

/// Inputs larger than this are skipped: the XMPP server bounds stanza sizes (Prosody's default
/// c2s limit is 256 KiB), and smaller inputs keep the fuzzers fast. scripts/fuzz passes
/// -max_len below it.
inline constexpr std::size_t kMaxXmlInput = 64 * 1024;

class TagCollector : public gloox::TagHandler {
 public:
  void handleTag(gloox::Tag* tag) override {
    if (tags.size() < kMaxTags) tags.emplace_back(tag->clone());
  }
  static constexpr std::size_t kMaxTags = 64;
  std::vector<TagPtr> tags;
};

/// True if `data` is text an XMPP server lets through: valid UTF-8 (no overlongs, surrogates or
/// code points above U+10FFFF) made only of XML 1.0 characters (RFC 6120 section 11.6; XML 1.0
/// production [2]: no C0 controls but tab, CR, LF; no U+FFFE / U+FFFF). gloox's parser does not
/// check this, the server does (Prosody closes a stream with invalid UTF-8), so round-trip
/// invariants (our output parses back, to the same value) apply only to such input: the
/// serializer repairs invalid text (each bad byte becomes U+FFFD, three bytes), which changes the
/// value and can grow it past the limits of limits.hpp.
inline bool isXmlText(const std::uint8_t* data, std::size_t size) {
  std::size_t i = 0;
  while (i < size) {
    const std::uint8_t b0 = data[i];
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (b0 < 0x80) {
      n = 1;
      cp = b0;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2;
      cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3;
      cp = b0 & 0x0Fu;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4;
      cp = b0 & 0x07u;
    } else {
      return false;
    }
    if (i + n > size) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((data[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (data[i + k] & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) return false;
    if (cp < 0x20 && cp != 0x09 && cp != 0x0A && cp != 0x0D) return false;
    i += n;
  }
  return true;
}

/// Every top-level element gloox's stream parser produces from `text` (as it would from a
/// connection: the parser is fed the bytes as they come, errors stop the feed).
inline std::vector<TagPtr> parseXmlAll(std::string text) {
  TagCollector collector;
  gloox::Parser parser(&collector);
  parser.feed(text);
  return std::move(collector.tags);
}

inline std::vector<TagPtr> parseXmlAll(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxXmlInput) return {};
  return parseXmlAll(std::string(reinterpret_cast<const char*>(data), size));
}

/// Re-parses serialized XML; it must be exactly one well-formed element.
inline TagPtr reparseOne(const std::string& xml) {
  auto tags = parseXmlAll(xml);
  if (tags.size() != 1) {
    std::fprintf(stderr, "serialized XML does not parse back:\n%s\n", xml.c_str());
    std::abort();
  }
  return std::move(tags.front());
}

/// Depth-first search for the first element named `name` with xmlns `xmlns` (itself included),
/// at most `max_depth` levels down.
inline const gloox::Tag* findDeep(const gloox::Tag& tag, const std::string& name,
                                  const std::string& xmlns, int max_depth = 8) {
  if (tag.name() == name && tag.xmlns() == xmlns) return &tag;
  if (max_depth == 0) return nullptr;
  for (const gloox::Tag* child : tag.children()) {
    if (const gloox::Tag* found = findDeep(*child, name, xmlns, max_depth - 1)) return found;
  }
  return nullptr;
}

}  // namespace tern::fuzz
