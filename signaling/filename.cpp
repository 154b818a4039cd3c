#include "tern/signaling/filename.hpp"

#include <cstdint>

#include "xml_util.hpp"

namespace tern::signaling {

namespace {

// 255 (NAME_MAX) less ".part": the file is written as NAME.part until its hash matched.
constexpr std::size_t kMaxNameBytes = 250;
constexpr std::size_t kMaxExtensionBytes = 32;  // including the dot

// Decodes one UTF-8 sequence at s[i]; returns its length, 0 if invalid.
std::size_t decodeUtf8(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t len = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return len;
}

bool isRemoved(std::uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;        // C0, DEL, C1
  if (cp == 0x200E || cp == 0x200F) return true;                                  // LRM, RLM
  if (cp >= 0x202A && cp <= 0x202E) return true;                                  // LRE..RLO
  if (cp >= 0x2066 && cp <= 0x2069) return true;                                  // LRI..PDI
  if (cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) return true;                  // BOM, non-characters
  return false;
}

bool isReplaced(std::uint32_t cp) {
  return cp == '<' || cp == '>' || cp == ':' || cp == '"' || cp == '|' || cp == '?' || cp == '*';
}

bool isTrimmed(char c) { return c == ' ' || c == '.'; }

bool isReservedDeviceName(std::string_view name) {
  const std::string stem = detail::toLower(name.substr(0, name.find('.')));
  if (stem == "con" || stem == "prn" || stem == "aux" || stem == "nul") return true;
  if (stem.size() == 4 && (stem.compare(0, 3, "com") == 0 || stem.compare(0, 3, "lpt") == 0) && stem[3] >= '1' &&
      stem[3] <= '9') {
    return true;
  }
  return false;
}

// Longest prefix of s that is at most `max` bytes and ends on a UTF-8 boundary (s is valid UTF-8).
std::string_view utf8Prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

std::string_view trimEnds(std::string_view s) {
  while (!s.empty() && isTrimmed(s.front())) s.remove_prefix(1);
  while (!s.empty() && isTrimmed(s.back())) s.remove_suffix(1);
  return s;
}

// At most `max` bytes of `name` (valid UTF-8, trimmed), keeping the extension (the part after
// the last '.', if at most kMaxExtensionBytes), cut on a UTF-8 boundary and trimmed again.
std::string limitLength(std::string_view name, std::size_t max) {
  if (name.size() <= max) return std::string(name);
  const std::size_t dot = name.rfind('.');
  std::string_view ext;
  if (dot != std::string_view::npos && dot > 0 && name.size() - dot <= kMaxExtensionBytes &&
      name.size() - dot < max) {
    ext = name.substr(dot);
  }
  const std::string_view stem = name.substr(0, name.size() - ext.size());
  std::string cut(trimEnds(utf8Prefix(stem, max - ext.size())));
  cut.append(ext);
  return std::string(trimEnds(cut));
}

}  // namespace

std::string sanitizeFileName(std::string_view offered, std::string_view fallback) {
  // 1. Character filtering (separators are kept for now).
  std::string filtered;
  filtered.reserve(offered.size());
  for (std::size_t i = 0; i < offered.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = decodeUtf8(offered, i, cp);
    if (len == 0) {
      filtered.push_back('_');
      ++i;
      continue;
    }
    if (!isRemoved(cp)) {
      if (isReplaced(cp)) {
        filtered.push_back('_');
      } else {
        filtered.append(offered.substr(i, len));
      }
    }
    i += len;
  }
  // 2. Last non-empty path component.
  std::string_view name(filtered);
  while (!name.empty() && (name.back() == '/' || name.back() == '\\')) name.remove_suffix(1);
  const std::size_t sep = name.find_last_of("/\\");
  if (sep != std::string_view::npos) name.remove_prefix(sep + 1);
  // 3. No leading/trailing dots or spaces: removes ".", "..", hidden files, "name." aliases.
  name = trimEnds(name);
  if (name.empty()) return std::string(fallback);
  // 4. Length, keeping the extension.
  std::string out = limitLength(name, kMaxNameBytes);
  if (out.empty()) return std::string(fallback);
  // 5. Windows device names, on the final name: the cut above can make one ("aux" followed by
  //    300 spaces is cut and trimmed to "aux"). The '_' must fit in the length too.
  if (isReservedDeviceName(out)) {
    out = limitLength(out, kMaxNameBytes - 1);
    if (out.empty()) return std::string(fallback);
    out.insert(out.begin(), '_');
  }
  return out;
}

}  // namespace tern::signaling
