#include "ledger_store/proof_reader.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ledger_store/storage_layout.h"

namespace microledger {

absl::Status ProofReader::ReadProofInputs(absl::string_view ledger_id,
                                         const CommittedView& view,
                                         absl::Span<const MerkleNodeId> ids,
                                         absl::Span<const uint64_t> checkpoint_sizes,
                                         MerkleNodeSet& nodes,
                                         std::vector<std::string>& checkpoints) const {
  std::vector<MerkleNodeId> unique_ids;
  unique_ids.reserve(ids.size());
  for (const MerkleNodeId& id : ids) {
    if (std::find(unique_ids.begin(), unique_ids.end(), id) == unique_ids.end()) {
      unique_ids.push_back(id);
    }
  }
  const std::vector<MerkleNodeId> missing =
      node_cache_->Lookup(view.ledger_key, unique_ids, nodes);
  std::vector<std::string> keys;
  keys.reserve(missing.size() + checkpoint_sizes.size());
  for (const MerkleNodeId& id : missing) {
    keys.push_back(NodeKey(view.ledger_key, id.level, id.index));
  }
  for (uint64_t size : checkpoint_sizes) {
    keys.push_back(CheckpointKey(view.ledger_key, size));
  }
  std::vector<absl::StatusOr<std::string>> values;
  if (!keys.empty()) values = store_->MultiGet(keys);
  for (const absl::StatusOr<std::string>& value : values) {
    if (absl::IsNotFound(value.status())) return MissingLedger(*store_, view.ledger_key, ledger_id);
    if (!value.ok()) return value.status();
  }
  std::vector<std::pair<MerkleNodeId, MerkleHash>> read;
  read.reserve(missing.size());
  for (size_t i = 0; i < missing.size(); ++i) {
    const std::string& bytes = *values[i];
    if (bytes.size() != sizeof(MerkleHash)) {
      return absl::DataLossError("storage: corrupt merkle node");
    }
    MerkleHash hash;
    std::copy(bytes.begin(), bytes.end(), hash.begin());
    nodes.Add(missing[i], hash);
    read.emplace_back(missing[i], hash);
  }
  // A forget bumps the forget count and erases the ledger's cached nodes
  // under commit_mu: nodes read before a forget are never cached after it.
  if (view.entry != nullptr && !read.empty()) {
    LedgerEntry& entry = *view.entry;
    absl::MutexLock lock(&entry.commit_mu);
    if (entry.forget_count == view.forget_count) {
      node_cache_->Insert(view.ledger_key, read);
    }
  }
  checkpoints.clear();
  for (size_t i = missing.size(); i < values.size(); ++i) {
    checkpoints.push_back(*std::move(values[i]));
  }
  return absl::OkStatus();
}

void ProofReader::RememberCheckpoint(
    const CommittedView& view, std::shared_ptr<const ServedCheckpoint> checkpoint) const {
  if (view.entry == nullptr || checkpoint->tree_size != view.head) return;
  LedgerEntry& entry = *view.entry;
  absl::MutexLock lock(&entry.commit_mu);
  if (entry.forget_count != view.forget_count ||
      (entry.latest_checkpoint != nullptr &&
       entry.latest_checkpoint->tree_size >= checkpoint->tree_size)) {
    return;
  }
  entry.latest_checkpoint = std::move(checkpoint);
}

absl::StatusOr<InclusionProofResult> ProofReader::GetInclusionProof(
    absl::string_view ledger_id, uint64_t number, uint64_t tree_size) const {
  if (number == 0 || (tree_size != 0 && number > tree_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inclusion proof: block ", number, " is not in the tree of size ", tree_size));
  }
  absl::StatusOr<CommittedView> view = ViewCommitted(*store_, *cache_, ledger_id);
  if (!view.ok()) return view.status();
  const uint64_t size = tree_size == 0 ? view->head : tree_size;
  if (size > view->head || number > size) {
    return absl::OutOfRangeError(absl::StrCat(
        "inclusion proof: block ", number, " in the tree of size ", size,
        " is past the head (block ", view->head, ")"));
  }
  // The root and checkpoint of the latest tree are usually kept by the entry.
  const bool latest_kept = view->latest != nullptr && view->latest->tree_size == size;
  std::vector<MerkleNodeId> ids = MerkleInclusionProofNodeIds(number - 1, size);
  std::vector<uint64_t> checkpoint_sizes;
  if (!latest_kept) {
    const std::vector<MerkleNodeId> root_ids = MerkleRootNodeIds(size);
    ids.insert(ids.end(), root_ids.begin(), root_ids.end());
    checkpoint_sizes.push_back(size);
  }
  MerkleNodeSet nodes;
  std::vector<std::string> checkpoints;
  if (absl::Status s =
          ReadProofInputs(ledger_id, *view, ids, checkpoint_sizes, nodes, checkpoints);
      !s.ok()) {
    return s;
  }
  InclusionProofResult result;
  result.leaf_index = number - 1;
  result.tree_size = size;
  absl::StatusOr<std::vector<MerkleHash>> proof =
      MerkleInclusionProof(nodes, number - 1, size);
  if (!proof.ok()) return proof.status();
  result.hashes = *std::move(proof);
  if (latest_kept) {
    result.root = view->latest->root;
    result.checkpoint = view->latest->note;
    return result;
  }
  absl::StatusOr<MerkleHash> root = MerkleRootAt(nodes, size);
  if (!root.ok()) return root.status();
  result.root = *root;
  result.checkpoint = checkpoints[0];
  RememberCheckpoint(*view, std::make_shared<const ServedCheckpoint>(
                                ServedCheckpoint{size, std::move(checkpoints[0]), *root}));
  return result;
}

absl::StatusOr<ConsistencyProofResult> ProofReader::GetConsistencyProof(
    absl::string_view ledger_id, uint64_t old_size, uint64_t new_size) const {
  if (old_size == 0 || (new_size != 0 && old_size > new_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consistency proof: needs 1 <= old size (", old_size, ") <= new size (",
        new_size, ")"));
  }
  absl::StatusOr<CommittedView> view = ViewCommitted(*store_, *cache_, ledger_id);
  if (!view.ok()) return view.status();
  const uint64_t size = new_size == 0 ? view->head : new_size;
  if (size > view->head || old_size > size) {
    return absl::OutOfRangeError(absl::StrCat(
        "consistency proof: tree sizes ", old_size, " and ", size,
        " must not pass the head (block ", view->head, ")"));
  }
  const bool latest_kept = view->latest != nullptr && view->latest->tree_size == size;
  std::vector<uint64_t> checkpoint_sizes = {old_size};
  if (!latest_kept) checkpoint_sizes.push_back(size);
  MerkleNodeSet nodes;
  std::vector<std::string> checkpoints;
  if (absl::Status s = ReadProofInputs(ledger_id, *view,
                                       MerkleConsistencyProofNodeIds(old_size, size),
                                       checkpoint_sizes, nodes, checkpoints);
      !s.ok()) {
    return s;
  }
  ConsistencyProofResult result;
  result.old_size = old_size;
  result.new_size = size;
  absl::StatusOr<std::vector<MerkleHash>> proof =
      MerkleConsistencyProof(nodes, old_size, size);
  if (!proof.ok()) return proof.status();
  result.hashes = *std::move(proof);
  result.old_checkpoint = std::move(checkpoints[0]);
  result.new_checkpoint = latest_kept ? view->latest->note : std::move(checkpoints[1]);
  return result;
}

}  // namespace microledger
