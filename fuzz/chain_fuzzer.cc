// libFuzzer target: the chain rules (common/chain_validator.h) on blocks that
// are really signed. Blocks whose fingerprints and signatures are fuzzed bytes
// almost never verify, so block_fuzzer rarely gets past the signature checks;
// here the fuzzer writes the *content* of each block and this target builds
// and signs it with fixed keys (one host key, four owner keys), so every rule
// after the signatures is reached: events in their place, authority and
// thresholds, ownership transfers, terminal events, seals, times.
//
// Input: lines of `C K EVENT`: byte C chooses the owners that sign (bits 0-3),
// whether the block carries controllers (bit 4), their threshold - 1 (bits
// 5-6) and a seal (bit 7); byte K chooses the controller keys (bits 0-3) and
// how many seconds the clock advances (bits 4-7); EVENT is JSON text for the
// event, in which the strings "@0".."@3" stand for the owner key texts, "@L"
// for the ledger id and "@F" for the head block's fingerprint.
//
// Properties, for every block: the host's rules (CheckNextBlock with the
// host's limits) accept only blocks that the offline rules accept; a block
// the rules accept serialises to bytes that ParseBlock accepts and that check
// the same way; LedgerVerifier::AddBlock agrees with CheckNextBlock. At the
// end, the bundle of the accepted blocks and a checkpoint of them verifies
// with VerifyBundle, serially and with worker threads.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/block.h"
#include "common/block_builder.h"
#include "common/bundle.h"
#include "common/chain_validator.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/ledger_verifier.h"
#include "common/merkle.h"
#include "fuzz/fuzz_check.h"

namespace microledger {
namespace {

constexpr size_t kMaxLines = 12;
constexpr int kOwnerCount = 4;
// 2026-11-22T10:04:05.123Z, the time of the first block.
constexpr int64_t kStartMillis = 1795341845123;

SigningKey KeyFromByte(uint8_t byte) {
  std::vector<uint8_t> seed(kEd25519SeedSize, byte);
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(seed);
  FUZZ_CHECK(key.ok(), "a fixed seed makes a key");
  return *std::move(key);
}

struct Keys {
  SigningKey host = KeyFromByte(0x48);
  std::vector<SigningKey> owners;
  std::string ledger_id;

  Keys() {
    for (int i = 0; i < kOwnerCount; ++i) owners.push_back(KeyFromByte(0x30 + i));
    ledger_id = LedgerIdFromPublicKeyText(host.public_key_text());
  }
};

const Keys& FixedKeys() {
  static const Keys* keys = new Keys();
  return *keys;
}

// Replaces the placeholder strings of the header comment, anywhere in `value`.
void ReplacePlaceholders(Json& value, const ChainState& state) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() == 2 && text[0] == '@') {
      const char which = text[1];
      if (which >= '0' && which < '0' + kOwnerCount) {
        value = FixedKeys().owners[which - '0'].public_key_text();
      } else if (which == 'L') {
        value = state.ledger;
      } else if (which == 'F') {
        value = state.head_fingerprint;
      }
    }
    return;
  }
  if (value.is_object() || value.is_array()) {
    for (Json& element : value) ReplacePlaceholders(element, state);
  }
}

std::vector<std::string> KeysOf(uint8_t mask) {
  std::vector<std::string> keys;
  for (int i = 0; i < kOwnerCount; ++i) {
    if (mask & (1 << i)) keys.push_back(FixedKeys().owners[i].public_key_text());
  }
  return keys;
}

struct Chain {
  ChainState state = ChainState::Empty(FixedKeys().ledger_id);
  LedgerVerifier verifier{FixedKeys().ledger_id};
  MemoryMerkleTree tree;
  std::vector<Block> blocks;
  int64_t clock_millis = kStartMillis;
};

