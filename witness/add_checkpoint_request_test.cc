#include "witness/add_checkpoint_request.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

// A proof line: canonical standard base64 of 32 bytes.
std::string ProofLine(char fill) { return EncodeBase64Std(std::string(32, fill)) + "\n"; }

constexpr char kNote[] = "jlinx:uXYZ\n3\nroot\n\n\xE2\x80\x94 jlinx:uXYZ sig\n";

TEST(AddCheckpointRequestTest, ParsesOldSizeProofAndNote) {
  const std::string body =
      absl::StrCat("old 20852014\n", ProofLine('a'), ProofLine('b'), "\n", kNote);
  absl::StatusOr<AddCheckpointRequest> request = ParseAddCheckpointBody(body);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->old_size, 20852014u);
  ASSERT_EQ(request->proof.size(), 2u);
  EXPECT_EQ(request->proof[1][31], 'b');
  EXPECT_EQ(request->note, kNote);
  EXPECT_EQ(AddCheckpointBody(*request), body);
}

TEST(AddCheckpointRequestTest, OldZeroWithoutProof) {
  absl::StatusOr<AddCheckpointRequest> request =
      ParseAddCheckpointBody(absl::StrCat("old 0\n\n", kNote));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->old_size, 0u);
  EXPECT_TRUE(request->proof.empty());
}

TEST(AddCheckpointRequestTest, LargestOldSize) {
  absl::StatusOr<AddCheckpointRequest> request =
      ParseAddCheckpointBody(absl::StrCat("old 18446744073709551615\n\n", kNote));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->old_size, 18446744073709551615u);
}

TEST(AddCheckpointRequestTest, SixtyThreeProofLinesButNotSixtyFour) {
  std::string lines;
  for (int i = 0; i < 63; ++i) lines += ProofLine('p');
  EXPECT_TRUE(ParseAddCheckpointBody(absl::StrCat("old 9\n", lines, "\n", kNote)).ok());
  EXPECT_FALSE(
      ParseAddCheckpointBody(absl::StrCat("old 9\n", lines, ProofLine('q'), "\n", kNote)).ok());
}

TEST(AddCheckpointRequestTest, RejectsEveryMalformedBody) {
  const std::string proof = ProofLine('a');
  std::string non_canonical = proof;
  non_canonical[42] = 'F';  // "...YWE=" -> "...YWF=": unused trailing bits set.
  const std::string cases[] = {
      "",
      "old 5",                                          // no newline at all
      absl::StrCat("old 05\n\n", kNote),                // leading zero
      absl::StrCat("old 00\n\n", kNote),
      absl::StrCat("old -1\n\n", kNote),
      absl::StrCat("old +1\n\n", kNote),
      absl::StrCat("old \n\n", kNote),
      absl::StrCat("old  5\n\n", kNote),                // two spaces
      absl::StrCat("old 5 \n\n", kNote),
      absl::StrCat("Old 5\n\n", kNote),
      absl::StrCat("old 5\r\n\r\n", kNote),             // CRLF
      absl::StrCat("old 18446744073709551616\n\n", kNote),  // 2^64
      absl::StrCat("old 5\n", proof),                   // no empty line
      absl::StrCat("old 5\n", proof.substr(0, 10), "\n\n", kNote),  // short hash
      absl::StrCat("old 5\n", EncodeBase64Std(std::string(33, 'x')), "\n\n", kNote),
      absl::StrCat("old 5\n", non_canonical, "\n", kNote),
      absl::StrCat("old 5\n", EncodeBase64Url(std::string(32, '\xff')), "\n\n", kNote),
      absl::StrCat("old 5\n\n", kNote, "\xff"),         // not UTF-8
      absl::StrCat("old 5\n\xc3\n\n", kNote),
  };
  for (const std::string& body : cases) {
    absl::StatusOr<AddCheckpointRequest> request = ParseAddCheckpointBody(body);
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument) << body;
  }
}

}  // namespace
}  // namespace microledger
