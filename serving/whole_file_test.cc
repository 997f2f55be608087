#include "serving/whole_file.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

TEST(ReadWholeFileTest, ReturnsEveryByteIncludingNulAndNewlines) {
  const std::string path = TempPath("bytes");
  const std::string bytes("line one\n\0binary\r\n", 18);
  std::ofstream(path, std::ios::binary) << bytes;
  absl::StatusOr<std::string> read = ReadWholeFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
}

TEST(ReadWholeFileTest, EmptyFileIsEmptyString) {
  const std::string path = TempPath("empty");
  std::ofstream(path, std::ios::binary).flush();
  absl::StatusOr<std::string> read = ReadWholeFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "");
}

TEST(ReadWholeFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = TempPath("no-such-file");
  absl::StatusOr<std::string> read = ReadWholeFile(path);
  ASSERT_TRUE(absl::IsNotFound(read.status()));
  EXPECT_THAT(std::string(read.status().message()), testing::HasSubstr(path));
}

}  // namespace
}  // namespace microledger
