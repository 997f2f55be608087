// Fixed-width big-endian integers and u32-length-prefixed byte strings, the
// building blocks of the on-disk records (the host's head record and
// tombstone, the Merkle frontier) and of the host's storage keys. Big-endian,
// so that encoded integers sort numerically as keys. No I/O.
//
// Writers append to a std::string. FixedReader consumes a string_view from the
// front; every Read* returns false (consuming nothing) when too few bytes are
// left, so a decoder reports a truncated record instead of reading past it.
//
// Thread safety: the functions are pure; a FixedReader is not shared.
#ifndef MICROLEDGER_COMMON_FIXED_CODING_H_
#define MICROLEDGER_COMMON_FIXED_CODING_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace microledger {

// Appends the low `width` bytes (1..8) of `value`, most significant first.
inline void PutFixedBigEndian(std::string& out, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

inline void PutFixed8(std::string& out, uint8_t value) {
  out.push_back(static_cast<char>(value));
}
inline void PutFixed32BE(std::string& out, uint32_t value) {
  PutFixedBigEndian(out, value, 4);
}
inline void PutFixed64BE(std::string& out, uint64_t value) {
  PutFixedBigEndian(out, value, 8);
}

// A u32 length, then the bytes. `bytes` must be shorter than 4 GiB (records
// hold blocks and keys bounded far below that).
inline void PutLengthPrefixed(std::string& out, absl::string_view bytes) {
  PutFixed32BE(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes.data(), bytes.size());
}

class FixedReader {
 public:
  explicit FixedReader(absl::string_view bytes) : bytes_(bytes) {}

  bool ReadFixed8(uint8_t* value) {
    uint64_t v = 0;
    if (!ReadFixedBigEndian(1, &v)) return false;
    *value = static_cast<uint8_t>(v);
    return true;
  }
  bool ReadFixed32BE(uint32_t* value) {
    uint64_t v = 0;
    if (!ReadFixedBigEndian(4, &v)) return false;
    *value = static_cast<uint32_t>(v);
    return true;
  }
  bool ReadFixed64BE(uint64_t* value) { return ReadFixedBigEndian(8, value); }

  // Exactly `size` bytes, as a view into the input.
  bool ReadBytes(size_t size, absl::string_view* out) {
    if (bytes_.size() < size) return false;
    *out = bytes_.substr(0, size);
    bytes_.remove_prefix(size);
    return true;
  }

  // A u32 length and that many bytes (see PutLengthPrefixed).
  bool ReadLengthPrefixed(std::string* out) {
    FixedReader probe = *this;
    uint32_t size = 0;
    absl::string_view view;
    if (!probe.ReadFixed32BE(&size) || !probe.ReadBytes(size, &view)) return false;
    out->assign(view.data(), view.size());
    *this = probe;
    return true;
  }

  size_t remaining() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  bool ReadFixedBigEndian(int width, uint64_t* value) {
    if (bytes_.size() < static_cast<size_t>(width)) return false;
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes_[i]);
    bytes_.remove_prefix(width);
    *value = v;
    return true;
  }

  absl::string_view bytes_;
};

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_FIXED_CODING_H_
