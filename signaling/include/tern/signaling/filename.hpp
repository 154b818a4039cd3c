// Turning a peer-offered file name into something safe to create in a download directory.
//
// XEP-0234 section 5 (table 2, 'name') and section 12 (security considerations): the name
// "SHOULD NOT contain characters or character sequences that would be interpreted as a
// directory structure"; a receiver must not trust that it does not.
#pragma once

#include <string>
#include <string_view>

namespace tern::signaling {

/// Returns a single, safe path component for `offered` (pure function):
///  - only the last non-empty component survives: "../x" and "/etc/x" -> "x", "a\\b" -> "b";
///  - invalid UTF-8 bytes become '_'; NUL, C0/C1 control characters, DEL and Unicode bidi
///    controls (U+200E/F, U+202A-E, U+2066-9, which can disguise an extension) are removed;
///    characters that are special on common file systems (<>:"|?*) become '_';
///  - leading dots and whitespace, and trailing dots and whitespace, are stripped
///    (no hidden files, no "." / "..", no Windows trailing-dot aliasing);
///  - Windows device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, any extension) get a '_' prefix;
///  - the result is at most 250 bytes (so that NAME.part fits the usual 255-byte limit), cut
///    on a UTF-8 boundary, keeping the extension
///    (the part after the last '.', if it is at most 32 bytes);
///  - if nothing is left, `fallback` (itself assumed safe) is returned.
std::string sanitizeFileName(std::string_view offered, std::string_view fallback = "file");

}  // namespace tern::signaling
