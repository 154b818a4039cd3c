// XEP-0234 (Jingle File Transfer) application format.
//
// Implements:
//   - section 5 (the <description/> and its <file/>: date, desc, media-type, name, size, range,
//     hash, hash-used), section 6.4 (<range offset length>, with hashes inside for checksums)
//   - section 8.1 (<received/>) and 8.2 (<checksum/>) session-info payloads
//   - the three namespace versions seen in the wild: ft:5 (current, XEP-0300 hashes:2),
//     ft:4 (0.16-0.17) and ft:3 (0.14-0.15, where the file is wrapped in <offer/> or <request/>).
//     We parse all three and serialize in the version a value carries, so a reply goes out in the
//     version the peer used; new offers default to ft:5.
//
// Liberal parsing: unknown children (thumbnails, XEP-0264) are ignored; Conversations' misspelt
// <mediaType/> is accepted as <media-type/>; <checksum/>/<received/> without 'creator' are fine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/signaling/errors.hpp"
#include "tern/signaling/hashes.hpp"

namespace gloox {
class Tag;
}

namespace tern::signaling {

enum class FtVersion { V5, V4, V3 };

/// The namespace of a version, e.g. "urn:xmpp:jingle:apps:file-transfer:5".
const char* fileTransferNamespace(FtVersion version) noexcept;
/// The version of a namespace, or nullopt if it is not a file-transfer namespace.
std::optional<FtVersion> fileTransferVersion(std::string_view ns) noexcept;

/// <range offset='' length=''> (XEP-0234 section 5, table 3; section 8.2 example 15).
struct FileRange {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
  std::vector<Hash> hashes;  ///< only in checksums of ranged transfers
};

/// <file/> (XEP-0234 section 5, table 2).
struct FileInfo {
  std::optional<std::string> name;        ///< as offered: run sanitizeFileName() before using it
  std::optional<std::uint64_t> size;
  std::optional<std::string> date;        ///< XEP-0082 DateTime, unparsed
  std::optional<std::string> media_type;
  std::optional<std::string> desc;
  std::vector<Hash> hashes;               ///< <hash/> with a value
  std::vector<std::string> hash_used;     ///< <hash-used algo/> and empty <hash algo/> placeholders
  HashNamespace hash_used_ns = HashNamespace::V2;
  std::optional<FileRange> range;         ///< present = peer supports ranged transfers / requests one
};

/// For ft:3 only: whether the <file/> was inside <offer/> or <request/>.
enum class FtV3Wrapper { Offer, Request };

/// <description xmlns='urn:xmpp:jingle:apps:file-transfer:N'>.
struct FileTransferDescription {
  FtVersion version = FtVersion::V5;
  std::optional<FileInfo> file;  ///< absent if the peer sent an empty description
  FtV3Wrapper v3_wrapper = FtV3Wrapper::Offer;
};

/// <checksum creator name><file>...</file></checksum> (section 8.2).
struct ChecksumInfo {
  FtVersion version = FtVersion::V5;
  std::optional<std::string> creator;  ///< "initiator" / "responder"; Conversations omits it
  std::string name;                    ///< content name
  FileInfo file;                       ///< hashes, or range with hashes
};

/// <received creator name/> (section 8.1).
struct ReceivedInfo {
  FtVersion version = FtVersion::V5;
  std::optional<std::string> creator;
  std::string name;
};

/// Parses a <description/> whose namespace is one of the file-transfer versions.
Result<FileTransferDescription> parseFileTransferDescription(const gloox::Tag& description) noexcept;
/// Parses a <file/> element (any file-transfer version).
Result<FileInfo> parseFileInfo(const gloox::Tag& file) noexcept;
Result<ChecksumInfo> parseChecksum(const gloox::Tag& checksum) noexcept;
Result<ReceivedInfo> parseReceived(const gloox::Tag& received) noexcept;

/// Serializers. The caller owns the returned Tag. Strings are made XML-safe.
gloox::Tag* serializeFileTransferDescription(const FileTransferDescription& description);
/// <file/> without an xmlns (it inherits its parent's file-transfer namespace).
gloox::Tag* serializeFileInfo(const FileInfo& file);
gloox::Tag* serializeChecksum(const ChecksumInfo& checksum);
gloox::Tag* serializeReceived(const ReceivedInfo& received);

bool operator==(const FileRange& a, const FileRange& b) noexcept;
bool operator==(const FileInfo& a, const FileInfo& b) noexcept;
bool operator==(const FileTransferDescription& a, const FileTransferDescription& b) noexcept;

}  // namespace tern::signaling
