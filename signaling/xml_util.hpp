// Private helpers shared by the parsers and serializers of tern_signaling (not installed,
// not reachable from other targets).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gloox/tag.h>

#include "tern/signaling/errors.hpp"

namespace tern::signaling::detail {

/// The namespace an element is in, following XML namespace scoping: a prefixed element uses the
/// prefix's declaration, an unprefixed one the nearest 'xmlns' attribute on itself or an ancestor
/// (gloox::Tag::xmlns() does not look at ancestors for the default namespace).
std::string namespaceOf(const gloox::Tag& tag);

/// name() == name && namespaceOf() == ns.
bool is(const gloox::Tag& tag, std::string_view name, std::string_view ns);

/// First child with this name whose namespace is `ns`, or nullptr.
const gloox::Tag* findChild(const gloox::Tag& tag, std::string_view name, std::string_view ns);

/// Every attribute value of `tag` is at most limits::kMaxAttributeBytes.
Status checkAttributes(const gloox::Tag& tag);

/// The attribute, if present (gloox treats empty as absent, so do we).
std::optional<std::string> attribute(const gloox::Tag& tag, const std::string& name);

/// Character data, whitespace-trimmed, bounded by limits::kMaxTextBytes.
Result<std::string> text(const gloox::Tag& tag);

std::string_view trim(std::string_view s) noexcept;
bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept;
std::string toLower(std::string_view s);

/// Decimal unsigned integer, surrounding XML whitespace allowed, nothing else; <= max.
std::optional<std::uint64_t> parseUnsigned(std::string_view s,
                                           std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) noexcept;

/// Reads an optional numeric attribute: absent -> nullopt value; present but invalid -> error.
Result<std::optional<std::uint64_t>> numericAttribute(const gloox::Tag& tag, const std::string& name,
                                                      std::uint64_t max);

/// Replaces what XML 1.0 cannot carry (invalid UTF-8, C0 controls other than TAB/LF/CR,
/// U+FFFE/U+FFFF) so that what we send never breaks our own XMPP stream.
std::string xmlSafe(std::string_view s);

/// New child element; `ns` set as xmlns when non-empty. Returns the child (owned by parent).
gloox::Tag* addChild(gloox::Tag* parent, const std::string& name, const std::string& ns = {});
/// New root element with an xmlns. Caller owns it.
gloox::Tag* newTag(const std::string& name, const std::string& ns = {});
/// Sets an attribute with an XML-safe value (no-op for an empty value, like gloox).
void setAttribute(gloox::Tag* tag, const std::string& name, std::string_view value);
void setText(gloox::Tag* tag, std::string_view value);

/// A verbatim, owned copy of an opaque subtree, or a bad-request if it exceeds
/// limits::kMaxOpaqueElements / kMaxOpaqueDepth or carries an oversized attribute. Iterative, so
/// a hostile depth never reaches gloox's recursive clone.
Result<std::shared_ptr<const gloox::Tag>> cloneOpaque(const gloox::Tag& tag);

/// A copy of an opaque element to re-emit: declares the element's effective namespace on the
/// copy if it had none of its own (it was inherited from a parent we do not re-emit).
gloox::Tag* emitOpaque(const gloox::Tag& tag);

}  // namespace tern::signaling::detail
