// WAV and Y4M readers/writers. See media_files.hpp.
#include "media_files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

namespace tern::samples {
namespace {

constexpr int kMaxDimension = 16384;
constexpr std::size_t kMaxY4mLine = 4096;
constexpr std::uint16_t kFormatPcm = 1;
constexpr std::uint16_t kFormatExtensible = 0xfffe;
constexpr std::size_t kWavHeaderBytes = 44;

Error malformed(const std::string& path, const std::string& what) {
  return Error{ErrorCategory::InvalidArgument, path + ": " + what};
}

Error ioError(const std::string& what) {
  return Error{ErrorCategory::Io, what + ": " + std::strerror(errno)};
}

Result<detail::FilePtr> openFile(const std::string& path, const char* mode) {
  errno = 0;
  detail::FilePtr f(std::fopen(path.c_str(), mode));
  if (!f) {
    const ErrorCategory cat = errno == ENOENT ? ErrorCategory::InvalidArgument : ErrorCategory::Io;
    return Error{cat, path + ": " + std::strerror(errno)};
  }
  return f;
}

std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

bool readExact(std::FILE* f, void* buf, std::size_t n) { return std::fread(buf, 1, n, f) == n; }

// Bytes from the current position to the end of the file, or nullopt if unknown.
std::optional<std::uint64_t> bytesLeft(std::FILE* f) {
  const long here = std::ftell(f);
  if (here < 0 || std::fseek(f, 0, SEEK_END) != 0) return std::nullopt;
  const long end = std::ftell(f);
  if (end < 0 || std::fseek(f, here, SEEK_SET) != 0 || end < here) return std::nullopt;
  return static_cast<std::uint64_t>(end - here);
}

// Parses a positive decimal integer, bounded; returns nullopt on anything else.
std::optional<long> parsePositive(const std::string& s, long max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v <= 0 || v > max) return std::nullopt;
  return v;
}

// Reads one '\n'-terminated line of at most kMaxY4mLine bytes. Returns false on end of file or
// an overlong line; `eof` is set when the file ended before any byte of the line.
bool readLine(std::FILE* f, std::string& line, bool& eof) {
  line.clear();
  eof = false;
  for (;;) {
    const int c = std::fgetc(f);
    if (c == EOF) {
      eof = line.empty();
      return false;
    }
    if (c == '\n') return true;
    if (line.size() >= kMaxY4mLine) return false;
    line.push_back(static_cast<char>(c));
  }
}

}  // namespace

std::size_t i420Size(int width, int height) noexcept {
  if (width <= 0 || height <= 0) return 0;
  const std::size_t cw = static_cast<std::size_t>(width + 1) / 2;
  const std::size_t ch = static_cast<std::size_t>(height + 1) / 2;
  return static_cast<std::size_t>(width) * static_cast<std::size_t>(height) + 2 * cw * ch;
}

// ---------------------------------------------------------------------------------------------
// WAV

