// WAV and Y4M helpers of the sample programs: write/read round trips, partly written files,
// malformed headers.
#include "media_files.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace tern::samples {
namespace {

class MediaFiles : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() /
        ("tern-media-files-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  void writeBytes(const std::string& p, const std::vector<std::uint8_t>& bytes) {
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  std::vector<std::uint8_t> readBytes(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  std::filesystem::path dir_;
};

std::vector<std::int16_t> ramp(std::size_t n) {
  std::vector<std::int16_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::int16_t>(i * 37 - 30000);
  return v;
}

TEST_F(MediaFiles, WavRoundTripAnyChannelCount) {
  for (int channels : {1, 2, 6}) {
    const auto p = path("a.wav");
    const auto pcm = ramp(1000 * static_cast<std::size_t>(channels));
    {
      auto w = WavWriter::create(p, 48000, channels);
      ASSERT_TRUE(w.ok());
      ASSERT_TRUE(w.value().write(pcm.data(), 400).ok());
      ASSERT_TRUE(w.value().write(pcm.data() + 400 * channels, 600).ok());
      EXPECT_EQ(w.value().framesWritten(), 1000u);
      ASSERT_TRUE(w.value().close().ok());
      EXPECT_TRUE(w.value().close().ok());  // idempotent
      EXPECT_FALSE(w.value().write(pcm.data(), 1).ok());
    }
    EXPECT_EQ(std::filesystem::file_size(p), 44u + 2000u * channels);
    auto r = WavReader::open(p);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().info().sample_rate, 48000);
    EXPECT_EQ(r.value().info().channels, channels);
    EXPECT_EQ(r.value().info().frames, 1000u);
    auto all = r.value().readAll();
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all.value(), pcm);
  }
}

TEST_F(MediaFiles, WavSizesArePatchedOnDestruction) {
  const auto p = path("b.wav");
  const auto pcm = ramp(960);
  {
    auto w = WavWriter::create(p, 16000, 1);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w.value().write(pcm.data(), 960).ok());
  }  // no close()
  const auto bytes = readBytes(p);
  ASSERT_EQ(bytes.size(), 44u + 1920u);
  EXPECT_EQ(bytes[4] | (bytes[5] << 8), 36 + 1920);
  EXPECT_EQ(bytes[40] | (bytes[41] << 8), 1920);
  auto r = WavReader::open(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().info().sample_rate, 16000);
  EXPECT_EQ(r.value().info().frames, 960u);
}

TEST_F(MediaFiles, WavReaderSkipsUnknownChunksAndTrustsTheFileOverAStaleSize) {
  const auto p = path("c.wav");
  {
    auto w = WavWriter::create(p, 48000, 2);
    ASSERT_TRUE(w.ok());
    const auto pcm = ramp(200);
    ASSERT_TRUE(w.value().write(pcm.data(), 100).ok());
  }
  auto bytes = readBytes(p);
  // Insert an odd-sized LIST chunk (with its pad byte) between fmt and data.
  const std::vector<std::uint8_t> list = {'L', 'I', 'S', 'T', 3, 0, 0, 0, 'a', 'b', 'c', 0};
  bytes.insert(bytes.begin() + 36, list.begin(), list.end());
  // A writer that died before patching: data size 0.
  bytes[36 + list.size() + 4] = 0;
  bytes[36 + list.size() + 5] = 0;
  writeBytes(p, bytes);
  auto r = WavReader::open(p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().info().frames, 100u);
  EXPECT_EQ(r.value().readAll().value(), ramp(200));
}

TEST_F(MediaFiles, MalformedWavHeadersAreRejected) {
  std::vector<std::uint8_t> good;
  {
    const auto p = path("good.wav");
    auto w = WavWriter::create(p, 48000, 1);
    ASSERT_TRUE(w.ok());
    const auto pcm = ramp(10);
    ASSERT_TRUE(w.value().write(pcm.data(), 10).ok());
    ASSERT_TRUE(w.value().close().ok());
    good = readBytes(p);
  }
  auto expectRejected = [&](std::vector<std::uint8_t> bytes, const char* why) {
    const auto p = path("bad.wav");
    writeBytes(p, bytes);
    auto r = WavReader::open(p);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.error().category, ErrorCategory::InvalidArgument) << why;
  };
  auto b = good;
  b[0] = 'X';
  expectRejected(b, "not RIFF");
  b = good;
  b[8] = 'A';
  expectRejected(b, "not WAVE");
  b = good;
  b[20] = 3;  // IEEE float
  expectRejected(b, "not PCM");
  b = good;
  b[34] = 8;  // 8-bit
  expectRejected(b, "8-bit");
  b = good;
  b[22] = 0;  // zero channels
  expectRejected(b, "no channels");
  b = good;
  b[16] = 0xff;
  b[17] = 0xff;  // absurd fmt size
  expectRejected(b, "fmt size");
  b = good;
  b[36] = 'x';  // no data chunk at all
  expectRejected(b, "no data");
  // Every prefix of the header is rejected, never a crash.
  for (std::size_t n = 0; n < 44; ++n)
    expectRejected(std::vector<std::uint8_t>(good.begin(), good.begin() + n), "prefix");
  // Missing file: an error value too.
  auto missing = WavReader::open(path("missing.wav"));
  EXPECT_FALSE(missing.ok());
}