void CheckOneBlock(absl::string_view line, Chain& chain) {
  if (line.size() < 2) return;
  const uint8_t control = static_cast<uint8_t>(line[0]);
  const uint8_t keys_and_clock = static_cast<uint8_t>(line[1]);
  absl::StatusOr<Json> event = ParseJson(line.substr(2));
  if (!event.ok() || !event->is_object()) return;
  ReplacePlaceholders(*event, chain.state);
  // DraftNextBlock's precondition: an object with a string member "event".
  const auto name = event->find("event");
  if (name == event->end() || !name->is_string()) return;

  chain.clock_millis += int64_t{1000} * (keys_and_clock >> 4);
  BlockContent content;
  content.event = *std::move(event);
  content.time_millis = chain.clock_millis;
  if (control & 0x10) {
    Controllers controllers;
    controllers.keys = KeysOf(keys_and_clock & 0x0f);
    controllers.threshold = 1 + ((control >> 5) & 0x3);
    content.controllers = std::move(controllers);
  }
  if (control & 0x80) content.seals = std::vector<std::string>{DigestText(line)};
  Block block = DraftNextBlock(chain.state, std::move(content));
  std::vector<const SigningKey*> signers;
  for (int i = 0; i < kOwnerCount; ++i) {
    if (control & (1 << i)) signers.push_back(&FixedKeys().owners[i]);
  }
  SignAsOwners(block, signers);
  SignAsHost(block, FixedKeys().host);

  const absl::Status offline =
      CheckNextBlock(chain.state, block, SignatureStage::kComplete, BlockRuleOptions{});
  const absl::Status host = CheckNextBlock(chain.state, block, SignatureStage::kComplete,
                                           BlockRuleOptions::HostDefaults(block.time_millis));
  FUZZ_CHECK(!host.ok() || offline.ok(), "the host accepts only what a verifier accepts");

  LedgerVerifier before = chain.verifier;
  const absl::Status verified = chain.verifier.AddBlock(block);
  FUZZ_CHECK(verified.ok() == offline.ok(), "LedgerVerifier::AddBlock == CheckNextBlock");
  if (!offline.ok()) {
    chain.verifier = std::move(before);  // Keep the verifier usable for later blocks.
    return;
  }

  const std::string bytes = SerializeBlock(block);
  const absl::StatusOr<Block> parsed = ParseBlock(bytes, SignatureStage::kComplete);
  FUZZ_CHECK(parsed.ok(), "an accepted block's bytes parse");
  FUZZ_CHECK(SerializeBlock(*parsed) == bytes, "an accepted block re-serialises the same");
  FUZZ_CHECK(CheckNextBlock(chain.state, *parsed, SignatureStage::kComplete,
                            BlockRuleOptions{})
                 .ok(),
             "the parsed block is accepted too");

  absl::StatusOr<std::string> leaf = DecodeDigest(block.fingerprint);
  FUZZ_CHECK(leaf.ok(), "a fingerprint decodes");
  chain.tree.AppendLeaf(*leaf);
  chain.state = AdvanceChain(std::move(chain.state), block);
  chain.blocks.push_back(std::move(block));
}

// The accepted chain as a bundle verifies, whatever the number of workers.
void CheckBundle(const Chain& chain) {
  std::ostringstream bundle;
  BundleWriter writer(bundle);
  FUZZ_CHECK(writer.WriteHeader(FixedKeys().ledger_id).ok(), "header written");
  for (const Block& block : chain.blocks) {
    FUZZ_CHECK(writer.WriteBlock(block).ok(), "block written");
  }
  if (!chain.blocks.empty()) {
    Checkpoint checkpoint{FixedKeys().ledger_id, chain.tree.size(), chain.tree.Root()};
    FUZZ_CHECK(writer.WriteCheckpoint(SignCheckpoint(checkpoint, FixedKeys().host)).ok(),
               "checkpoint written");
  }
  for (int workers : {1, 3}) {
    std::istringstream in(bundle.str());
    BundleVerifyOptions options;
    options.workers = workers;
    options.window_lines = 8;
    const absl::StatusOr<BundleVerdict> verdict = VerifyBundle(in, nullptr, options);
    FUZZ_CHECK(verdict.ok() && verdict->ok, "the bundle of accepted blocks verifies");
    FUZZ_CHECK(verdict->blocks == chain.blocks.size(), "every block is counted");
  }
}

}  // namespace
}  // namespace microledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  microledger::Chain chain;
  size_t lines = 0;
  for (absl::string_view line : absl::StrSplit(input, '\n')) {
    if (++lines > microledger::kMaxLines) break;
    microledger::CheckOneBlock(line, chain);
  }
  microledger::CheckBundle(chain);
  return 0;
}
