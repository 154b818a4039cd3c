#include "tern/signaling/file_transfer.hpp"

#include <gloox/tag.h>

#include "tern/signaling/limits.hpp"
#include "tern/signaling/namespaces.hpp"
#include "xml_util.hpp"

namespace tern::signaling {

using detail::namespaceOf;

const char* fileTransferNamespace(FtVersion version) noexcept {
  switch (version) {
    case FtVersion::V5: return ns::kFileTransfer5;
    case FtVersion::V4: return ns::kFileTransfer4;
    case FtVersion::V3: return ns::kFileTransfer3;
  }
  return ns::kFileTransfer5;
}

std::optional<FtVersion> fileTransferVersion(std::string_view value) noexcept {
  if (value == ns::kFileTransfer5) return FtVersion::V5;
  if (value == ns::kFileTransfer4) return FtVersion::V4;
  if (value == ns::kFileTransfer3) return FtVersion::V3;
  return std::nullopt;
}

namespace {

std::optional<HashNamespace> hashNamespace(std::string_view value) {
  if (value == ns::kHashes2) return HashNamespace::V2;
  if (value == ns::kHashes1) return HashNamespace::V1;
  return std::nullopt;
}

const char* hashNamespaceUri(HashNamespace value) {
  return value == HashNamespace::V1 ? ns::kHashes1 : ns::kHashes2;
}

Status checkCreator(const std::optional<std::string>& creator) {
  if (creator && *creator != "initiator" && *creator != "responder") {
    return Error::badRequest("invalid 'creator'");
  }
  return Status::success();
}

// Collects <hash/> and <hash-used/> children of `parent` (a <file/> or <range/>).
Status parseHashes(const gloox::Tag& parent, std::vector<Hash>& hashes, std::vector<std::string>* used,
                   HashNamespace* used_ns) {
  for (const gloox::Tag* child : parent.children()) {
    if (child == nullptr || (child->name() != "hash" && child->name() != "hash-used")) {
      continue;
    }
    const auto hns = hashNamespace(namespaceOf(*child));
    if (!hns) {
      continue;  // a <hash/> from some other namespace: not ours
    }
    if (auto s = detail::checkAttributes(*child); !s) return s;
    auto algo = detail::attribute(*child, "algo");
    if (!algo) {
      continue;  // unusable without an algorithm; ignore rather than fail the whole offer
    }
    std::string value;
    if (child->name() == "hash") {
      auto t = detail::text(*child);
      if (!t) return t.error();
      value = std::move(t.value());
    }
    if (hashes.size() + (used ? used->size() : 0) >= limits::kMaxHashes) {
      return Error::badRequest("too many hashes");
    }
    if (value.empty()) {
      if (used != nullptr) {
        used->push_back(std::move(*algo));
        if (used_ns != nullptr) *used_ns = *hns;
      }
    } else {
      hashes.push_back(Hash{std::move(*algo), std::move(value), *hns});
    }
  }
  return Status::success();
}

Result<FileRange> parseRange(const gloox::Tag& tag) {
  if (auto s = detail::checkAttributes(tag); !s) return s.error();
  FileRange range;
  auto offset = detail::numericAttribute(tag, "offset", UINT64_MAX);
  if (!offset) return offset.error();
  range.offset = offset.value().value_or(0);
  auto length = detail::numericAttribute(tag, "length", UINT64_MAX);
  if (!length) return length.error();
  range.length = length.value();
  if (auto s = parseHashes(tag, range.hashes, nullptr, nullptr); !s) return s.error();
  return range;
}

Result<FileInfo> parseFileInfoImpl(const gloox::Tag& file) {
  if (auto s = detail::checkAttributes(file); !s) return s.error();
  const std::string file_ns = namespaceOf(file);
  FileInfo info;
  for (const gloox::Tag* child : file.children()) {
    if (child == nullptr) continue;
    const std::string& name = child->name();
    const bool metadata = name == "name" || name == "size" || name == "date" || name == "media-type" ||
                          name == "mediaType" || name == "desc" || name == "range";
    if (!metadata || namespaceOf(*child) != file_ns) {
      continue;
    }
    if (auto s = detail::checkAttributes(*child); !s) return s.error();
    if (name == "range") {
      if (!info.range) {
        auto r = parseRange(*child);
        if (!r) return r.error();
        info.range = std::move(r.value());
      }
      continue;
    }
    auto t = detail::text(*child);
    if (!t) return t.error();
    std::string value = std::move(t.value());
    if (name == "size") {
      if (value.empty() || info.size) continue;  // empty <size/>: as if absent
      auto n = detail::parseUnsigned(value);
      if (!n) return Error::badRequest("<size/> is not a valid unsigned 64-bit number");
      info.size = *n;
    } else if (name == "name") {
      if (!info.name) info.name = std::move(value);
    } else if (name == "date") {
      if (!info.date && !value.empty()) info.date = std::move(value);
    } else if (name == "desc") {
      if (!info.desc && !value.empty()) info.desc = std::move(value);
    } else {  // media-type / mediaType (Conversations)
      if (!info.media_type && !value.empty()) info.media_type = std::move(value);
    }
  }
  if (auto s = parseHashes(file, info.hashes, &info.hash_used, &info.hash_used_ns); !s) return s.error();
  return info;
}

Result<FileTransferDescription> parseDescriptionImpl(const gloox::Tag& description) {
  if (auto s = detail::checkAttributes(description); !s) return s.error();
  const std::string desc_ns = namespaceOf(description);
  const auto version = fileTransferVersion(desc_ns);
  if (!version) return Error::badRequest("not a file-transfer description");
  FileTransferDescription out;
  out.version = *version;
  const gloox::Tag* file = detail::findChild(description, "file", desc_ns);
  if (*version == FtVersion::V3 && file == nullptr) {
    const gloox::Tag* wrapper = detail::findChild(description, "offer", desc_ns);
    out.v3_wrapper = FtV3Wrapper::Offer;
    if (wrapper == nullptr) {
      wrapper = detail::findChild(description, "request", desc_ns);
      out.v3_wrapper = FtV3Wrapper::Request;
    }
    if (wrapper != nullptr) {
      if (auto s = detail::checkAttributes(*wrapper); !s) return s.error();
      file = detail::findChild(*wrapper, "file", desc_ns);
    } else {
      out.v3_wrapper = FtV3Wrapper::Offer;
    }
  }
  if (file != nullptr) {
    auto info = parseFileInfoImpl(*file);
    if (!info) return info.error();
    out.file = std::move(info.value());
  }
  return out;
}

void serializeHashes(gloox::Tag* parent, const std::vector<Hash>& hashes) {
  for (const Hash& h : hashes) {
    gloox::Tag* t = detail::addChild(parent, "hash", hashNamespaceUri(h.ns));
    detail::setAttribute(t, "algo", h.algo);
    detail::setText(t, h.value);
  }
}

void addTextChild(gloox::Tag* parent, const char* name, const std::optional<std::string>& value) {
  if (value && !value->empty()) {
    detail::setText(detail::addChild(parent, name), *value);
  }
}

}  // namespace

Result<FileInfo> parseFileInfo(const gloox::Tag& file) noexcept {
  try {
    return parseFileInfoImpl(file);
  } catch (...) {
    return Error::badRequest("malformed <file/>");
  }
}

Result<FileTransferDescription> parseFileTransferDescription(const gloox::Tag& description) noexcept {
  try {
    return parseDescriptionImpl(description);
  } catch (...) {
    return Error::badRequest("malformed file-transfer <description/>");
  }
}

Result<ChecksumInfo> parseChecksum(const gloox::Tag& checksum) noexcept {
  try {
    if (auto s = detail::checkAttributes(checksum); !s) return s.error();
    const std::string cns = namespaceOf(checksum);
    const auto version = fileTransferVersion(cns);
    if (!version || checksum.name() != "checksum") return Error::badRequest("not a file-transfer <checksum/>");
    ChecksumInfo out;
    out.version = *version;
    out.creator = detail::attribute(checksum, "creator");
    if (auto s = checkCreator(out.creator); !s) return s.error();
    out.name = detail::attribute(checksum, "name").value_or(std::string());
    const gloox::Tag* file = detail::findChild(checksum, "file", cns);
    if (file == nullptr) return Error::badRequest("<checksum/> without <file/>");
    auto info = parseFileInfoImpl(*file);
    if (!info) return info.error();
    out.file = std::move(info.value());
    return out;
  } catch (...) {
    return Error::badRequest("malformed <checksum/>");
  }
}

Result<ReceivedInfo> parseReceived(const gloox::Tag& received) noexcept {
  try {
    if (auto s = detail::checkAttributes(received); !s) return s.error();
    const auto version = fileTransferVersion(namespaceOf(received));
    if (!version || received.name() != "received") return Error::badRequest("not a file-transfer <received/>");
    ReceivedInfo out;
    out.version = *version;
    out.creator = detail::attribute(received, "creator");
    if (auto s = checkCreator(out.creator); !s) return s.error();
    out.name = detail::attribute(received, "name").value_or(std::string());
    return out;
  } catch (...) {
    return Error::badRequest("malformed <received/>");
  }
}

gloox::Tag* serializeFileInfo(const FileInfo& file) {
  gloox::Tag* tag = detail::newTag("file");
  addTextChild(tag, "date", file.date);
  addTextChild(tag, "desc", file.desc);
  addTextChild(tag, "media-type", file.media_type);
  addTextChild(tag, "name", file.name);
  if (file.range) {
    gloox::Tag* range = detail::addChild(tag, "range");
    if (file.range->offset != 0) range->addAttribute("offset", std::to_string(file.range->offset));
    if (file.range->length) range->addAttribute("length", std::to_string(*file.range->length));
    serializeHashes(range, file.range->hashes);
  }
  if (file.size) {
    detail::setText(detail::addChild(tag, "size"), std::to_string(*file.size));
  }
  serializeHashes(tag, file.hashes);
  for (const std::string& algo : file.hash_used) {
    // hashes:1 had no <hash-used/>: ft:3/ft:4 peers announced the algorithm with an empty <hash/>.
    gloox::Tag* t = detail::addChild(tag, file.hash_used_ns == HashNamespace::V1 ? "hash" : "hash-used",
                                     hashNamespaceUri(file.hash_used_ns));
    detail::setAttribute(t, "algo", algo);
  }
  return tag;
}

gloox::Tag* serializeFileTransferDescription(const FileTransferDescription& description) {
  gloox::Tag* tag = detail::newTag("description", fileTransferNamespace(description.version));
  if (!description.file) {
    return tag;
  }
  FileInfo file = *description.file;
  if (description.version == FtVersion::V3) {
    file.media_type.reset();  // <media-type/> appeared in ft:4
  }
  gloox::Tag* parent = tag;
  if (description.version == FtVersion::V3) {
    parent = detail::addChild(tag, description.v3_wrapper == FtV3Wrapper::Request ? "request" : "offer");
  }
  parent->addChild(serializeFileInfo(file));
  return tag;
}

gloox::Tag* serializeChecksum(const ChecksumInfo& checksum) {
  gloox::Tag* tag = detail::newTag("checksum", fileTransferNamespace(checksum.version));
  if (checksum.creator) detail::setAttribute(tag, "creator", *checksum.creator);
  detail::setAttribute(tag, "name", checksum.name);
  tag->addChild(serializeFileInfo(checksum.file));
  return tag;
}

gloox::Tag* serializeReceived(const ReceivedInfo& received) {
  gloox::Tag* tag = detail::newTag("received", fileTransferNamespace(received.version));
  if (received.creator) detail::setAttribute(tag, "creator", *received.creator);
  detail::setAttribute(tag, "name", received.name);
  return tag;
}

bool operator==(const FileRange& a, const FileRange& b) noexcept {
  return a.offset == b.offset && a.length == b.length && a.hashes == b.hashes;
}

bool operator==(const FileInfo& a, const FileInfo& b) noexcept {
  return a.name == b.name && a.size == b.size && a.date == b.date && a.media_type == b.media_type &&
         a.desc == b.desc && a.hashes == b.hashes && a.hash_used == b.hash_used &&
         (a.hash_used.empty() || a.hash_used_ns == b.hash_used_ns) && a.range == b.range;
}

bool operator==(const FileTransferDescription& a, const FileTransferDescription& b) noexcept {
  return a.version == b.version && a.file == b.file &&
         (a.version != FtVersion::V3 || a.v3_wrapper == b.v3_wrapper);
}

}  // namespace tern::signaling
