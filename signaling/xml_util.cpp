#include "xml_util.hpp"

#include <set>
#include <utility>

#include "tern/signaling/limits.hpp"

namespace tern::signaling::detail {

namespace {

// Ancestors visited when resolving a default namespace. Parsers only ask about elements close to
// the <jingle/> element (which declares its namespace), so this is never reached by real input.
constexpr std::size_t kMaxNamespaceWalk = 64;

bool isXmlSpace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string namespaceOf(const gloox::Tag& tag) {
  if (!tag.prefix().empty()) {
    return tag.xmlns();  // gloox resolves a prefix through the ancestors' declarations
  }
  const gloox::Tag* t = &tag;
  for (std::size_t i = 0; t != nullptr && i < kMaxNamespaceWalk; ++i, t = t->parent()) {
    if (t->hasAttribute("xmlns")) {
      return t->findAttribute("xmlns");
    }
  }
  return {};
}

bool is(const gloox::Tag& tag, std::string_view name, std::string_view ns) {
  return tag.name() == name && namespaceOf(tag) == ns;
}

const gloox::Tag* findChild(const gloox::Tag& tag, std::string_view name, std::string_view ns) {
  for (const gloox::Tag* child : tag.children()) {
    if (child != nullptr && is(*child, name, ns)) {
      return child;
    }
  }
  return nullptr;
}

Status checkAttributes(const gloox::Tag& tag) {
  for (const gloox::Tag::Attribute* a : tag.attributes()) {
    if (a != nullptr && a->value().size() > limits::kMaxAttributeBytes) {
      return Error::badRequest("attribute '" + xmlSafe(a->name().substr(0, 64)) + "' of <" +
                               xmlSafe(tag.name().substr(0, 64)) + "/> is too long");
    }
  }
  return Status::success();
}

std::optional<std::string> attribute(const gloox::Tag& tag, const std::string& name) {
  const std::string& v = tag.findAttribute(name);
  if (v.empty()) {
    return std::nullopt;
  }
  return v;
}

Result<std::string> text(const gloox::Tag& tag) {
  std::string data = tag.cdata();
  if (data.size() > limits::kMaxTextBytes + 256) {  // allow for pretty-printing whitespace
    return Error::badRequest("text of <" + xmlSafe(tag.name().substr(0, 64)) + "/> is too long");
  }
  std::string trimmed(trim(data));
  if (trimmed.size() > limits::kMaxTextBytes) {
    return Error::badRequest("text of <" + xmlSafe(tag.name().substr(0, 64)) + "/> is too long");
  }
  return trimmed;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && isXmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isXmlSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<std::uint64_t> parseUnsigned(std::string_view s, std::uint64_t max) noexcept {
  s = trim(s);
  if (s.empty() || s.size() > 20) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      return std::nullopt;  // overflow
    }
    value = value * 10 + digit;
  }
  if (value > max) {
    return std::nullopt;
  }
  return value;
}

Result<std::optional<std::uint64_t>> numericAttribute(const gloox::Tag& tag, const std::string& name,
                                                      std::uint64_t max) {
  const std::string& raw = tag.findAttribute(name);
  if (raw.empty()) {
    return std::optional<std::uint64_t>();
  }
  auto v = parseUnsigned(raw, max);
  if (!v) {
    return Error::badRequest("attribute '" + name + "' of <" + xmlSafe(tag.name().substr(0, 64)) +
                             "/> is not a valid number");
  }
  return std::optional<std::uint64_t>(*v);
}

std::string xmlSafe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
        out.push_back(static_cast<char>(c));
      } else {
        out += "\xEF\xBF\xBD";  // U+FFFD for a C0 control
      }
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool valid = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        valid = false;
      } else {
        cp = (cp << 6) | (cc & 0x3F);
      }
    }
    if (valid) {
      // overlong forms, surrogates, out of range, and the XML-excluded U+FFFE/U+FFFF
      const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
      if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF || cp == 0xFFFE || cp == 0xFFFF) {
        valid = false;
      }
    }
    if (valid) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

gloox::Tag* newTag(const std::string& name, const std::string& ns) {
  auto* tag = new gloox::Tag(name);
  if (!ns.empty()) {
    tag->setXmlns(ns);
  }
  return tag;
}

gloox::Tag* addChild(gloox::Tag* parent, const std::string& name, const std::string& ns) {
  auto* tag = new gloox::Tag(parent, name);
  if (!ns.empty()) {
    tag->setXmlns(ns);
  }
  return tag;
}

void setAttribute(gloox::Tag* tag, const std::string& name, std::string_view value) {
  if (!value.empty()) {
    tag->addAttribute(name, xmlSafe(value));
  }
}

void setText(gloox::Tag* tag, std::string_view value) {
  if (!value.empty()) {
    tag->setCData(xmlSafe(value));
  }
}

Result<std::shared_ptr<const gloox::Tag>> cloneOpaque(const gloox::Tag& tag) {
  // Measure first, iteratively: element count, depth, attribute sizes, prefixes used.
  struct Item {
    const gloox::Tag* tag;
    std::size_t depth;
  };
  std::vector<Item> stack{{&tag, 1}};
  std::set<std::string> prefixes;
  std::size_t count = 0;
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    if (++count > limits::kMaxOpaqueElements) {
      return Error::badRequest("<" + xmlSafe(tag.name().substr(0, 64)) + "/> has too many elements");
    }
    if (item.depth > limits::kMaxOpaqueDepth) {
      return Error::badRequest("<" + xmlSafe(tag.name().substr(0, 64)) + "/> is nested too deeply");
    }
    if (auto s = checkAttributes(*item.tag); !s) {
      return s.error();
    }
    if (item.tag->cdata().size() > limits::kMaxTextBytes * 4) {
      return Error::badRequest("<" + xmlSafe(item.tag->name().substr(0, 64)) + "/> has too much text");
    }
    if (!item.tag->prefix().empty() && prefixes.size() < 64) {
      prefixes.insert(item.tag->prefix());
    }
    for (const gloox::Tag* child : item.tag->children()) {
      if (child != nullptr) {
        stack.push_back({child, item.depth + 1});
      }
    }
  }
  // Depth is bounded now, so gloox's recursive clone is safe.
  std::shared_ptr<gloox::Tag> copy(tag.clone());
  if (!copy) {
    return Error::badRequest("could not copy <" + xmlSafe(tag.name().substr(0, 64)) + "/>");
  }
  // Re-declare what the subtree inherited from ancestors that are not copied.
  if (!copy->hasAttribute("xmlns")) {
    const std::string ns = namespaceOf(tag);
    if (!ns.empty() && tag.prefix().empty()) {
      copy->setXmlns(ns);
    }
  }
  for (const std::string& prefix : prefixes) {
    if (copy->xmlns(prefix).empty()) {
      const std::string resolved = tag.xmlns(prefix);
      if (!resolved.empty()) {
        copy->setXmlns(resolved, prefix);
      }
    }
  }
  return std::shared_ptr<const gloox::Tag>(std::move(copy));
}

gloox::Tag* emitOpaque(const gloox::Tag& tag) { return tag.clone(); }

}  // namespace tern::signaling::detail
