// MerkleFrontier serialisation: the versioned layout, the unversioned form it
// still reads, and every way a damaged record is refused.
#include "common/merkle.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/numeric/bits.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"


namespace microledger {
namespace {

MerkleFrontier FrontierOfThreeLeaves() {
  MerkleFrontier frontier;
  frontier.Append(HashMerkleLeaf("a"));
  frontier.Append(HashMerkleLeaf("b"));
  frontier.Append(HashMerkleLeaf("c"));
  return frontier;
}

// Version 0: the unversioned form (size, then hashes) of the same frontier.
std::string UnversionedBytes(const MerkleFrontier& frontier) {
  return frontier.Serialize().substr(1);
}

TEST(MerkleTest, FrontierSerializationLayout) {
  const MerkleFrontier frontier = FrontierOfThreeLeaves();
  const MerkleHash node = HashMerkleChildren(HashMerkleLeaf("a"), HashMerkleLeaf("b"));
  const MerkleHash leaf_2 = HashMerkleLeaf("c");
  const std::string expected =
      std::string("\1\0\0\0\0\0\0\0\3", 9) +
      std::string(node.begin(), node.end()) +
      std::string(leaf_2.begin(), leaf_2.end());
  EXPECT_EQ(frontier.Serialize(), expected);
}

TEST(MerkleTest, FrontierDeserializeReadsTheUnversionedForm) {
  const MerkleFrontier frontier = FrontierOfThreeLeaves();
  absl::StatusOr<MerkleFrontier> old = MerkleFrontier::Deserialize(UnversionedBytes(frontier));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->size(), 3u);
  EXPECT_EQ(old->Root(), frontier.Root());
  EXPECT_EQ(old->Serialize(), frontier.Serialize());
  absl::StatusOr<MerkleFrontier> empty = MerkleFrontier::Deserialize(std::string(8, '\0'));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->size(), 0u);
}

void ExpectFrontierRejected(absl::string_view bytes, absl::string_view why) {
  EXPECT_EQ(MerkleFrontier::Deserialize(bytes).status().code(),
            absl::StatusCode::kInvalidArgument)
      << why;
}

TEST(MerkleTest, FrontierDeserializeRejectsAnEmptyInput) {
  ExpectFrontierRejected("", "no version byte");
}

TEST(MerkleTest, FrontierDeserializeRejectsATruncatedSize) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();
  ExpectFrontierRejected(bytes.substr(0, 1), "version only");
  ExpectFrontierRejected(bytes.substr(0, 8), "size short by one byte");
  ExpectFrontierRejected(UnversionedBytes(FrontierOfThreeLeaves()).substr(0, 7),
                         "unversioned size short by one byte");
}

TEST(MerkleTest, FrontierDeserializeRejectsTruncatedHashes) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();  // two hashes
  ASSERT_EQ(bytes.size(), 1u + 8u + 64u);
  ExpectFrontierRejected(bytes.substr(0, 9), "no hash");
  ExpectFrontierRejected(bytes.substr(0, 9 + 31), "first hash short");
  ExpectFrontierRejected(bytes.substr(0, 9 + 32), "second hash missing");
  ExpectFrontierRejected(bytes.substr(0, bytes.size() - 1), "second hash short");
  ExpectFrontierRejected(UnversionedBytes(FrontierOfThreeLeaves()).substr(0, 8 + 32),
                         "unversioned, second hash missing");
}

TEST(MerkleTest, FrontierDeserializeRejectsEveryTruncation) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();
  for (size_t length = 0; length < bytes.size(); ++length) {
    ExpectFrontierRejected(bytes.substr(0, length), absl::StrCat("length ", length));
  }
}

TEST(MerkleTest, FrontierDeserializeRejectsTrailingBytes) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();
  ExpectFrontierRejected(bytes + "x", "one byte more");
  ExpectFrontierRejected(bytes + std::string(32, 'x'), "one hash more");
}

TEST(MerkleTest, FrontierDeserializeRejectsASizeThatDoesNotMatchTheHashes) {
  std::string bytes = FrontierOfThreeLeaves().Serialize();
  bytes[8] = 4;  // size 4 needs one hash, not two
  ExpectFrontierRejected(bytes, "size 4 with two hashes");
}

TEST(MerkleTest, FrontierDeserializeRejectsUnknownVersions) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();
  for (int version : {2, 0x7f, 0xff}) {
    std::string other = bytes;
    other[0] = static_cast<char>(version);
    ExpectFrontierRejected(other, absl::StrCat("version ", version));
  }
  ExpectFrontierRejected(std::string(8, '\xff'), "version 0xff, all ones");
}

}  // namespace
}  // namespace microledger
