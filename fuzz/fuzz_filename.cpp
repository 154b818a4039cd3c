// Fuzzes the file-name sanitiser (XEP-0234 section 5 'name' and section 12): arbitrary bytes as an
// offered name -> sanitizeFileName(), and checks every promise of filename.hpp on the result:
// non-empty, at most 250 bytes, valid UTF-8, a single path component (no '/', '\\', NUL), not
// hidden or "."/"..", no trailing dot or space, no C0/C1 controls, DEL, or bidi controls, none of
// <>:"|?*; and sanitising is idempotent.
//
// Threading: single-threaded.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "tern/signaling/filename.hpp"

using tern::signaling::sanitizeFileName;

namespace {

// Decodes strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF); false if invalid.
bool decodeUtf8(const std::string& s, std::u32string& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    char32_t cp = 0;
    if (b0 < 0x80) {
      n = 1;
      cp = b0;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2;
      cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3;
      cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    out.push_back(cp);
    i += n;
  }
  return true;
}

bool forbidden(char32_t c) {
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) return true;
  if (c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069))
    return true;
  switch (c) {
    case '/':
    case '\\':
    case '<':
    case '>':
    case ':':
    case '"':
    case '|':
    case '?':
    case '*':
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  const std::string_view offered(reinterpret_cast<const char*>(data), size);
  const std::string safe = sanitizeFileName(offered);
  TERN_FUZZ_CHECK(!safe.empty());
  TERN_FUZZ_CHECK(safe.size() <= 250);
  std::u32string cps;
  TERN_FUZZ_CHECK(decodeUtf8(safe, cps));
  for (char32_t c : cps) TERN_FUZZ_CHECK(!forbidden(c));
  TERN_FUZZ_CHECK(safe != "." && safe != "..");
  TERN_FUZZ_CHECK(safe.front() != '.' && safe.front() != ' ');
  TERN_FUZZ_CHECK(safe.back() != '.' && safe.back() != ' ');
  const std::string again = sanitizeFileName(safe);
  if (again != safe) {
    std::fprintf(stderr, "not idempotent: [%s] -> [%s]\n", safe.c_str(), again.c_str());
    std::abort();
  }
  return 0;
}
