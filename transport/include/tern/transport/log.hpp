// Process-wide log sink of the transport layer (the engine installs the app's).
#pragma once

#include <functional>
#include <string>

namespace tern::transport {

enum class Level { Debug, Info, Warning, Error };
using LogSink = std::function<void(Level, const std::string&)>;

/// Installs the sink (thread-safe). Empty: warnings and errors go to stderr.
void setLogSink(LogSink sink);
void log(Level level, const std::string& message);
inline void logDebug(const std::string& m) { log(Level::Debug, m); }
inline void logInfo(const std::string& m) { log(Level::Info, m); }
inline void logWarning(const std::string& m) { log(Level::Warning, m); }
inline void logError(const std::string& m) { log(Level::Error, m); }

}  // namespace tern::transport
