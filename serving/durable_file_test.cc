#include "serving/durable_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

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