Result<WavReader> WavReader::open(const std::string& path) {
  auto file = openFile(path, "rb");
  if (!file) return file.error();
  std::FILE* f = file.value().get();

  std::uint8_t riff[12];
  if (!readExact(f, riff, sizeof riff)) return malformed(path, "too short for a RIFF header");
  if (std::memcmp(riff, "RIFF", 4) != 0 || std::memcmp(riff + 8, "WAVE", 4) != 0)
    return malformed(path, "not a RIFF/WAVE file");

  bool have_fmt = false;
  WavInfo info;
  for (;;) {
    std::uint8_t chunk[8];
    if (!readExact(f, chunk, sizeof chunk)) return malformed(path, "no data chunk");
    const std::uint32_t size = le32(chunk + 4);
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      if (size < 16 || size > 1024) return malformed(path, "bad fmt chunk size");
      std::uint8_t fmt[1024];
      if (!readExact(f, fmt, size)) return malformed(path, "truncated fmt chunk");
      if (size % 2 == 1) std::fgetc(f);
      std::uint16_t format = le16(fmt);
      const std::uint16_t channels = le16(fmt + 2);
      const std::uint32_t rate = le32(fmt + 4);
      const std::uint16_t block_align = le16(fmt + 12);
      const std::uint16_t bits = le16(fmt + 14);
      if (format == kFormatExtensible) {
        // cbSize(2) validBits(2) channelMask(4) SubFormat GUID(16): first two bytes = format.
        if (size < 40) return malformed(path, "short WAVE_FORMAT_EXTENSIBLE fmt chunk");
        format = le16(fmt + 24);
      }
      if (format != kFormatPcm)
        return malformed(path, "not PCM (format " + std::to_string(format) + ")");
      if (bits != 16) return malformed(path, "not 16-bit PCM (" + std::to_string(bits) + " bits)");
      if (channels == 0 || channels > 64) return malformed(path, "bad channel count");
      if (rate == 0 || rate > 1000000) return malformed(path, "bad sample rate");
      if (block_align != channels * 2) return malformed(path, "block align does not match");
      info.channels = channels;
      info.sample_rate = static_cast<int>(rate);
      have_fmt = true;
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      if (!have_fmt) return malformed(path, "data chunk before fmt chunk");
      std::uint64_t bytes = size;
      // A writer that died before patching leaves 0 (or 0xffffffff when streaming): use what
      // the file really holds; never trust a size beyond it.
      if (auto left = bytesLeft(f)) {
        if (bytes == 0 || bytes > *left) bytes = *left;
      }
      const std::uint64_t frame_bytes = static_cast<std::uint64_t>(info.channels) * 2;
      info.frames = bytes / frame_bytes;
      WavReader r;
      r.file_ = std::move(file.value());
      r.info_ = info;
      r.remaining_frames_ = info.frames;
      return r;
    } else {
      // Unknown chunk (LIST, fact, ...): skip it, with its pad byte.
      const long skip = static_cast<long>(size) + static_cast<long>(size % 2);
      if (std::fseek(f, skip, SEEK_CUR) != 0) return malformed(path, "truncated chunk");
    }
  }
}

Result<std::size_t> WavReader::read(std::int16_t* out, std::size_t max_frames) {
  if (!file_ || out == nullptr) return Error{ErrorCategory::InvalidArgument, "wav: not open"};
  std::size_t frames =
      static_cast<std::size_t>(std::min<std::uint64_t>(max_frames, remaining_frames_));
  if (frames == 0) return std::size_t{0};
  const std::size_t samples = frames * static_cast<std::size_t>(info_.channels);
  std::vector<std::uint8_t> raw(samples * 2);
  const std::size_t got = std::fread(raw.data(), 1, raw.size(), file_.get());
  if (got < raw.size() && std::ferror(file_.get())) return ioError("wav read");
  frames = got / (static_cast<std::size_t>(info_.channels) * 2);
  for (std::size_t i = 0; i < frames * static_cast<std::size_t>(info_.channels); ++i)
    out[i] = static_cast<std::int16_t>(le16(raw.data() + 2 * i));
  remaining_frames_ = frames == 0 ? 0 : remaining_frames_ - frames;
  return frames;
}

Result<std::vector<std::int16_t>> WavReader::readAll() {
  std::vector<std::int16_t> all;
  std::vector<std::int16_t> chunk(4800 * static_cast<std::size_t>(std::max(1, info_.channels)));
  for (;;) {
    auto n = read(chunk.data(), 4800);
    if (!n) return n.error();
    if (n.value() == 0) return all;
    all.insert(all.end(), chunk.begin(),
               chunk.begin() + static_cast<std::ptrdiff_t>(n.value() * info_.channels));
  }
}

Result<WavWriter> WavWriter::create(const std::string& path, int sample_rate, int channels) {
  if (sample_rate <= 0 || sample_rate > 1000000 || channels <= 0 || channels > 64)
    return Error{ErrorCategory::InvalidArgument, "wav: bad rate or channel count"};
  auto file = openFile(path, "wb");
  if (!file) return file.error();
  std::uint8_t h[kWavHeaderBytes];
  std::memcpy(h, "RIFF", 4);
  put32(h + 4, 36);
  std::memcpy(h + 8, "WAVEfmt ", 8);
  put32(h + 16, 16);
  put16(h + 20, kFormatPcm);
  put16(h + 22, static_cast<std::uint16_t>(channels));
  put32(h + 24, static_cast<std::uint32_t>(sample_rate));
  put32(h + 28, static_cast<std::uint32_t>(sample_rate * channels * 2));
  put16(h + 32, static_cast<std::uint16_t>(channels * 2));
  put16(h + 34, 16);
  std::memcpy(h + 36, "data", 4);
  put32(h + 40, 0);
  if (std::fwrite(h, 1, sizeof h, file.value().get()) != sizeof h) return ioError(path);
  WavWriter w;
  w.file_ = std::move(file.value());
  w.channels_ = channels;
  return w;
}

