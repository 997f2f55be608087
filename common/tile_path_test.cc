#include "common/tile_path.h"

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(TilePathTest, EncodesIndexInGroupsOfThree) {
  EXPECT_EQ(EncodeTileIndex(0), "000");
  EXPECT_EQ(EncodeTileIndex(7), "007");
  EXPECT_EQ(EncodeTileIndex(999), "999");
  EXPECT_EQ(EncodeTileIndex(1000), "x001/000");
  EXPECT_EQ(EncodeTileIndex(1234067), "x001/x234/067");
  EXPECT_EQ(EncodeTileIndex(UINT64_MAX), "x018/x446/x744/x073/x709/x551/615");
}

TEST(TilePathTest, PathsOfTheSpecExamples) {
  EXPECT_EQ(TilePath(0, {1234067, 256}), "tile/0/x001/x234/067");
  EXPECT_EQ(TilePath(1, {0, 17}), "tile/1/000.p/17");
  EXPECT_EQ(BlockBundlePath({273, 112}), "blocks/273.p/112");
  EXPECT_EQ(BlockBundlePath({3, 256}), "blocks/003");
}

TEST(TilePathTest, ParsesWhatItEncodes) {
  for (uint64_t index : {uint64_t{0}, uint64_t{5}, uint64_t{1000}, uint64_t{1234067},
                         UINT64_MAX}) {
    for (int width : {1, 17, 255, 256}) {
      const TileIndex tile{index, width};
      std::string path = BlockBundlePath(tile).substr(7);
      std::optional<TileIndex> parsed = ParseTileIndex(path);
      ASSERT_TRUE(parsed.has_value()) << path;
      EXPECT_EQ(parsed->index, index);
      EXPECT_EQ(parsed->width, width);
    }
  }
}

TEST(TilePathTest, RefusesEveryOtherForm) {
  for (const char* bad :
       {"", "5", "05", "0005", "x000/005", "x001", "001/002", "y001/002", "x01/002",
        "00a", "005.p/0", "005.p/256", "005.p/017", "005.p/", "005.p", "005.p/1/2",
        "x018/x446/x744/x073/x709/x551/616", "x001/x018/x446/x744/x073/x709/x551/615",
        "-01", "+01", " 01", "005/"}) {
    EXPECT_FALSE(ParseTileIndex(bad).has_value()) << bad;
  }
}

TEST(TilePathTest, ParsesLevels) {
  EXPECT_EQ(ParseTileLevel("0"), 0);
  EXPECT_EQ(ParseTileLevel("63"), 63);
  for (const char* bad : {"", "64", "01", "-1", "a", "1.0"}) {
    EXPECT_FALSE(ParseTileLevel(bad).has_value()) << bad;
  }
}

// The tlog-tiles example: a tree of 70,000 leaves has 273 full level-0
// tiles, a partial one of 112, one full level-1 tile, a partial one of 17
// and a level-2 tile of width 1.
TEST(TilePathTest, TreeHoldsTheTilesOfTheSpecExample) {
  const uint64_t size = 70000;
  EXPECT_TRUE(TreeHoldsTile(size, 0, {272, 256}));
  EXPECT_FALSE(TreeHoldsTile(size, 0, {273, 256}));
  EXPECT_TRUE(TreeHoldsTile(size, 0, {273, 112}));
  EXPECT_FALSE(TreeHoldsTile(size, 0, {273, 113}));
  EXPECT_TRUE(TreeHoldsTile(size, 1, {0, 256}));
  EXPECT_TRUE(TreeHoldsTile(size, 1, {1, 17}));
  EXPECT_FALSE(TreeHoldsTile(size, 1, {1, 18}));
  EXPECT_TRUE(TreeHoldsTile(size, 2, {0, 1}));
  EXPECT_FALSE(TreeHoldsTile(size, 2, {0, 2}));
  EXPECT_FALSE(TreeHoldsTile(size, 3, {0, 1}));
  EXPECT_TRUE(TreeHoldsTile(UINT64_MAX, 7, {0, 255}));
  EXPECT_FALSE(TreeHoldsTile(UINT64_MAX, 7, {0, 256}));
  EXPECT_FALSE(TreeHoldsTile(UINT64_MAX, 7, {UINT64_MAX, 255}));
  EXPECT_FALSE(TreeHoldsTile(UINT64_MAX, 8, {0, 1}));
  EXPECT_FALSE(TreeHoldsTile(UINT64_MAX, 63, {0, 1}));
}

}  // namespace
}  // namespace microledger
