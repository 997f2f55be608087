#include "owner_agent/request_journal.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace microledger {
namespace {

std::string TempPath(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return std::string(base ? base : "/tmp") + "/" + name;
}

TEST(RequestJournalTest, AttemptsSurviveReopen) {
  const std::string path = TempPath("requests.jsonl");
  {
    auto journal = RequestJournal::Open(path, 100);
    ASSERT_TRUE(journal.ok()) << journal.status();
    ASSERT_TRUE((*journal)->Record("L1", "r1", {5, "uF5"}).ok());
    ASSERT_TRUE((*journal)->Record("L1", "r1", {6, "uF6"}).ok());
    ASSERT_TRUE((*journal)->Record("L2", "r1", {2, "uG2"}).ok());
    // No Sync and no destructor flush needed for a killed process: the
    // lines are in the file already.
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("uF6"), std::string::npos);
  }
  const auto inode = [&] {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_ino;
  };
  const ino_t before = inode();
  auto journal = RequestJournal::Open(path, 100);
  ASSERT_TRUE(journal.ok()) << journal.status();
  EXPECT_EQ(inode(), before);  // A clean journal is not rewritten at start.
  auto attempts = (*journal)->Attempts("L1", "r1");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].number, 5u);
  EXPECT_EQ(attempts[1].fingerprint, "uF6");
  ASSERT_EQ((*journal)->Attempts("L2", "r1").size(), 1u);
  EXPECT_TRUE((*journal)->Attempts("L1", "r2").empty());
}

TEST(RequestJournalTest, TornLastLineIsIgnored) {
  const std::string path = TempPath("torn.jsonl");
  std::ofstream(path) << "[\"L\",\"a\",1,\"uF1\"]\n[\"L\",\"b\",2,\"u";
  auto journal = RequestJournal::Open(path, 100);
  ASSERT_TRUE(journal.ok()) << journal.status();
  EXPECT_EQ((*journal)->Attempts("L", "a").size(), 1u);
  EXPECT_TRUE((*journal)->Attempts("L", "b").empty());
  ASSERT_TRUE((*journal)->Record("L", "c", {3, "uF3"}).ok());
  auto reopened = RequestJournal::Open(path, 100);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Attempts("L", "c").size(), 1u);
}

TEST(RequestJournalTest, KeepsTheNewestEntries) {
  const std::string path = TempPath("bounded.jsonl");
  auto journal = RequestJournal::Open(path, 10);
  ASSERT_TRUE(journal.ok());
  for (int i = 0; i < 45; ++i) {
    ASSERT_TRUE((*journal)->Record("L", "r" + std::to_string(i),
                                   {static_cast<uint64_t>(i + 1), "uF"}).ok());
  }
  EXPECT_TRUE((*journal)->Attempts("L", "r34").empty());
  EXPECT_EQ((*journal)->Attempts("L", "r35").size(), 1u);
  EXPECT_EQ((*journal)->Attempts("L", "r44").size(), 1u);
  auto reopened = RequestJournal::Open(path, 10);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->Attempts("L", "r34").empty());
  EXPECT_EQ((*reopened)->Attempts("L", "r40").size(), 1u);
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 10);
}

}  // namespace
}  // namespace microledger

namespace microledger {
namespace {

TEST(RequestJournalFormatTest, LinesCarryTheirVersion) {
  const std::string path = TempPath("versioned.jsonl");
  {
    auto journal = RequestJournal::Open(path, 100);
    ASSERT_TRUE(journal.ok());
    ASSERT_TRUE((*journal)->Record("L", "a", {1, "uF1"}).ok());
  }
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "[1,\"L\",\"a\",1,\"uF1\"]");
}

// Lines written before formats were numbered are version 1.
TEST(RequestJournalFormatTest, LineWithoutVersionIsVersionOne) {
  const std::string path = TempPath("unversioned.jsonl");
  std::ofstream(path) << "[\"L\",\"a\",1,\"uF1\"]\n";
  auto journal = RequestJournal::Open(path, 100);
  ASSERT_TRUE(journal.ok());
  ASSERT_EQ((*journal)->Attempts("L", "a").size(), 1u);
  EXPECT_EQ((*journal)->unreadable_lines(), 0u);
}

// A line cut at any point, or of another version, is skipped and counted;
// the lines around it stand.
TEST(RequestJournalFormatTest, DamagedLinesAreSkipped) {
  const std::string good = "[1,\"L\",\"a\",1,\"uF1\"]\n";
  const std::string line = "[1,\"L\",\"b\",2,\"uF2\"]";
  std::vector<std::string> damaged = {"[2,\"L\",\"b\",2,\"uF2\"]", "[0,\"L\",\"b\",2,\"uF2\"]",
                                      "[\"1\",\"L\",\"b\",2,\"uF2\"]"};
  for (size_t size = 1; size < line.size(); ++size) damaged.push_back(line.substr(0, size));
  for (size_t i = 0; i < damaged.size(); ++i) {
    const std::string path = TempPath("damaged-" + std::to_string(i) + ".jsonl");
    std::ofstream(path) << good << damaged[i] << "\n" << good;
    auto journal = RequestJournal::Open(path, 100);
    ASSERT_TRUE(journal.ok()) << damaged[i];
    EXPECT_EQ((*journal)->Attempts("L", "a").size(), 2u) << damaged[i];
    EXPECT_TRUE((*journal)->Attempts("L", "b").empty()) << damaged[i];
    EXPECT_EQ((*journal)->unreadable_lines(), 1u) << damaged[i];
  }
}

}  // namespace
}  // namespace microledger
