// Builds against the installed headers and library only: creates an Engine
// over a (not connected) gloox client and exercises the public API.
#include <tern/engine.hpp>

#include <gloox/client.h>

#include <cstdio>
#include <cstring>

int main() {
    gloox::Client client(gloox::JID("alice@localhost/consumer"), "secret");
    tern::Config config;
    config.discoverIceServers = false;
    tern::Engine engine(client, config);
    auto r = engine.sendFile("bob@localhost", "/nonexistent");
    if (r.ok() || r.error().category != tern::ErrorCategory::NotConnected) {
        std::puts("unexpected sendFile result");
        return 1;
    }
    if (std::strcmp(tern::toString(tern::ErrorCategory::NoIcePath), "no-ice-path") != 0) return 1;
    std::puts("consumer ok");
    return 0;
}
