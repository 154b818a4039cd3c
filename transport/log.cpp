#include "tern/transport/log.hpp"

#include <cstdio>
#include <mutex>

namespace tern::transport {
namespace {
std::mutex& sinkMutex() {
    static std::mutex m;
    return m;
}
LogSink& sink() {
    static LogSink s;
    return s;
}
}  // namespace

void setLogSink(LogSink s) {
    std::lock_guard<std::mutex> lock(sinkMutex());
    sink() = std::move(s);
}

void log(Level level, const std::string& message) {
    LogSink copy;
    {
        std::lock_guard<std::mutex> lock(sinkMutex());
        copy = sink();
    }
    if (copy) {
        copy(level, message);
    } else if (level >= Level::Warning) {
        std::fprintf(stderr, "tern: %s\n", message.c_str());
    }
}

}  // namespace tern::transport
