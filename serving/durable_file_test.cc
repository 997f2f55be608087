#include "serving/durable_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "serving/whole_file.h"

namespace microledger {
namespace {

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(base ? base : "/tmp") + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(DurableFileTest, AtomicWriteReplacesWithMode0600AndLeavesNoTemporary) {
  const std::string path = TempDir("atomic") + "/record.json";
  const mode_t old_umask = ::umask(0);
  ASSERT_TRUE(WriteFileAtomic(path, "one", /*sync=*/true).ok());
  ::umask(old_umask);
  EXPECT_EQ(ModeOf(path), 0600u);
  ASSERT_TRUE(WriteFileAtomic(path, "two", /*sync=*/false).ok());
  EXPECT_EQ(*ReadWholeFile(path), "two");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

// Writers of one path that are not serialised each succeed, and the file is
// always one of their payloads whole (each write has a temporary of its own).
TEST(DurableFileTest, ConcurrentAtomicWritesNeverMix) {
  const std::string path = TempDir("concurrent") + "/record.json";
  constexpr int kThreads = 6, kWrites = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string payload(4096 + t, static_cast<char>('a' + t));
      for (int i = 0; i < kWrites; ++i) {
        if (!WriteFileAtomic(path, payload, /*sync=*/false).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const std::string text = *ReadWholeFile(path);
  ASSERT_GE(text.size(), 4096u);
  EXPECT_EQ(text, std::string(text.size(), text[0]));
  EXPECT_EQ(text.size(), 4096u + static_cast<size_t>(text[0] - 'a'));
}

TEST(DurableFileTest, AtomicWriteIntoAMissingDirectoryFailsAndLeavesNothing) {
  const std::string path = TempDir("atomic_missing") + "/no/such/dir/record.json";
  EXPECT_FALSE(WriteFileAtomic(path, "x", true).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(DurableFileTest, NewFileIsCreatedOnceWithMode0600) {
  const std::string dir = TempDir("new");
  const std::string path = dir + "/secret";
  const mode_t old_umask = ::umask(0);
  ASSERT_TRUE(WriteNewFile(path, std::string("k\0y", 3)).ok());
  ::umask(old_umask);
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(*ReadWholeFile(path), std::string("k\0y", 3));
  absl::Status again = WriteNewFile(path, "other");
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(*ReadWholeFile(path), std::string("k\0y", 3));  // Never overwritten.
  // Not through a symbolic link either.
  const std::string link = dir + "/link";
  ASSERT_EQ(::symlink((dir + "/target").c_str(), link.c_str()), 0);
  EXPECT_FALSE(WriteNewFile(link, "x").ok());
  EXPECT_FALSE(std::filesystem::exists(dir + "/target"));
}

TEST(DurableFileTest, AppendOnlyFileAppendsWholeRecords) {
  const std::string path = TempDir("append") + "/log";
  {
    auto file = AppendOnlyFile::Open(path);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->Append("one\n").ok());
    ASSERT_TRUE((*file)->Append("two\n").ok());
    ASSERT_TRUE((*file)->Sync().ok());
  }
  EXPECT_EQ(ModeOf(path), 0600u);
  auto reopened = AppendOnlyFile::Open(path);
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)->Append("three\n").ok());
  EXPECT_EQ(*ReadWholeFile(path), "one\ntwo\nthree\n");
  // A device that is full: the append fails and says so.
  auto full = AppendOnlyFile::Open("/dev/full");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_FALSE((*full)->Append("record\n").ok());
}

TEST(DurableFileTest, FirstLineDropsTheLineEnd) {
  EXPECT_EQ(FirstLine("token\r\nmore"), "token");
  EXPECT_EQ(FirstLine("token"), "token");
  EXPECT_EQ(FirstLine("\nx"), "");
  const std::string path = TempDir("first_line") + "/token";
  ASSERT_TRUE(WriteNewFile(path, "s3cret\nrest\n").ok());
  EXPECT_EQ(*ReadFirstLine(path), "s3cret");
  EXPECT_FALSE(ReadFirstLine(path + ".none").ok());
}

}  // namespace
}  // namespace microledger
