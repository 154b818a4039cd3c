// XEP-0234 descriptions in the three namespace versions, and its session-info payloads.
#include <gtest/gtest.h>

#include "tern/signaling/file_transfer.hpp"
#include "tern/signaling/jingle.hpp"
#include "tern/signaling/namespaces.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::parseXml;
using test::xmlAndDelete;

FileTransferDescription parseDesc(const std::string& xml) {
  auto tag = parseXml(xml);
  EXPECT_NE(tag, nullptr) << xml;
  if (!tag) return {};
  auto r = parseFileTransferDescription(*tag);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().text);
  return r.ok() ? r.value() : FileTransferDescription{};
}

// XEP-0343 example 1: an ft:3 offer, <file/> wrapped in <offer/>, with a hashes:1 hex digest.
constexpr char kFt3Offer[] = R"(<description xmlns='urn:xmpp:jingle:apps:file-transfer:3'>
  <offer>
    <file>
      <date>1969-07-21T02:56:15Z</date>
      <desc>This is a test. If this were a real file...</desc>
      <name>test.txt</name>
      <range/>
      <size>1022</size>
      <hash xmlns='urn:xmpp:hashes:1' algo='sha-1'>552da749930852c69ae5d2141d3766b1</hash>
    </file>
  </offer>
</description>)";

TEST(FileTransferV3, OfferInsideOfferWrapper) {
  const FileTransferDescription d = parseDesc(kFt3Offer);
  EXPECT_EQ(d.version, FtVersion::V3);
  EXPECT_EQ(d.v3_wrapper, FtV3Wrapper::Offer);
  ASSERT_TRUE(d.file.has_value());
  EXPECT_EQ(d.file->name, "test.txt");
  EXPECT_EQ(d.file->size, 1022u);
  EXPECT_EQ(d.file->date, "1969-07-21T02:56:15Z");
  EXPECT_EQ(d.file->desc, "This is a test. If this were a real file...");
  ASSERT_TRUE(d.file->range.has_value());
  EXPECT_EQ(d.file->range->offset, 0u);
  EXPECT_FALSE(d.file->range->length.has_value());
  ASSERT_EQ(d.file->hashes.size(), 1u);
  EXPECT_EQ(d.file->hashes[0].ns, HashNamespace::V1);
  EXPECT_EQ(d.file->hashes[0].decode()->size(), 16u);  // hex
}