WavWriter& WavWriter::operator=(WavWriter&& other) noexcept {
  if (this != &other) {
    close();
    file_ = std::move(other.file_);
    channels_ = other.channels_;
    frames_ = other.frames_;
  }
  return *this;
}

WavWriter::~WavWriter() { close(); }

Result<Done> WavWriter::write(const std::int16_t* pcm, std::size_t frames) {
  if (!file_) return Error{ErrorCategory::InvalidArgument, "wav: closed"};
  if (pcm == nullptr && frames > 0) return Error{ErrorCategory::InvalidArgument, "wav: null PCM"};
  const std::size_t samples = frames * static_cast<std::size_t>(channels_);
  const std::uint64_t new_bytes = (frames_ + frames) * static_cast<std::uint64_t>(channels_) * 2;
  if (new_bytes + 36 > std::numeric_limits<std::uint32_t>::max())
    return Error{ErrorCategory::Io, "wav: file would exceed 4 GiB"};
  std::vector<std::uint8_t> raw(samples * 2);
  for (std::size_t i = 0; i < samples; ++i)
    put16(raw.data() + 2 * i, static_cast<std::uint16_t>(pcm[i]));
  if (std::fwrite(raw.data(), 1, raw.size(), file_.get()) != raw.size())
    return ioError("wav write");
  frames_ += frames;
  return Done{};
}

Result<Done> WavWriter::patchSizes() {
  const auto data_bytes =
      static_cast<std::uint32_t>(frames_ * static_cast<std::uint64_t>(channels_) * 2);
  std::uint8_t b[4];
  put32(b, data_bytes + 36);
  if (std::fseek(file_.get(), 4, SEEK_SET) != 0 || std::fwrite(b, 1, 4, file_.get()) != 4)
    return ioError("wav patch");
  put32(b, data_bytes);
  if (std::fseek(file_.get(), 40, SEEK_SET) != 0 || std::fwrite(b, 1, 4, file_.get()) != 4)
    return ioError("wav patch");
  if (std::fseek(file_.get(), 0, SEEK_END) != 0) return ioError("wav seek");
  return Done{};
}

Result<Done> WavWriter::close() {
  if (!file_) return Done{};
  auto patched = patchSizes();
  std::FILE* f = file_.release();
  const bool closed = std::fclose(f) == 0;
  if (!patched) return patched.error();
  if (!closed) return ioError("wav close");
  return Done{};
}

// ---------------------------------------------------------------------------------------------
// Y4M

Result<Y4mReader> Y4mReader::open(const std::string& path) {
  auto file = openFile(path, "rb");
  if (!file) return file.error();
  std::string line;
  bool eof = false;
  if (!readLine(file.value().get(), line, eof)) return malformed(path, "no YUV4MPEG2 header line");
  static const std::string kMagic = "YUV4MPEG2";
  if (line.compare(0, kMagic.size(), kMagic) != 0 ||
      (line.size() > kMagic.size() && line[kMagic.size()] != ' '))
    return malformed(path, "not a YUV4MPEG2 file");
  Y4mInfo info;
  std::size_t pos = kMagic.size();
  while (pos < line.size()) {
    if (line[pos] == ' ') {
      ++pos;
      continue;
    }
    const std::size_t end = std::min(line.find(' ', pos), line.size());
    const std::string token = line.substr(pos, end - pos);
    pos = end;
    const char tag = token[0];
    const std::string value = token.substr(1);
    if (tag == 'W' || tag == 'H') {
      auto v = parsePositive(value, kMaxDimension);
      if (!v) return malformed(path, std::string("bad ") + tag + " parameter");
      (tag == 'W' ? info.width : info.height) = static_cast<int>(*v);
    } else if (tag == 'F') {
      const std::size_t colon = value.find(':');
      if (colon == std::string::npos) return malformed(path, "bad F parameter");
      auto num = parsePositive(value.substr(0, colon), 1000000000);
      auto den = parsePositive(value.substr(colon + 1), 1000000000);
      if (!num || !den) return malformed(path, "bad F parameter");
      info.fps_num = static_cast<int>(*num);
      info.fps_den = static_cast<int>(*den);
    } else if (tag == 'C') {
      if (value != "420" && value != "420jpeg" && value != "420paldv" && value != "420mpeg2")
        return malformed(path, "unsupported colour space C" + value + " (only 4:2:0 8-bit)");
      info.colorspace = value;
    } else if (tag == 'I') {
      if (value != "p" && value != "?") return malformed(path, "interlaced Y4M not supported");
    }
    // A (aspect), X (extensions) and unknown parameters are ignored, as the format allows.
  }
  if (info.width == 0 || info.height == 0) return malformed(path, "missing W or H");
  Y4mReader r;
  r.file_ = std::move(file.value());
  r.info_ = info;
  return r;
}

