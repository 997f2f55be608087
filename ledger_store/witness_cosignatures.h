// The host's store of witness cosignatures (SPEC §12) on its ledgers'
// checkpoints, in the storage_layout.h witness table: per ledger and witness
// the newest cosignature line (verified before it is recorded), and per
// ledger the newest *witnessed* checkpoint, the newest tree size on which a
// quorum of the configured witnesses had their newest line at once, with
// those lines. LedgerReader::GetWitnessedCheckpoint reads the latter.
//
// The quorum is judged when a line is recorded, against the witnesses and
// quorum this store was made with; a witnessed record made under an earlier
// configuration stays until a newer checkpoint is witnessed. Cosignatures are
// ledger data: forgetting a ledger deletes them (LedgerKeyRanges). A line
// recorded while its ledger is being forgotten may outlive the forget; it is
// never read (reads need the ledger's head).
//
// Writes are not on the append path (the witness submitter records lines
// after a witness answered). Thread-safe: Record is serialized by one mutex
// (a read-modify-write of a ledger's records); reads take no lock.
#ifndef MICROLEDGER_LEDGER_STORE_WITNESS_COSIGNATURES_H_
#define MICROLEDGER_LEDGER_STORE_WITNESS_COSIGNATURES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/cosignature.h"
#include "ledger_store/kv_store.h"

namespace microledger {

class WitnessCosignatures {
 public:
  // `store` must outlive this. 1 <= quorum <= witnesses.size() (the flags
  // are checked where they are parsed).
  WitnessCosignatures(KvStore* store, std::vector<WitnessKey> witnesses, size_t quorum)
      : store_(store), witnesses_(std::move(witnesses)), quorum_(quorum) {}

  // The tree size of the newest line recorded for witness `witness` (an index
  // into the witnesses) on the ledger of `ledger_key`; nullopt if none.
  absl::StatusOr<std::optional<uint64_t>> CosignedSize(absl::string_view ledger_key,
                                                       size_t witness) const;

  // Records `line`, witness `witness`'s verified cosignature on the ledger's
  // checkpoint of `tree_size`, as its newest; and when a quorum of the
  // witnesses' newest lines are on `tree_size` and it is newer than the
  // ledger's witnessed checkpoint, makes it the witnessed one. One write.
  // Returns whether the checkpoint became the witnessed one.
  absl::StatusOr<bool> Record(absl::string_view ledger_key, size_t witness,
                              uint64_t tree_size, const std::string& line);

  const std::vector<WitnessKey>& witnesses() const { return witnesses_; }
  size_t quorum() const { return quorum_; }

 private:
  KvStore* const store_;
  const std::vector<WitnessKey> witnesses_;
  const size_t quorum_;
  absl::Mutex record_mu_;
};

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_WITNESS_COSIGNATURES_H_