std::vector<std::uint8_t> picture(int w, int h, int seed) {
  std::vector<std::uint8_t> d(i420Size(w, h));
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return d;
}

TEST_F(MediaFiles, Y4mRoundTrip) {
  const auto p = path("a.y4m");
  for (auto [w, h] : {std::pair{64, 48}, std::pair{33, 17}}) {
    {
      auto out = Y4mWriter::create(p, w, h, 30000, 1001);
      ASSERT_TRUE(out.ok());
      for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(out.value().write(I420Picture{w, h, picture(w, h, i)}).ok());
      EXPECT_FALSE(out.value().write(I420Picture{w + 1, h, picture(w + 1, h, 0)}).ok());
      ASSERT_TRUE(out.value().close().ok());
    }
    auto in = Y4mReader::open(p);
    ASSERT_TRUE(in.ok()) << in.error().message;
    EXPECT_EQ(in.value().info().width, w);
    EXPECT_EQ(in.value().info().height, h);
    EXPECT_EQ(in.value().info().fps_num, 30000);
    EXPECT_EQ(in.value().info().fps_den, 1001);
    for (int i = 0; i < 3; ++i) {
      auto f = in.value().readFrame();
      ASSERT_TRUE(f.ok() && f.value().has_value());
      EXPECT_EQ(f.value()->data, picture(w, h, i));
    }
    auto end = in.value().readFrame();
    ASSERT_TRUE(end.ok());
    EXPECT_FALSE(end.value().has_value());
  }
}

TEST_F(MediaFiles, Y4mAcceptsThe420VariantsAndFrameParameters) {
  for (const char* c : {"", " C420", " C420jpeg", " C420paldv", " C420mpeg2"}) {
    const auto p = path("v.y4m");
    std::string text =
        std::string("YUV4MPEG2 W4 H2 F25:1 A0:0 Ip XYSCSS=420JPEG") + c + "\n" + "FRAME Ixyz\n";
    std::vector<std::uint8_t> bytes(text.begin(), text.end());
    for (int i = 0; i < 12; ++i) bytes.push_back(static_cast<std::uint8_t>(i));
    writeBytes(p, bytes);
    auto in = Y4mReader::open(p);
    ASSERT_TRUE(in.ok()) << c << ": " << in.error().message;
    auto f = in.value().readFrame();
    ASSERT_TRUE(f.ok() && f.value().has_value()) << c;
    EXPECT_EQ(f.value()->data.size(), 12u);
    EXPECT_EQ(f.value()->data[11], 11);
  }
}

TEST_F(MediaFiles, MalformedY4mIsRejected) {
  auto rejectHeader = [&](const std::string& header) {
    const auto p = path("bad.y4m");
    writeBytes(p, std::vector<std::uint8_t>(header.begin(), header.end()));
    auto in = Y4mReader::open(p);
    ASSERT_FALSE(in.ok()) << header;
    EXPECT_EQ(in.error().category, ErrorCategory::InvalidArgument);
  };
  rejectHeader("");
  rejectHeader("YUV4MPEG W4 H2\n");
  rejectHeader("YUV4MPEG2X W4 H2\n");
  rejectHeader("YUV4MPEG2 W4\n");
  rejectHeader("YUV4MPEG2 W0 H2\n");
  rejectHeader("YUV4MPEG2 W-4 H2\n");
  rejectHeader("YUV4MPEG2 W99999999999 H2\n");
  rejectHeader("YUV4MPEG2 W4 H2 C444\n");
  rejectHeader("YUV4MPEG2 W4 H2 C420p10\n");
  rejectHeader("YUV4MPEG2 W4 H2 Ct\n");
  rejectHeader("YUV4MPEG2 W4 H2 F25\n");
  rejectHeader("YUV4MPEG2 W4 H2 F25:0\n");
  rejectHeader("YUV4MPEG2 W4 H2");  // no newline
  rejectHeader("YUV4MPEG2 W4 H2 " + std::string(5000, 'X') + "\n");

  // Bad FRAME marker and truncated frame data are errors from readFrame().
  const auto p = path("frames.y4m");
  std::string text = "YUV4MPEG2 W4 H2\nFRAMEX\n";
  writeBytes(p, std::vector<std::uint8_t>(text.begin(), text.end()));
  auto in = Y4mReader::open(p);
  ASSERT_TRUE(in.ok());
  EXPECT_FALSE(in.value().readFrame().ok());
  text = "YUV4MPEG2 W4 H2\nFRAME\n12345";
  writeBytes(p, std::vector<std::uint8_t>(text.begin(), text.end()));
  auto in2 = Y4mReader::open(p);
  ASSERT_TRUE(in2.ok());
  auto f = in2.value().readFrame();
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().category, ErrorCategory::InvalidArgument);

  // Random bytes after the magic: error or value, never a crash.
  std::mt19937 rng(9);
  for (int i = 0; i < 200; ++i) {
    std::string junk = "YUV4MPEG2 ";
    for (int k = 0; k < 40; ++k) junk.push_back(static_cast<char>(rng() % 96 + 32));
    junk += "\n";
    writeBytes(p, std::vector<std::uint8_t>(junk.begin(), junk.end()));
    auto r = Y4mReader::open(p);
    if (r.ok()) (void)r.value().readFrame();
  }
}

}  // namespace
}  // namespace tern::samples
