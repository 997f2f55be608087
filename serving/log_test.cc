#include "serving/log.h"

#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace microledger {
namespace {

TEST(LogTest, TextLineKeepsTheProgramPrefixAndMarksWarningsAndDebug) {
  EXPECT_EQ(FormatTextLine("ml-host", LogLevel::kInfo, "listening", {}), "ml-host: listening");
  EXPECT_EQ(FormatTextLine("ml-host", LogLevel::kError, "cannot open", {}),
            "ml-host: cannot open");
  EXPECT_EQ(FormatTextLine("ml-owner", LogLevel::kWarning, "record damaged", {}),
            "ml-owner: warning: record damaged");
  EXPECT_EQ(FormatTextLine("ml-mirror", LogLevel::kDebug, "call failed",
                           {{"method", "/a.B/C"}, {"count", 3}, {"detail", "two words"}}),
            "ml-mirror: debug: call failed method=/a.B/C count=3 detail=\"two words\"");
}

TEST(LogTest, JsonLineHasTheFixedKeysAndTypedFields) {
  const std::string line = FormatJsonLine(
      "2024-01-02T03:04:05.678Z", "ml-host", LogLevel::kWarning, "commit_failed",
      "a \"quoted\"\nmessage", {{"appends", int64_t{12}}, {"sync", true}, {"path", "/x y"}});
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["ts"], "2024-01-02T03:04:05.678Z");
  EXPECT_EQ(parsed["level"], "warning");
  EXPECT_EQ(parsed["program"], "ml-host");
  EXPECT_EQ(parsed["event"], "commit_failed");
  EXPECT_EQ(parsed["msg"], "a \"quoted\"\nmessage");
  EXPECT_EQ(parsed["appends"], 12);
  EXPECT_EQ(parsed["sync"], true);
  EXPECT_EQ(parsed["path"], "/x y");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, TextLineEscapesControlCharactersSoOneEventIsOneLine) {
  const std::string line =
      FormatTextLine("ml-host", LogLevel::kDebug, "call\r\nfailed",
                     {{"method", "/a.B/C\rml-host: forged"}, {"code", "a\x01" "b"}});
  EXPECT_EQ(line.find_first_of("\r\n\x01"), std::string::npos) << line;
  EXPECT_EQ(line,
            "ml-host: debug: call\\x0d\\x0afailed method=\"/a.B/C\\rml-host: forged\" "
            "code=\"a\\u0001b\"");
}

TEST(LogTest, InvalidUtf8StillMakesValidJson) {
  const std::string line = FormatJsonLine("t", "p", LogLevel::kError, "e",
                                          std::string("bad \xff\xfe bytes"), {});
  EXPECT_NO_THROW(nlohmann::json::parse(line)) << line;
}

TEST(LogTest, LevelFilter) {
  InitLog("test", LogFormat::kText, LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  EXPECT_EQ(LogProgram(), "test");
  InitLog("test", LogFormat::kJson, LogLevel::kDebug);
  EXPECT_TRUE(LogEnabled(LogLevel::kDebug));
  EXPECT_EQ(CurrentLogFormat(), LogFormat::kJson);
}

}  // namespace
}  // namespace microledger
