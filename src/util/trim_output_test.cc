#include "util/trim_output.h"

#include <gtest/gtest.h>

#include <string>

namespace lifeboat {
namespace {

TEST(TrimOutputTest, KeepsTheStartAndTheEndWithTheCountOfWhatWent) {
  EXPECT_EQ(TrimOutput("short"), "short");
  const std::string exact(kTrimmedOutputBytes, 'x');
  EXPECT_EQ(TrimOutput(exact), exact);
  // 10,000 bytes: the first 1024 and the last 2048 survive, with the count of what went.
  std::string big = std::string(1024, 'h') + std::string(6928, 'm') + std::string(2048, 't');
  const std::string trimmed = TrimOutput(big);
  EXPECT_LE(trimmed.size(), kTrimmedOutputBytes);
  EXPECT_EQ(trimmed.substr(0, 1024), std::string(1024, 'h'));
  EXPECT_EQ(trimmed.substr(trimmed.size() - 2048), std::string(2048, 't'));
  EXPECT_NE(trimmed.find("\n[... 6928 bytes left out ...]\n"), std::string::npos);
  EXPECT_EQ(TrimOutput(trimmed), trimmed);  // idempotent
  // Another limit: a quarter and a half of it.
  const std::string small = TrimOutput(std::string(100, 'a') + std::string(100, 'b'), 100);
  EXPECT_EQ(small, std::string(25, 'a') + "\n[... 125 bytes left out ...]\n" +
                       std::string(50, 'b'));
}

TEST(TrimOutputTest, NeverCutsAUtf8Character) {
  std::string utf8;
  while (utf8.size() < 9000) utf8 += "é";  // 2 bytes each
  const std::string cut = TrimOutput(utf8);
  const size_t marker = cut.find("\n[...");
  ASSERT_NE(marker, std::string::npos);
  EXPECT_EQ(marker % 2, 0u);
  EXPECT_EQ(cut.substr(0, 2), "é");
  EXPECT_EQ(cut.substr(cut.size() - 2), "é");
  const size_t tail_start = cut.find("...]\n") + 5;
  EXPECT_EQ(cut.substr(tail_start, 2), "é");
  EXPECT_EQ((cut.size() - tail_start) % 2, 0u);
  // Three-byte characters with the cuts in their middle: the head ends before, the tail starts
  // after, and the count says exactly how many bytes went.
  std::string euro = "x";
  while (euro.size() < 9000) euro += "€";
  const std::string e = TrimOutput(euro);
  const size_t m = e.find("\n[... ");
  const size_t after = e.find(" bytes left out ...]\n");
  const std::string tail = e.substr(after + 21);
  EXPECT_EQ((m - 1) % 3, 0u);  // "x" then whole euros
  EXPECT_EQ(tail.size() % 3, 0u);
  EXPECT_EQ(std::stoull(e.substr(m + 6, after - m - 6)), euro.size() - m - tail.size());
}

// A stream trimmed as it comes ends as the whole text trimmed at once, however it was cut up.
TEST(TrimOutputTest, OutputTailEqualsTrimOutputOfEverything) {
  std::string all;
  for (int i = 0; all.size() < 20000; ++i) all += "line " + std::to_string(i) + " é€\n";
  for (size_t chunk : {1u, 7u, 100u, 1000u, 4096u, 5000u, 30000u}) {
    for (size_t length : {10u, 1024u, 3000u, 4096u, 4097u, 5000u, 20000u}) {
      const std::string text = all.substr(0, length);
      OutputTail t;
      for (size_t at = 0; at < text.size(); at += chunk) t.Append(text.substr(at, chunk));
      EXPECT_EQ(t.Text(), TrimOutput(text)) << "chunk " << chunk << ", length " << length;
    }
  }
  OutputTail empty;
  EXPECT_EQ(empty.Text(), "");
}

}  // namespace
}  // namespace lifeboat
