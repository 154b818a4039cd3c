// Test helpers: XML text -> gloox::Tag, and access to the interop captures in tests/data.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gloox/tag.h>

namespace tern::signaling::test {

using TagPtr = std::unique_ptr<gloox::Tag>;

/// Parses every top-level element of `xml` with gloox::Parser (through a gloox::TagHandler).
/// XML comments, which gloox's parser does not accept, are removed first. Returns an empty
/// vector if the text is not well-formed.
std::vector<TagPtr> parseXmlAll(const std::string& xml);

/// The single top-level element of `xml`, or nullptr (not well-formed, or not exactly one).
TagPtr parseXml(const std::string& xml);

/// The contents of tests/data/<relative>; fails the current test if it cannot be read.
std::string readDataFile(const std::string& relative);

/// Every <iq/> of tests/data/interop-captures/<folder>/<file>.
std::vector<TagPtr> loadCapture(const std::string& folder, const std::string& file);

/// The <jingle xmlns='urn:xmpp:jingle:1'/> child of an <iq/>, or nullptr.
const gloox::Tag* jingleOf(const gloox::Tag& iq);

/// Serialized XML of an owned tag (deletes it).
std::string xmlAndDelete(gloox::Tag* tag);

}  // namespace tern::signaling::test
