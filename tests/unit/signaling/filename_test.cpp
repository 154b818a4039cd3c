// sanitizeFileName (XEP-0234 section 5 'name' and section 12).
#include <gtest/gtest.h>

#include "tern/signaling/filename.hpp"

namespace tern::signaling {
namespace {

TEST(SanitizeFileName, KeepsOrdinaryNames) {
  EXPECT_EQ(sanitizeFileName("random-20971520.bin"), "random-20971520.bin");
  EXPECT_EQ(sanitizeFileName("Photo 2024 (1).jpeg"), "Photo 2024 (1).jpeg");
  EXPECT_EQ(sanitizeFileName("résumé – final.pdf"), "résumé – final.pdf");
  EXPECT_EQ(sanitizeFileName("日本語.txt"), "日本語.txt");
}

TEST(SanitizeFileName, StripsDirectories) {
  EXPECT_EQ(sanitizeFileName("../x"), "x");
  EXPECT_EQ(sanitizeFileName("../../../../etc/passwd"), "passwd");
  EXPECT_EQ(sanitizeFileName("/etc/x"), "x");
  EXPECT_EQ(sanitizeFileName("C:\\Windows\\system32\\evil.dll"), "evil.dll");
  EXPECT_EQ(sanitizeFileName("a/b\\c"), "c");
  EXPECT_EQ(sanitizeFileName("dir/"), "dir");
  EXPECT_EQ(sanitizeFileName("x/.."), "file");
}

TEST(SanitizeFileName, EmptyDotAndDotDot) {
  EXPECT_EQ(sanitizeFileName(""), "file");
  EXPECT_EQ(sanitizeFileName("."), "file");
  EXPECT_EQ(sanitizeFileName(".."), "file");
  EXPECT_EQ(sanitizeFileName("..."), "file");
  EXPECT_EQ(sanitizeFileName("/"), "file");
  EXPECT_EQ(sanitizeFileName("   "), "file");
  EXPECT_EQ(sanitizeFileName("", "download.bin"), "download.bin");
  EXPECT_EQ(sanitizeFileName(".bashrc"), "bashrc");  // no hidden files
  EXPECT_EQ(sanitizeFileName("name. . "), "name");   // no trailing dots/spaces
}

TEST(SanitizeFileName, NulAndControlCharacters) {
  EXPECT_EQ(sanitizeFileName(std::string("a\0b.txt", 7)), "ab.txt");
  EXPECT_EQ(sanitizeFileName(std::string("\0", 1)), "file");
  EXPECT_EQ(sanitizeFileName("line\nbreak\r\t.txt"), "linebreak.txt");
  EXPECT_EQ(sanitizeFileName("del\x7f.txt"), "del.txt");
  EXPECT_EQ(sanitizeFileName("c1\xc2\x85.txt"), "c1.txt");                   // U+0085 (NEL)
  EXPECT_EQ(sanitizeFileName("invoice\xe2\x80\xaegnp.exe"), "invoicegnp.exe");  // U+202E RLO spoofing
  EXPECT_EQ(sanitizeFileName("bad\xff\xfeutf8.txt"), "bad__utf8.txt");        // invalid UTF-8
  EXPECT_EQ(sanitizeFileName("a<b>c:d\"e|f?g*h"), "a_b_c_d_e_f_g_h");
}

TEST(SanitizeFileName, WindowsDeviceNames) {
  EXPECT_EQ(sanitizeFileName("CON"), "_CON");
  EXPECT_EQ(sanitizeFileName("nul.txt"), "_nul.txt");
  EXPECT_EQ(sanitizeFileName("com1.log"), "_com1.log");
  EXPECT_EQ(sanitizeFileName("console.txt"), "console.txt");
}

TEST(SanitizeFileName, TruncatesTo250BytesKeepingExtension) {
  const std::string longName = std::string(300, 'a') + ".tar.gz";
  const std::string out = sanitizeFileName(longName);
  EXPECT_EQ(out.size(), 250u);
  EXPECT_EQ(out.substr(out.size() - 3), ".gz");

  const std::string plain(300, 'b');
  EXPECT_EQ(sanitizeFileName(plain), std::string(250, 'b'));

  // 2-byte characters: the cut must not split one.
  std::string wide;
  for (int i = 0; i < 150; ++i) wide += "\xc3\xa9";  // é, 300 bytes
  wide += ".txt";
  const std::string cut = sanitizeFileName(wide);
  EXPECT_LE(cut.size(), 250u);
  EXPECT_EQ(cut.substr(cut.size() - 4), ".txt");
  const std::string stem = cut.substr(0, cut.size() - 4);
  EXPECT_EQ(stem.size() % 2, 0u);
  EXPECT_EQ(stem.size(), 246u);

  // An over-long "extension" is not kept as one.
  const std::string longExt = "x." + std::string(300, 'e');
  EXPECT_EQ(sanitizeFileName(longExt).size(), 250u);

  // Exactly 250 bytes is untouched.
  const std::string exact = std::string(246, 'c') + ".bin";
  EXPECT_EQ(sanitizeFileName(exact), exact);
}

}  // namespace
}  // namespace tern::signaling