TEST(FileTransferV3, ReplyKeepsVersionWrapperAndHashNamespace) {
  const FileTransferDescription d = parseDesc(kFt3Offer);
  const std::string xml = xmlAndDelete(serializeFileTransferDescription(d));
  EXPECT_NE(xml.find("<description xmlns='urn:xmpp:jingle:apps:file-transfer:3'><offer><file>"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<hash xmlns='urn:xmpp:hashes:1' algo='sha-1'>552da749930852c69ae5d2141d3766b1</hash>"),
            std::string::npos)
      << xml;
  EXPECT_EQ(parseDesc(xml), d);
}

TEST(FileTransferV3, RequestWrapper) {
  const FileTransferDescription d = parseDesc(
      "<description xmlns='urn:xmpp:jingle:apps:file-transfer:3'><request><file>"
      "<hash xmlns='urn:xmpp:hashes:1' algo='sha-1'>w0mcJylzCn+AfvuGdqkty2+KP48=</hash></file></request></description>");
  EXPECT_EQ(d.v3_wrapper, FtV3Wrapper::Request);
  ASSERT_TRUE(d.file.has_value());
  EXPECT_EQ(d.file->hashes.at(0).decode()->size(), 20u);  // base64 is fine in hashes:1 too
  const std::string xml = xmlAndDelete(serializeFileTransferDescription(d));
  EXPECT_NE(xml.find("<request><file>"), std::string::npos) << xml;
}

TEST(FileTransferV4, Offer) {
  const FileTransferDescription d = parseDesc(
      "<description xmlns='urn:xmpp:jingle:apps:file-transfer:4'><file>"
      "<media-type>text/plain</media-type><name>test.txt</name><size>6144</size>"
      "<hash xmlns='urn:xmpp:hashes:1' algo='sha-1'/>"
      "<thumbnail xmlns='urn:xmpp:thumbs:1' uri='cid:x' media-type='image/png' width='128' height='96'/>"
      "</file></description>");
  EXPECT_EQ(d.version, FtVersion::V4);
  ASSERT_TRUE(d.file.has_value());
  EXPECT_EQ(d.file->media_type, "text/plain");
  EXPECT_EQ(d.file->size, 6144u);
  EXPECT_TRUE(d.file->hashes.empty());
  EXPECT_EQ(d.file->hash_used, std::vector<std::string>{"sha-1"});  // empty <hash/> = algorithm announcement
  EXPECT_EQ(d.file->hash_used_ns, HashNamespace::V1);
  const std::string xml = xmlAndDelete(serializeFileTransferDescription(d));
  EXPECT_NE(xml.find("xmlns='urn:xmpp:jingle:apps:file-transfer:4'"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<hash xmlns='urn:xmpp:hashes:1' algo='sha-1'/>"), std::string::npos) << xml;
  EXPECT_EQ(parseDesc(xml), d);
}

TEST(FileTransferV5, ConversationsMediaTypeSpellingAndMissingFile) {
  const FileTransferDescription d = parseDesc(
      "<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file xmlns='urn:xmpp:jingle:apps:file-transfer:5'>"
      "<name>cat.jpg</name><size>1234</size><mediaType>image/jpeg</mediaType></file></description>");
  ASSERT_TRUE(d.file.has_value());
  EXPECT_EQ(d.file->media_type, "image/jpeg");
  const std::string xml = xmlAndDelete(serializeFileTransferDescription(d));
  EXPECT_NE(xml.find("<media-type>image/jpeg</media-type>"), std::string::npos) << xml;  // we send the XEP's name

  const FileTransferDescription empty = parseDesc("<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'/>");
  EXPECT_FALSE(empty.file.has_value());
}

TEST(FileTransferV5, SizeBounds) {
  auto parseFile = [](const std::string& size) {
    auto tag = parseXml("<file xmlns='urn:xmpp:jingle:apps:file-transfer:5'><size>" + size + "</size></file>");
    return parseFileInfo(*tag);
  };
  EXPECT_EQ(parseFile("18446744073709551615")->size, UINT64_MAX);
  EXPECT_EQ(parseFile("  42\n")->size, 42u);
  EXPECT_FALSE(parseFile("")->size.has_value());
  for (const char* bad : {"18446744073709551616", "99999999999999999999999", "-1", "12abc", "0x10", "1e9", "+5"}) {
    auto r = parseFile(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().condition, StanzaCondition::BadRequest);
  }
}

TEST(FileTransferV5, ChecksumWithRangeRoundTrip) {
  ChecksumInfo c;
  c.creator = "initiator";
  c.name = "a-file-offer";
  c.file.range = FileRange{2048, 1024, {Hash{"sha-1", "kHp5RSzW/h7Gm1etSf90Mr5PC/k=", HashNamespace::V2}}};
  const std::string xml = xmlAndDelete(serializeChecksum(c));
  EXPECT_EQ(xml,
            "<checksum xmlns='urn:xmpp:jingle:apps:file-transfer:5' creator='initiator' name='a-file-offer'><file>"
            "<range offset='2048' length='1024'><hash xmlns='urn:xmpp:hashes:2' algo='sha-1'>"
            "kHp5RSzW/h7Gm1etSf90Mr5PC/k=</hash></range></file></checksum>");
  auto back = parseChecksum(*parseXml(xml));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->name, c.name);
  EXPECT_EQ(back->creator, c.creator);
  EXPECT_EQ(back->file, c.file);
}

TEST(FileTransferV5, ChecksumAndReceivedWithoutCreator) {
  // Conversations sends these without 'creator'.
  auto checksum = parseChecksum(*parseXml(
      "<checksum xmlns='urn:xmpp:jingle:apps:file-transfer:5' name='f'><file>"
      "<hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</hash>"
      "</file></checksum>"));
  ASSERT_TRUE(checksum.ok());
  EXPECT_FALSE(checksum->creator.has_value());
  EXPECT_EQ(checksum->file.hashes.at(0).decode()->size(), 32u);

  auto received = parseReceived(*parseXml("<received xmlns='urn:xmpp:jingle:apps:file-transfer:4' name='f'/>"));
  ASSERT_TRUE(received.ok());
  EXPECT_EQ(received->version, FtVersion::V4);
  EXPECT_EQ(xmlAndDelete(serializeReceived(received.value())),
            "<received xmlns='urn:xmpp:jingle:apps:file-transfer:4' name='f'/>");

  EXPECT_FALSE(parseChecksum(*parseXml("<checksum xmlns='urn:xmpp:jingle:apps:file-transfer:5' name='f'/>")).ok());
  EXPECT_FALSE(
      parseReceived(*parseXml("<received xmlns='urn:xmpp:jingle:apps:file-transfer:5' creator='x' name='f'/>")).ok());
}

TEST(FileTransferV5, SessionInfoReceivedInJingle) {
  auto tag = parseXml(
      "<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='a73sjjvkla37jfea'>"
      "<received xmlns='urn:xmpp:jingle:apps:file-transfer:5' creator='initiator' name='a-file-offer'/></jingle>");
  auto j = parseJingle(*tag);
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(j->session_info.size(), 1u);
  EXPECT_EQ(j->session_info[0].kind, SessionInfoPayload::Kind::Received);
  EXPECT_EQ(j->session_info[0].received->name, "a-file-offer");
}

TEST(FileTransferV5, HashesAreBounded) {
  std::string xml = "<file xmlns='urn:xmpp:jingle:apps:file-transfer:5'>";
  for (int i = 0; i < 17; ++i) xml += "<hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>AAAA</hash>";
  xml += "</file>";
  EXPECT_FALSE(parseFileInfo(*parseXml(xml)).ok());
}

}  // namespace
}  // namespace tern::signaling
