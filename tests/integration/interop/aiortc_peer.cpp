#include "aiortc_peer.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tern::interop {

using testbed::detail::Process;
using testbed::detail::UniqueFd;
using Clock = std::chrono::steady_clock;

namespace {

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

class JsonReader {
 public:
  explicit JsonReader(const std::string& s) : s_(s) {}

  std::optional<Message> object() {
    Message out;
    if (!consume('{')) return std::nullopt;
    if (consume('}')) return end(std::move(out));
    do {
      auto key = string();
      if (!key || !consume(':')) return std::nullopt;
      auto value = scalar();
      if (!value) return std::nullopt;
      out[*key] = *value;
    } while (consume(','));
    if (!consume('}')) return std::nullopt;
    return end(std::move(out));
  }

 private:
  std::optional<Message> end(Message m) {
    skipSpace();
    if (i_ != s_.size()) return std::nullopt;
    return m;
  }
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n'))
      ++i_;
  }
  bool consume(char c) {
    skipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  std::optional<std::uint32_t> hex4() {
    if (s_.size() - i_ < 4) return std::nullopt;
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return std::nullopt;
    }
    return v;
  }
  std::optional<std::string> string() {
    if (!consume('"')) return std::nullopt;
    std::string out;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return std::nullopt;
      char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          auto cp = hex4();
          if (!cp) return std::nullopt;
          if (*cp >= 0xd800 && *cp < 0xdc00 && s_.compare(i_, 2, "\\u") == 0) {
            i_ += 2;
            auto low = hex4();
            if (!low || *low < 0xdc00 || *low >= 0xe000) return std::nullopt;
            cp = 0x10000 + ((*cp - 0xd800) << 10) + (*low - 0xdc00);
          }
          appendUtf8(out, *cp);
          break;
        }
        default: return std::nullopt;
      }
    }
    return std::nullopt;
  }
  std::optional<std::string> scalar() {
    skipSpace();
    if (i_ < s_.size() && s_[i_] == '"') return string();
    std::size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '+' || s_[i_] == '.'))
      ++i_;
    if (i_ == start) return std::nullopt;
    return s_.substr(start, i_ - start);
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

}  // namespace

std::string toJson(const Message& message) {
  std::string out = "{";
  for (const auto& [key, value] : message) {
    if (out.size() > 1) out += ", ";
    for (const std::string* s : {&key, &value}) {
      out += '"';
      for (char c : *s) {
        switch (c) {
          case '"': out += "\\\""; break;
          case '\\': out += "\\\\"; break;
          case '\n': out += "\\n"; break;
          case '\r': out += "\\r"; break;
          case '\t': out += "\\t"; break;
          default:
            if (static_cast<unsigned char>(c) < 0x20) {
              char buf[8];
              std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
              out += buf;
            } else {
              out += c;
            }
        }
      }
      out += '"';
      if (s == &key) out += ": ";
    }
  }
  return out + "}";
}

std::optional<Message> fromJson(const std::string& line) { return JsonReader(line).object(); }

std::unique_ptr<AiortcPeer> AiortcPeer::start(const std::string& python, const std::string& script,
                                              const std::vector<std::string>& args,
                                              const std::filesystem::path& dir,
                                              std::chrono::milliseconds timeout,
                                              std::string& error) {
  std::filesystem::path path = dir / "aiortc.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) {
    error = "socket path too long: " + path.string();
    return nullptr;
  }
  std::strcpy(addr.sun_path, path.c_str());
  std::filesystem::remove(path);
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 1) != 0) {
    error = "cannot listen on " + path.string() + ": " + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<AiortcPeer> peer(new AiortcPeer());
  std::vector<std::string> argv = {python, script, "--socket", path.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    peer->process_ = Process::spawn(argv, dir / "aiortc.log");
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
  pollfd p{listener.get(), POLLIN, 0};
  auto deadline = Clock::now() + timeout;
  while (::poll(&p, 1, 50) == 0) {
    if (!peer->process_.running() || Clock::now() >= deadline) {
      error = "the aiortc peer did not connect to " + path.string();
      return nullptr;
    }
  }
  peer->socket_.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!peer->socket_) {
    error = std::string("accept: ") + std::strerror(errno);
    return nullptr;
  }
  auto ready =
      peer->receive(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
  if (!ready || (*ready)["op"] != "ready") {
    error = "the aiortc peer did not say it is ready";
    return nullptr;
  }
  return peer;
}

AiortcPeer::~AiortcPeer() {
  socket_.reset();
  process_.stop();
}

bool AiortcPeer::send(const Message& message) {
  if (!socket_) return false;
  std::string line = toJson(message) + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::send(socket_.get(), line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<Message> AiortcPeer::receive(std::chrono::milliseconds wait) {
  auto deadline = Clock::now() + wait;
  while (ready_.empty() && !closed_ && socket_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{socket_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(socket_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      break;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    std::size_t eol;
    while ((eol = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 1);
      auto m = fromJson(line);
      ready_.push_back(m ? *m : Message{{"op", "error"}, {"text", "not a JSON object: " + line}});
    }
  }
  if (ready_.empty()) return std::nullopt;
  Message m = std::move(ready_.front());
  ready_.pop_front();
  return m;
}

}  // namespace tern::interop
