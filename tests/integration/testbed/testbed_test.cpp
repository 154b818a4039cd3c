// The real-server fixtures themselves: Prosody and coturn come up on loopback,
// clients log in over TCP and BOSH, XEP-0215 hands out TURN credentials that
// coturn accepts, and nothing is left behind afterwards.
#include "tern/testbed/stun.hpp"
#include "tern/testbed/test_client.hpp"
#include "tern/testbed/testbed.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tern::testbed {
namespace {

using namespace std::chrono_literals;

struct Service {
    std::string type, transport, host, username, password;
    int port = 0;
};

std::vector<Service> queryExternalServices(TestClient& client, const std::string& domain) {
    gloox::Tag query("services");
    query.setXmlns("urn:xmpp:extdisco:2");
    auto reply = client.request(gloox::JID(domain), gloox::IQ::Get, query);
    std::vector<Service> services;
    if (!reply) {
        ADD_FAILURE() << "no reply to the XEP-0215 query\n" << client.logTail();
        return services;
    }
    EXPECT_EQ(reply->type, gloox::IQ::Result) << reply->error;
    if (!reply->payload) return services;
    for (const gloox::Tag* s : reply->payload->findChildren("service")) {
        services.push_back({s->findAttribute("type"), s->findAttribute("transport"), s->findAttribute("host"),
                            s->findAttribute("username"), s->findAttribute("password"),
                            std::atoi(s->findAttribute("port").c_str())});
    }
    return services;
}

const Service* find(const std::vector<Service>& services, const std::string& type, const std::string& transport) {
    for (const Service& s : services) {
        if (s.type == type && s.transport == transport) return &s;
    }
    return nullptr;
}

// Runs coturn's own test client (relay to relay through the server) with
// these credentials; its exit status, output kept in `log`.
int runUclient(const Testbed& bed, const std::string& user, const std::string& password, const std::string& log) {
    std::ostringstream cmd;
    cmd << "timeout 30 turnutils_uclient -y -c -n 1 -m 1 -z 1 -u '" << user << "' -w '" << password << "' -p "
        << bed.turnPort() << " 127.0.0.1 > '" << (bed.dir() / log).string() << "' 2>&1";
    int status = std::system(cmd.str().c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Options with(std::vector<std::string> accounts, bool turn, bool bosh, bool proxy65) {
    Options o;
    o.accounts = std::move(accounts);
    o.turn = turn;
    o.bosh = bosh;
    o.proxy65 = proxy65;
    return o;
}

bool processAlive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH); }

TEST(Testbed, AliceLogsInOverTcpAndBobOverBosh) {
    auto bed = Testbed::start();
    TestClient alice(*bed, "alice");
    ConnectResult a = alice.connect();
    ASSERT_TRUE(a.ok) << a.error << "\n" << alice.logTail() << bed->logTail("prosody.log");
    EXPECT_EQ(alice.jid().bare(), "alice@localhost");

    TestClient bob(*bed, "bob", TestClient::Transport::Bosh);
    ConnectResult b = bob.connect();
    ASSERT_TRUE(b.ok) << b.error << "\n" << bob.logTail() << bed->logTail("prosody.log");
    EXPECT_EQ(bob.jid().bare(), "bob@localhost");

    // An IQ round trip over BOSH: XEP-0199 ping to the server.
    gloox::Tag ping("ping");
    ping.setXmlns("urn:xmpp:ping");
    auto pong = bob.request(gloox::JID(bed->domain()), gloox::IQ::Get, ping);
    ASSERT_TRUE(pong.has_value()) << bob.logTail();
    EXPECT_EQ(pong->type, gloox::IQ::Result) << pong->error;
}

TEST(Testbed, WrongPasswordFailsWithAReason) {
    auto bed = Testbed::start(with({"alice"}, false, false, false));
    TestClient alice(*bed, "alice");
    alice.client().setPassword("wrong");
    ConnectResult a = alice.connect();
    EXPECT_FALSE(a.ok);
    EXPECT_NE(a.error.find("authentication failed (SASL not-authorized)"), std::string::npos) << a.error;
    EXPECT_FALSE(alice.connected());
}

TEST(Testbed, ExternalServicesAnnounceCoturnWithWorkingCredentials) {
    auto bed = Testbed::start();
    ASSERT_TRUE(bed->hasTurn());
    TestClient alice(*bed, "alice");
    ConnectResult a = alice.connect();
    ASSERT_TRUE(a.ok) << a.error;

    auto services = queryExternalServices(alice, bed->domain());
    const Service* turn = find(services, "turn", "udp");
    ASSERT_NE(turn, nullptr) << "no turn/udp service among " << services.size() << " services\n" << alice.logTail();
    EXPECT_EQ(turn->host, "127.0.0.1");
    EXPECT_EQ(turn->port, bed->turnPort());
    EXPECT_FALSE(turn->username.empty());
    EXPECT_FALSE(turn->password.empty());
    const Service* stun = find(services, "stun", "udp");
    ASSERT_NE(stun, nullptr);
    EXPECT_EQ(stun->port, bed->turnPort());
    EXPECT_NE(find(services, "turn", "tcp"), nullptr);

    TurnAllocateResult granted = turnAllocate(turn->host, bed->turnPort(), turn->username, turn->password, 5s);
    EXPECT_TRUE(granted.ok) << granted.error << bed->logTail("turn.log");
    EXPECT_EQ(granted.relayed.rfind("127.0.0.1:", 0), 0u) << granted.relayed;

    TurnAllocateResult refused = turnAllocate(turn->host, bed->turnPort(), turn->username, "wrong", 5s);
    EXPECT_FALSE(refused.ok);
    EXPECT_EQ(refused.errorCode, 401) << refused.error;

    // coturn's own client agrees.
    EXPECT_EQ(runUclient(*bed, turn->username, turn->password, "uclient-good.log"), 0)
        << bed->logTail("uclient-good.log");
    EXPECT_NE(runUclient(*bed, turn->username, "wrong", "uclient-bad.log"), 0) << bed->logTail("uclient-bad.log");
}

TEST(Testbed, TurnCredentialsHelperMatchesCoturn) {
    auto bed = Testbed::start(with({"alice"}, true, false, false));
    TurnCredentials good = turnCredentials(bed->turnSecret(), 1h);
    TurnAllocateResult granted = turnAllocate(bed->turnHost(), bed->turnPort(), good.username, good.password, 5s);
    EXPECT_TRUE(granted.ok) << granted.error;

    TurnCredentials expired = turnCredentials(bed->turnSecret(), -1h);
    EXPECT_FALSE(turnAllocate(bed->turnHost(), bed->turnPort(), expired.username, expired.password, 5s).ok);
    TurnCredentials other = turnCredentials("not-the-secret", 1h);
    EXPECT_EQ(turnAllocate(bed->turnHost(), bed->turnPort(), other.username, other.password, 5s).errorCode, 401);
}

TEST(Testbed, Proxy65AnnouncesItsLoopbackStreamhost) {
    auto bed = Testbed::start(with({"alice"}, false, false, true));
    TestClient alice(*bed, "alice");
    ConnectResult a = alice.connect();
    ASSERT_TRUE(a.ok) << a.error;
    gloox::Tag query("query");
    query.setXmlns("http://jabber.org/protocol/bytestreams");
    auto reply = alice.request(gloox::JID(bed->proxy65Jid()), gloox::IQ::Get, query);
    ASSERT_TRUE(reply.has_value()) << alice.logTail();
    ASSERT_EQ(reply->type, gloox::IQ::Result) << reply->error;
    ASSERT_TRUE(reply->payload);
    const gloox::Tag* host = reply->payload->findChild("streamhost");
    ASSERT_NE(host, nullptr) << reply->payload->xml();
    EXPECT_EQ(host->findAttribute("host"), "127.0.0.1");
    EXPECT_EQ(host->findAttribute("port"), std::to_string(bed->proxy65Port()));
    EXPECT_EQ(host->findAttribute("jid"), bed->proxy65Jid());
}

TEST(Testbed, RunsWithoutOptionalServices) {
    auto bed = Testbed::start(with({"dave"}, false, false, false));
    EXPECT_FALSE(bed->hasTurn());
    EXPECT_EQ(bed->turnPort(), 0);
    EXPECT_EQ(bed->turnPid(), 0);
    EXPECT_TRUE(bed->boshUrl().empty());
    EXPECT_THROW(bed->account("alice"), std::out_of_range);
    TestClient dave(*bed, "dave");
    ConnectResult d = dave.connect();
    ASSERT_TRUE(d.ok) << d.error;
}

TEST(Testbed, StopLeavesNoProcessAndNoDirectory) {
    auto bed = Testbed::start();
    const pid_t prosody = bed->prosodyPid(), turn = bed->turnPid();
    const auto dir = bed->dir();
    ASSERT_TRUE(processAlive(prosody));
    ASSERT_TRUE(processAlive(turn));
    ASSERT_TRUE(std::filesystem::exists(dir / "prosody.cfg.lua"));
    if (bed->keepsDir()) GTEST_SKIP() << "TERN_KEEP_TESTBED=1 keeps " << dir;

    TestClient alice(*bed, "alice");
    ASSERT_TRUE(alice.connect().ok);  // a live connection must not hold anything up
    bed.reset();
    EXPECT_FALSE(processAlive(prosody)) << "prosody " << prosody << " survived";
    EXPECT_FALSE(processAlive(turn)) << "turnserver " << turn << " survived";
    EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

TEST(Testbed, RejectsBadAccountNames) {
    EXPECT_THROW(Testbed::start(with({"Alice Smith"}, false, false, false)), TestbedError);
    EXPECT_THROW(Testbed::start(with({"bob", "bob"}, false, false, false)), TestbedError);
}

}  // namespace
}  // namespace tern::testbed
