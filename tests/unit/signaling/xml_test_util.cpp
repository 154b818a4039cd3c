#include "xml_test_util.hpp"

#include <fstream>
#include <sstream>

#include <gloox/parser.h>
#include <gloox/taghandler.h>
#include <gtest/gtest.h>

namespace tern::signaling::test {

namespace {

class Collector : public gloox::TagHandler {
 public:
  void handleTag(gloox::Tag* tag) override { tags.emplace_back(tag->clone()); }
  std::vector<TagPtr> tags;
};

std::string stripComments(const std::string& xml) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = xml.find("<!--", pos);
    if (start == std::string::npos) break;
    out.append(xml, pos, start - pos);
    const std::size_t end = xml.find("-->", start + 4);
    if (end == std::string::npos) return out;  // unterminated comment: drop the rest
    pos = end + 3;
  }
  out.append(xml, pos, std::string::npos);
  return out;
}

}  // namespace

std::vector<TagPtr> parseXmlAll(const std::string& xml) {
  Collector collector;
  gloox::Parser parser(&collector);
  std::string data = stripComments(xml);
  if (parser.feed(data) != -1) {
    return {};
  }
  return std::move(collector.tags);
}

TagPtr parseXml(const std::string& xml) {
  auto all = parseXmlAll(xml);
  if (all.size() != 1) return nullptr;
  return std::move(all.front());
}

std::string readDataFile(const std::string& relative) {
  const std::string path = std::string(TERN_TEST_DATA_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<TagPtr> loadCapture(const std::string& folder, const std::string& file) {
  auto tags = parseXmlAll(readDataFile("interop-captures/" + folder + "/" + file));
  EXPECT_FALSE(tags.empty()) << folder << "/" << file << " did not parse";
  return tags;
}

const gloox::Tag* jingleOf(const gloox::Tag& iq) { return iq.findChild("jingle", "xmlns", "urn:xmpp:jingle:1"); }

std::string xmlAndDelete(gloox::Tag* tag) {
  TagPtr owned(tag);
  return owned ? owned->xml() : std::string();
}

}  // namespace tern::signaling::test
