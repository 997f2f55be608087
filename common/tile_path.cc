#include "common/tile_path.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace microledger {
namespace {

// A decimal without sign or leading zeros, at most `max`.
std::optional<uint64_t> ParseDecimal(absl::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::string EncodeTileIndex(uint64_t index) {
  std::vector<uint64_t> groups;
  do {
    groups.push_back(index % 1000);
    index /= 1000;
  } while (index > 0);
  std::string path;
  for (size_t i = groups.size(); i-- > 0;) {
    if (i > 0) {
      absl::StrAppendFormat(&path, "x%03d/", groups[i]);
    } else {
      absl::StrAppendFormat(&path, "%03d", groups[i]);
    }
  }
  return path;
}

std::optional<TileIndex> ParseTileIndex(absl::string_view text) {
  TileIndex tile;
  const size_t partial = text.find(".p/");
  if (partial != absl::string_view::npos) {
    std::optional<uint64_t> width =
        ParseDecimal(text.substr(partial + 3), kTileWidth - 1);
    if (!width.has_value() || *width == 0) return std::nullopt;
    tile.width = static_cast<int>(*width);
    text = text.substr(0, partial);
  }
  const std::vector<absl::string_view> groups = absl::StrSplit(text, '/');
  if (groups.size() > 7) return std::nullopt;  // 2^64 has 20 digits.
  unsigned __int128 index = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    absl::string_view group = groups[i];
    const bool last = i + 1 == groups.size();
    if (!last) {
      if (group.empty() || group[0] != 'x') return std::nullopt;
      group.remove_prefix(1);
    }
    if (group.size() != 3) return std::nullopt;
    for (const char c : group) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    index = index * 1000 + static_cast<unsigned>((group[0] - '0') * 100 +
                                                 (group[1] - '0') * 10 + (group[2] - '0'));
  }
  if (index > UINT64_MAX) return std::nullopt;
  tile.index = static_cast<uint64_t>(index);
  // Canonical: no group of leading zeros ("x000/005" is "005").
  if (EncodeTileIndex(tile.index) != text) return std::nullopt;
  return tile;
}

std::optional<int> ParseTileLevel(absl::string_view text) {
  std::optional<uint64_t> level = ParseDecimal(text, kMaxTileLevel);
  if (!level.has_value()) return std::nullopt;
  return static_cast<int>(*level);
}

std::string TilePath(int level, const TileIndex& tile) {
  return absl::StrCat("tile/", level, "/", EncodeTileIndex(tile.index),
                      tile.partial() ? absl::StrCat(".p/", tile.width) : "");
}

std::string BlockBundlePath(const TileIndex& bundle) {
  return absl::StrCat("blocks/", EncodeTileIndex(bundle.index),
                      bundle.partial() ? absl::StrCat(".p/", bundle.width) : "");
}

bool TreeHoldsTile(uint64_t tree_size, int level, const TileIndex& tile) {
  if (level < 0 || level * kTileHeight >= 64) return false;
  const unsigned __int128 hashes =
      static_cast<unsigned __int128>(tile.index) * kTileWidth + tile.width;
  const unsigned __int128 leaves = hashes << (level * kTileHeight);
  return (leaves >> (level * kTileHeight)) == hashes && leaves <= tree_size;
}

}  // namespace microledger
