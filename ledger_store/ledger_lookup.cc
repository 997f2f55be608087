#include "ledger_store/ledger_lookup.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "ledger_store/storage_layout.h"

namespace microledger {

absl::StatusOr<std::string> LedgerKeyFromId(absl::string_view ledger_id) {
  absl::StatusOr<std::string> text = PublicKeyTextFromLedgerId(ledger_id);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger id: \"", QuoteForError(ledger_id), "\" is not a ledger id"));
  }
  absl::StatusOr<std::string> raw = DecodePublicKeyText(*text);
  if (!raw.ok() || raw->size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger id: \"", QuoteForError(ledger_id), "\" is not a ledger id"));
  }
  return raw;
}

absl::Status UnknownLedger(absl::string_view ledger_id) {
  return absl::NotFoundError(
      absl::StrCat("ledger: ", QuoteForError(ledger_id), " is unknown to this host"));
}

absl::Status ForgottenLedger(absl::string_view ledger_id) {
  return absl::NotFoundError(absl::StrCat(
      "ledger: ", QuoteForError(ledger_id),
      " was forgotten (its data is deleted and its id retired)"));
}

absl::StatusOr<bool> HasTombstone(const KvStore& store, absl::string_view ledger_key) {
  absl::StatusOr<std::string> bytes = store.Get(TombstoneKey(ledger_key));
  if (absl::IsNotFound(bytes.status())) return false;
  if (!bytes.ok()) return bytes.status();
  return true;
}

absl::Status MissingLedger(const KvStore& store, absl::string_view ledger_key,
                           absl::string_view ledger_id) {
  absl::StatusOr<bool> forgotten = HasTombstone(store, ledger_key);
  if (!forgotten.ok()) return forgotten.status();
  return *forgotten ? ForgottenLedger(ledger_id) : UnknownLedger(ledger_id);
}

absl::StatusOr<CommittedView> ViewCommitted(const KvStore& store, const LedgerCache& cache,
                                            absl::string_view ledger_id) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  CommittedView view;
  view.ledger_key = *std::move(key);
  view.entry = cache.Find(ledger_id);
  if (view.entry != nullptr) {
    LedgerEntry& entry = *view.entry;
    absl::MutexLock lock(&entry.commit_mu);
    view.forget_count = entry.forget_count;
    view.latest = entry.latest_checkpoint;
    if (entry.committed_known) {
      if (entry.committed_forgotten) return ForgottenLedger(ledger_id);
      if (!entry.committed_exists) return UnknownLedger(ledger_id);
      view.head = entry.committed_head;
      return view;
    }
  }
  absl::StatusOr<std::string> bytes = store.Get(HeadKey(view.ledger_key));
  if (absl::IsNotFound(bytes.status())) {
    return MissingLedger(store, view.ledger_key, ledger_id);
  }
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<HeadRecord> head = DecodeHeadRecord(*bytes);
  if (!head.ok()) return head.status();
  view.head = head->state.head_number;
  return view;
}

}  // namespace microledger
