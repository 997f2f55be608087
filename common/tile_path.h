// Resource paths of C2SP tlog-tiles (https://c2sp.org/tlog-tiles), as the
// HTTP read API serves a ledger: Merkle tiles "tile/<L>/<N>[.p/<W>]" and
// block bundles "blocks/<N>[.p/<W>]" (aligned like tlog-tiles entry bundles:
// bundle N holds leaves N*256 .. N*256+255, i.e. blocks N*256+1 .. N*256+256).
//
// <N> is written in zero-padded groups of three digits, every group but the
// last prefixed with 'x' ("x001/x234/067" for 1234067); <L> is 0..63 and <W>
// 1..255, both decimal without leading zeros. Only these canonical forms
// parse: every tile has exactly one path.
//
// Thread-safe: pure functions.
#ifndef MICROLEDGER_COMMON_TILE_PATH_H_
#define MICROLEDGER_COMMON_TILE_PATH_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace microledger {

// Hashes in a full tile, and entries in a full bundle.
inline constexpr int kTileWidth = 256;
inline constexpr int kTileHeight = 8;  // Tree levels per tile level.
inline constexpr int kMaxTileLevel = 63;

struct TileIndex {
  uint64_t index = 0;
  int width = kTileWidth;  // 1..255 for a partial tile, kTileWidth for a full one.

  bool partial() const { return width < kTileWidth; }
};

// "x001/x234/067" for 1234067; "000" for 0.
std::string EncodeTileIndex(uint64_t index);

// "<N>" or "<N>.p/<W>" (as after "tile/<L>/" or "blocks/"); nullopt unless
// canonical.
std::optional<TileIndex> ParseTileIndex(absl::string_view text);

// "<L>" (0..63, no leading zeros); nullopt otherwise.
std::optional<int> ParseTileLevel(absl::string_view text);

// "tile/<L>/<N>[.p/<W>]" and "blocks/<N>[.p/<W>]".
std::string TilePath(int level, const TileIndex& tile);
std::string BlockBundlePath(const TileIndex& bundle);

// Whether a tree of `tree_size` leaves holds tile `tile` of `level`: its
// last hash, of height level*8, covers leaves below tree_size.
bool TreeHoldsTile(uint64_t tree_size, int level, const TileIndex& tile);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_TILE_PATH_H_
