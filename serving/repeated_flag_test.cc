#include "serving/repeated_flag.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace microledger {
namespace {

std::vector<std::string> Values(std::vector<std::string> args, const char* name) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return RepeatedFlagValues(static_cast<int>(argv.size()), argv.data(), name);
}

TEST(RepeatedFlagTest, EveryOccurrenceEveryFormInOrder) {
  EXPECT_EQ(Values({"prog", "--follow=a@h:1", "--other=x", "-follow", "b", "--follow",
                    "c,d", "-follow=e"},
                   "follow"),
            (std::vector<std::string>{"a@h:1", "b", "c", "d", "e"}));
}

TEST(RepeatedFlagTest, OtherFlagsWithTheSamePrefixAndArgumentsAfterTheEndAreNotValues) {
  EXPECT_EQ(Values({"prog", "--follower=x", "--follow_mode=y", "--follow=a", "--",
                    "--follow=b"},
                   "follow"),
            (std::vector<std::string>{"a"}));
  EXPECT_TRUE(Values({"prog", "--follow"}, "follow").empty());
}

}  // namespace
}  // namespace microledger
