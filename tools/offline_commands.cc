#include "tools/offline_commands.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/block_builder.h"
#include "common/bundle.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/merkle.h"
#include "common/timestamp.h"
#include "serving/durable_file.h"

namespace microledger {
namespace {

MerkleHash LeafHashOf(const std::string& fingerprint) {
  return HashMerkleLeaf(*DecodeDigest(fingerprint));
}

}  // namespace

int RunCanonicalize(std::istream& in, std::ostream& out, std::ostream& err) {
  const std::string text((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  if (in.bad()) {
    err << "canonicalize: cannot read standard input\n";
    return kExitUsageOrInput;
  }
  absl::StatusOr<std::string> canonical =
      Canonicalize(text);
  if (!canonical.ok()) {
    err << "canonicalize: " << canonical.status().message() << "\n";
    return kExitUsageOrInput;
  }
  out << *canonical;
  return kExitOk;
}

int RunKeygen(const std::string& secret_path, std::ostream& out, std::ostream& err) {
  if (secret_path.empty()) {
    err << "keygen: --secret_out=FILE is required\n";
    return kExitUsageOrInput;
  }
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  if (!key.ok()) {
    err << "keygen: " << key.status().message() << "\n";
    return kExitUsageOrInput;
  }
  const absl::Span<const uint8_t> seed = key->seed();
  std::string line = EncodeMultibase(
      absl::string_view(reinterpret_cast<const char*>(seed.data()), seed.size()));
  line.push_back('\n');
  absl::Status written = WriteNewFile(secret_path, line);
  sodium_memzero(line.data(), line.size());
  if (!written.ok()) {
    err << "keygen: " << written.message() << "\n";
    return kExitUsageOrInput;
  }
  out << key->public_key_text() << "\n";
  return kExitOk;
}

int RunVerify(const std::string& bundle_path, bool show_progress, std::ostream& out,
              std::ostream& err, size_t max_line_bytes,
              std::shared_ptr<const WitnessPolicy> witness_policy) {
  std::ifstream file(bundle_path, std::ios::binary);
  if (!file.is_open()) {
    err << "verify: cannot open " << bundle_path << ": " << std::strerror(errno)
        << "\n";
    return kExitUsageOrInput;
  }
  BundleProgressFn progress;
  if (show_progress) {
    progress = [&err](uint64_t blocks) {
      err << "\rverify: " << blocks << " blocks checked" << std::flush;
    };
  }
  BundleVerifyOptions options;
  options.max_line_bytes = max_line_bytes;
  options.witness_policy = std::move(witness_policy);
  options.witness_time = absl::Now();
  absl::StatusOr<BundleVerdict> verdict = VerifyBundle(file, progress, options);
  if (show_progress) err << "\r\033[K" << std::flush;
  if (!verdict.ok()) {
    err << "verify: cannot read " << bundle_path << ": "
        << verdict.status().message() << "\n";
    return kExitUsageOrInput;
  }
  out << verdict->Line() << "\n";
  return verdict->ok ? kExitOk : kExitVerifyFailed;
}

int RunSample(uint64_t blocks, const std::string& out_path, std::ostream& out,
              std::ostream& err) {
  if (out_path.empty()) {
    err << "sample: --out=FILE is required\n";
    return kExitUsageOrInput;
  }
  std::ofstream file(out_path, std::ios::binary | std::ios::trunc);
  if (!file.is_open()) {
    err << "sample: cannot create " << out_path << ": " << std::strerror(errno)
        << "\n";
    return kExitUsageOrInput;
  }
  absl::StatusOr<SigningKey> host = SigningKey::Generate();
  absl::StatusOr<SigningKey> owner = SigningKey::Generate();
  if (!host.ok() || !owner.ok()) {
    err << "sample: cannot generate keys\n";
    return kExitUsageOrInput;
  }
  const std::string ledger_id = LedgerIdFromPublicKeyText(host->public_key_text());
  const std::string attachment = "sample attachment: the seal in block 2 anchors it";
  const std::string seal = DigestText(attachment);
  const SigningKey* owners[] = {&*owner};

  BundleWriter writer(file);
  absl::Status written = writer.WriteHeader(ledger_id);
  ChainState state = ChainState::Empty(ledger_id);
  MerkleFrontier tree;
  const int64_t start_millis = NowMillis();
  for (uint64_t number = 1; number <= blocks && written.ok(); ++number) {
    BlockContent content;
    content.time_millis = start_millis + static_cast<int64_t>(number);
    if (number == 1) {
      content.event = {{"event", "opened document"},
                       {"document type", "sample"},
                       {"cryptographic signing key", owner->public_key_text()}};
      content.controllers = Controllers{1, {owner->public_key_text()}};
    } else {
      content.event = {{"event", "sample event"},
                       {"n", static_cast<double>(number)}};
      if (number == 2) content.seals = std::vector<std::string>{seal};
    }
    Block block = DraftNextBlock(state, std::move(content));
    SignAsOwners(block, owners);
    SignAsHost(block, *host);
    written = writer.WriteBlock(block);
    tree.Append(LeafHashOf(block.fingerprint));
    state = AdvanceChain(state, block);
  }
  if (written.ok() && blocks > 0) {
    written =
        writer.WriteCheckpoint(SignCheckpoint({ledger_id, tree.size(), tree.Root()}, *host));
  }
  if (written.ok() && blocks >= 2) {
    written = writer.WriteAttachment(seal, "sample.txt", attachment);
  }
  file.flush();
  if (!written.ok() || !file.good()) {
    err << "sample: cannot write " << out_path << "\n";
    return kExitUsageOrInput;
  }
  out << "wrote " << blocks << " blocks of " << ledger_id << " to " << out_path
      << "\n";
  err << "sample: both the owner and the host key were generated in this process;"
         " this is NOT the two-machine mode (use ml-host and ml-owner for that)\n";
  return kExitOk;
}

}  // namespace microledger
