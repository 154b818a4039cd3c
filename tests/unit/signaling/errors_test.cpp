// IQ error payloads (RFC 6120 8.3, XEP-0166 section 10).
#include <gloox/error.h>
#include <gloox/tag.h>
#include <gtest/gtest.h>

#include "tern/signaling/errors.hpp"
#include "xml_test_util.hpp"

namespace tern::signaling {
namespace {

using test::xmlAndDelete;

TEST(ErrorTag, UnknownSession) {
  EXPECT_EQ(xmlAndDelete(makeErrorTag(Error::unknownSession())),
            "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<unknown-session xmlns='urn:xmpp:jingle:errors:1'/></error>");
}

TEST(ErrorTag, OutOfOrderTieBreakUnsupportedInfo) {
  EXPECT_EQ(xmlAndDelete(makeErrorTag(Error::outOfOrder())),
            "<error type='cancel'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<out-of-order xmlns='urn:xmpp:jingle:errors:1'/></error>");
  EXPECT_EQ(xmlAndDelete(makeErrorTag(Error::tieBreak())),
            "<error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<tie-break xmlns='urn:xmpp:jingle:errors:1'/></error>");
  EXPECT_EQ(xmlAndDelete(makeErrorTag(Error::unsupportedInfo())),
            "<error type='modify'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<unsupported-info xmlns='urn:xmpp:jingle:errors:1'/></error>");
  EXPECT_EQ(xmlAndDelete(makeErrorTag(Error::securityRequired())),
            "<error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<security-required xmlns='urn:xmpp:jingle:errors:1'/></error>");
}

TEST(ErrorTag, ResourceConstraintWaitsAndTextIsEscaped) {
  EXPECT_EQ(xmlAndDelete(makeErrorTag(Error::resourceConstraint())),
            "<error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>");
  Error e = Error::badRequest("bad <size/> & \x01");
  EXPECT_EQ(xmlAndDelete(makeErrorTag(e)),
            "<error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>bad &lt;size/&gt; &amp; \xEF\xBF\xBD</text>"
            "</error>");
}

TEST(ErrorTag, GlooxErrorCarriesTheSameConditions) {
  std::unique_ptr<gloox::Error> e(makeGlooxError(Error::unknownSession()));
  EXPECT_EQ(e->type(), gloox::StanzaErrorTypeCancel);
  EXPECT_EQ(e->error(), gloox::StanzaErrorItemNotFound);
  ASSERT_NE(e->appError(), nullptr);
  EXPECT_EQ(e->appError()->name(), "unknown-session");
  EXPECT_EQ(e->appError()->xmlns(), "urn:xmpp:jingle:errors:1");
  EXPECT_EQ(xmlAndDelete(e->tag()), xmlAndDelete(makeErrorTag(Error::unknownSession())));
}

TEST(ErrorTag, ParsedBackByGloox) {
  auto tag = test::parseXml(xmlAndDelete(makeErrorTag(Error::resourceConstraint("busy"))));
  ASSERT_NE(tag, nullptr);
  gloox::Error parsed(tag.get());
  EXPECT_EQ(parsed.type(), gloox::StanzaErrorTypeWait);
  EXPECT_EQ(parsed.error(), gloox::StanzaErrorResourceConstraint);
}

TEST(Result, ValueAndError) {
  Result<int> ok(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  Result<int> bad(Error::badRequest("x"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().condition, StanzaCondition::BadRequest);
  Status s = Status::success();
  EXPECT_TRUE(s.ok());
  Status f = Error::tieBreak();
  EXPECT_EQ(f.error(), Error::tieBreak());
}

}  // namespace
}  // namespace tern::signaling