Result<std::optional<I420Picture>> Y4mReader::readFrame() {
  if (!file_) return Error{ErrorCategory::InvalidArgument, "y4m: not open"};
  std::string line;
  bool eof = false;
  if (!readLine(file_.get(), line, eof)) {
    if (eof) return std::optional<I420Picture>{};
    return Error{ErrorCategory::InvalidArgument, "y4m: bad FRAME line"};
  }
  if (line.compare(0, 5, "FRAME") != 0 || (line.size() > 5 && line[5] != ' '))
    return Error{ErrorCategory::InvalidArgument, "y4m: expected FRAME"};
  const std::size_t size = i420Size(info_.width, info_.height);
  // Do not allocate for a frame the file cannot hold (a hostile header may announce 16384x16384).
  if (auto left = bytesLeft(file_.get()); left && *left < size)
    return Error{ErrorCategory::InvalidArgument, "y4m: truncated frame"};
  I420Picture p;
  p.width = info_.width;
  p.height = info_.height;
  p.data.resize(size);
  const std::size_t got = std::fread(p.data.data(), 1, p.data.size(), file_.get());
  if (got != p.data.size()) {
    if (std::ferror(file_.get())) return ioError("y4m read");
    return Error{ErrorCategory::InvalidArgument, "y4m: truncated frame"};
  }
  return std::optional<I420Picture>(std::move(p));
}

Result<Y4mWriter> Y4mWriter::create(const std::string& path, int width, int height, int fps_num,
                                    int fps_den) {
  if (width <= 0 || height <= 0 || width > kMaxDimension || height > kMaxDimension ||
      fps_num <= 0 || fps_den <= 0)
    return Error{ErrorCategory::InvalidArgument, "y4m: bad size or frame rate"};
  auto file = openFile(path, "wb");
  if (!file) return file.error();
  const std::string header = "YUV4MPEG2 W" + std::to_string(width) + " H" + std::to_string(height) +
                             " F" + std::to_string(fps_num) + ":" + std::to_string(fps_den) +
                             " Ip A1:1 C420jpeg\n";
  if (std::fwrite(header.data(), 1, header.size(), file.value().get()) != header.size())
    return ioError(path);
  Y4mWriter w;
  w.file_ = std::move(file.value());
  w.width_ = width;
  w.height_ = height;
  return w;
}

Result<Done> Y4mWriter::write(const I420Picture& picture) {
  if (!file_) return Error{ErrorCategory::InvalidArgument, "y4m: closed"};
  if (picture.width != width_ || picture.height != height_ ||
      picture.data.size() != i420Size(width_, height_))
    return Error{ErrorCategory::InvalidArgument, "y4m: picture size does not match the header"};
  static const char kFrame[] = "FRAME\n";
  if (std::fwrite(kFrame, 1, 6, file_.get()) != 6 ||
      std::fwrite(picture.data.data(), 1, picture.data.size(), file_.get()) != picture.data.size())
    return ioError("y4m write");
  return Done{};
}

Result<Done> Y4mWriter::close() {
  if (!file_) return Done{};
  std::FILE* f = file_.release();
  if (std::fclose(f) != 0) return ioError("y4m close");
  return Done{};
}

}  // namespace tern::samples
