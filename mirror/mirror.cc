#include "mirror/mirror.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/chain_validator.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/timestamp.h"
#include "ledger_store/ledger_lookup.h"
#include "ledger_store/storage_layout.h"
#include "mirror/upstream_resolver.h"
#include "mirror/verification.h"
#include "serving/log.h"

namespace microledger {
namespace {

std::string SpansText(const std::vector<BlockSpan>& spans) {
  if (spans.empty()) return "none";
  return absl::StrJoin(spans, ", ", [](std::string* out, const BlockSpan& span) {
    absl::StrAppend(out, span.first == span.last ? absl::StrCat(span.first)
                                                 : absl::StrCat(span.first, "-", span.last));
  });
}

absl::Status NotHeld(absl::string_view what, const std::vector<BlockSpan>& held) {
  return absl::FailedPreconditionError(absl::StrCat(
      "mirror: ", what, " is not held here; this mirror holds blocks ", SpansText(held)));
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("upstream ", what, ": ",
                                   QuoteForError(status.error_message())));
}

std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout);
}

}  // namespace

Mirror::Mirror(std::unique_ptr<KvStore> store, MirrorOptions options)
    : options_(std::move(options)),
      store_(std::move(store), options_.max_cached_ledgers, options_.max_cached_merkle_nodes),
      evidence_(&store_.kv()) {}

Mirror::~Mirror() { StopFollowers(); }

size_t Mirror::followed_ledgers() const {
  absl::MutexLock lock(&mu_);
  return followers_.size();
}

void Mirror::StopFollowers() {
  std::vector<std::unique_ptr<LedgerFollower>> followers;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [id, follower] : followers_) followers.push_back(std::move(follower));
    followers_.clear();
  }
  for (auto& follower : followers) follower->Stop();
  followers.clear();
  if (sweeper_.joinable()) sweeper_.join();
}

int64_t Mirror::Now() const { return options_.clock ? options_.clock() : NowMillis(); }

absl::Mutex& Mirror::RecordMutex(absl::string_view ledger_id) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<absl::Mutex>& mu = record_mus_[ledger_id];
  if (mu == nullptr) mu = std::make_unique<absl::Mutex>();
  return *mu;
}

absl::Status Mirror::Start() {
  absl::StatusOr<std::vector<MirrorRecord>> records = store_.Records();
  if (!records.ok()) return records.status();
  for (const MirrorRecord& record : *records) {
    if (!record.following) continue;
    absl::StatusOr<std::string> frozen = EvidenceIdOf(record.ledger_id);
    if (!frozen.ok()) return frozen.status();
    if (!frozen->empty()) continue;
    RecordMutex(record.ledger_id);
    absl::MutexLock lock(&mu_);
    StartFollower(record).reset();  // Nothing to replace at start.
  }
  if (options_.announcer != nullptr) {
    // Every ledger held is announced, followed or not (it is served).
    for (const MirrorRecord& record : *records) options_.announcer->Touch(record.ledger_id);
  }
  if (options_.retain_idle > absl::ZeroDuration()) {
    sweeper_ = std::thread([this] { SweepLoop(); });
  }
  return absl::OkStatus();
}

std::unique_ptr<LedgerFollower> Mirror::StartFollower(const MirrorRecord& record) {
  absl::Mutex* record_mu = record_mus_[record.ledger_id].get();
  const std::string upstream = record.upstream;
  std::unique_ptr<LedgerFollower>& slot = followers_[record.ledger_id];
  std::unique_ptr<LedgerFollower> replaced = std::move(slot);
  slot = std::make_unique<LedgerFollower>(
      &store_, record_mu, record, options_.follower,
      [this, upstream](const std::string& evidence) { OnFollowerEvidence(upstream, evidence); });
  return replaced;
}

absl::Mutex& Mirror::AdminMutex(absl::string_view ledger_id) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<absl::Mutex>& mu = admin_mus_[ledger_id];
  if (mu == nullptr) mu = std::make_unique<absl::Mutex>();
  return *mu;
}

std::unique_ptr<LedgerFollower> Mirror::TakeFollower(absl::string_view ledger_id) {
  absl::MutexLock lock(&mu_);
  auto it = followers_.find(ledger_id);
  if (it == followers_.end()) return nullptr;
  std::unique_ptr<LedgerFollower> follower = std::move(it->second);
  followers_.erase(it);
  return follower;
}

absl::StatusOr<std::string> Mirror::EvidenceIdOf(absl::string_view ledger_id) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  return FirstEvidenceId(store_.reader().store(), *key);
}

absl::StatusOr<MirroredLedgerView> Mirror::Follow(absl::string_view ledger_id,
                                                  absl::string_view upstream,
                                                  MirrorMode mode) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  if (upstream == kDhtUpstream && options_.follower.dht == nullptr) {
    return absl::FailedPreconditionError(
        "follow: upstream \"dht\" needs a DHT (ml-mirror --dht_proxy)");
  }
  if (upstream != kDhtUpstream &&
      (upstream.empty() || upstream.find(':') == absl::string_view::npos)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "follow: upstream must be HOST:PORT, unix:PATH or dht, not \"",
        QuoteForError(upstream),
        "\""));
  }
  absl::StatusOr<std::string> frozen = EvidenceIdOf(ledger_id);
  if (!frozen.ok()) return frozen.status();
  if (!frozen->empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "follow: the ledger is frozen by equivocation evidence ", *frozen));
  }
  absl::StatusOr<bool> forgotten = HasTombstone(store_.reader().store(), *key);
  if (!forgotten.ok()) return forgotten.status();
  if (*forgotten) {
    // mirror.proto: FAILED_PRECONDITION (reads of it are NOT_FOUND).
    return absl::FailedPreconditionError(
        absl::StrCat("follow: ", ForgottenLedger(ledger_id).message()));
  }
  // One admin change of a ledger at a time (Follow, Unfollow, Forget,
  // ReportEquivocation): followers never take this mutex.
  absl::MutexLock admin_lock(&AdminMutex(ledger_id));
  std::unique_ptr<LedgerFollower> replaced;
  {
    // The old follower is stopped (and joined) before the record mutex is
    // taken: a tail or sparse follower takes that mutex to commit a head,
    // and joining it while holding the mutex would wait for ever.
    auto other_mode = [&](const std::optional<MirrorRecord>& held) -> absl::Status {
      if (!held.has_value() || held->mode == mode) return absl::OkStatus();
      return absl::FailedPreconditionError(absl::StrCat(
          "follow: the ledger is held in ", MirrorModeName(held->mode),
          " mode; unfollow it with drop_data to follow it in ", MirrorModeName(mode),
          " mode"));
    };
    // Refused before the follower running is stopped (checked again below).
    absl::StatusOr<std::optional<MirrorRecord>> before = store_.Record(ledger_id);
    if (!before.ok()) return before.status();
    if (absl::Status s = other_mode(*before); !s.ok()) return s;
    std::unique_ptr<LedgerFollower> old = TakeFollower(ledger_id);
    old.reset();
    absl::MutexLock record_lock(&RecordMutex(ledger_id));
    absl::StatusOr<std::optional<MirrorRecord>> stored = store_.Record(ledger_id);
    if (!stored.ok()) return stored.status();
    if (absl::Status s = other_mode(*stored); !s.ok()) return s;
    MirrorRecord record;
    if (stored->has_value()) {
      record = **stored;
    } else {
      record.ledger_id = std::string(ledger_id);
      record.mode = mode;
    }
    record.upstream = std::string(upstream);
    record.following = true;
    record.last_used_millis = Now();
    if (absl::Status s = store_.PutRecord(record); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("mirror: shutting down");
    // Evidence reported meanwhile: ReportEquivocation keeps it before it
    // takes the follower, so it is either seen here or its follower taken.
    absl::StatusOr<std::string> frozen_now = EvidenceIdOf(ledger_id);
    if (!frozen_now.ok()) return frozen_now.status();
    if (!frozen_now->empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "follow: the ledger is frozen by equivocation evidence ", *frozen_now));
    }
    replaced = StartFollower(record);
  }
  replaced.reset();  // None under the admin mutex; joined without other locks.
  if (options_.announcer != nullptr) options_.announcer->Touch(ledger_id);
  absl::StatusOr<std::vector<MirroredLedgerView>> view = Status(ledger_id);
  if (!view.ok()) return view.status();
  return view->front();
}

absl::Status Mirror::Unfollow(absl::string_view ledger_id, bool drop_data) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  absl::MutexLock admin_lock(&AdminMutex(ledger_id));
  std::unique_ptr<LedgerFollower> follower = TakeFollower(ledger_id);
  follower.reset();
  absl::MutexLock record_lock(&RecordMutex(ledger_id));
  absl::StatusOr<std::optional<MirrorRecord>> stored = store_.Record(ledger_id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return absl::NotFoundError(absl::StrCat("mirror: ledger ", QuoteForError(ledger_id),
                                            " is not followed or held here"));
  }
  if (drop_data) {
    if (options_.announcer != nullptr) options_.announcer->Forget(ledger_id);
    ForgetUse(ledger_id);
    return store_.Delete(ledger_id, std::nullopt);
  }
  MirrorRecord record = **stored;
  record.following = false;
  record.last_used_millis = Now();
  return store_.PutRecord(record);
}

absl::StatusOr<std::vector<MirroredLedgerView>> Mirror::Status(absl::string_view ledger_id) {
  std::vector<MirrorRecord> records;
  if (ledger_id.empty()) {
    absl::StatusOr<std::vector<MirrorRecord>> all = store_.Records();
    if (!all.ok()) return all.status();
    records = *std::move(all);
  } else {
    absl::StatusOr<std::optional<MirrorRecord>> one = store_.Record(ledger_id);
    if (!one.ok()) return one.status();
    if (!one->has_value()) {
      return absl::NotFoundError(absl::StrCat("mirror: ledger ", QuoteForError(ledger_id),
                                              " is not followed or held here"));
    }
    records.push_back(**one);
  }
  std::vector<MirroredLedgerView> views;
  for (MirrorRecord& record : records) {
    MirroredLedgerView view;
    {
      absl::MutexLock lock(&mu_);
      auto it = followers_.find(record.ledger_id);
      if (it != followers_.end()) {
        view.follower = it->second->Status();
      } else {
        view.follower.state = "stopped";
      }
      auto used = last_used_.find(record.ledger_id);
      if (used != last_used_.end()) {
        record.last_used_millis = std::max(record.last_used_millis, used->second);
      }
    }
    absl::StatusOr<HeadRecord> head = store_.Head(record.ledger_id);
    if (head.ok()) {
      view.head = head->state.head_number;
    } else if (!absl::IsNotFound(head.status())) {
      return head.status();
    }
    view.held = HeldSpans(record, view.head);
    absl::StatusOr<std::string> evidence = EvidenceIdOf(record.ledger_id);
    if (!evidence.ok()) return evidence.status();
    view.evidence_id = *evidence;
    if (!view.evidence_id.empty()) view.follower.state = "frozen";
    view.follower.verified_size = std::max(view.follower.verified_size, view.head);
    view.record = std::move(record);
    views.push_back(std::move(view));
  }
  return views;
}

void Mirror::Touch(absl::string_view ledger_id) {
  const int64_t now = Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = last_used_.find(ledger_id);
    if (it != last_used_.end()) {
      it->second = now;
      return;
    }
  }
  // Only ledgers this mirror holds are remembered: a read of any other id
  // (random, or megabytes long) costs no memory.
  absl::StatusOr<std::optional<MirrorRecord>> record = store_.Record(ledger_id);
  if (!record.ok() || !record->has_value()) return;
  absl::MutexLock lock(&mu_);
  last_used_[ledger_id] = now;
}

void Mirror::ForgetUse(absl::string_view ledger_id) {
  absl::MutexLock lock(&mu_);
  last_used_.erase(ledger_id);
}

absl::StatusOr<std::vector<BlockSpan>> Mirror::Held(absl::string_view ledger_id) {
  absl::StatusOr<std::optional<MirrorRecord>> record = store_.Record(ledger_id);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return std::vector<BlockSpan>();
  absl::StatusOr<HeadRecord> head = store_.Head(ledger_id);
  if (absl::IsNotFound(head.status())) return std::vector<BlockSpan>();
  if (!head.ok()) return head.status();
  return HeldSpans(**record, head->state.head_number);
}

bool Mirror::IsSparse(absl::string_view ledger_id) {
  absl::StatusOr<std::optional<MirrorRecord>> record = store_.Record(ledger_id);
  return record.ok() && record->has_value() && (*record)->mode == MirrorMode::kSparse;
}

absl::Status Mirror::EnsureBlocks(absl::string_view ledger_id, uint64_t first,
                                  uint64_t last) {
  absl::StatusOr<std::optional<MirrorRecord>> record = store_.Record(ledger_id);
  if (!record.ok() || !record->has_value()) return absl::OkStatus();
  absl::StatusOr<HeadRecord> head = store_.Head(ledger_id);
  if (!head.ok()) return absl::OkStatus();
  const uint64_t head_number = head->state.head_number;
  if (first == 0 || first > head_number) return absl::OkStatus();
  if (last == 0) last = head_number;
  if (last < first || last > head_number) return absl::OkStatus();
  std::vector<BlockSpan> held = HeldSpans(**record, head_number);
  if (SpansCover(held, first, last)) return absl::OkStatus();
  if ((*record)->mode != MirrorMode::kSparse) {
    return NotHeld(absl::StrCat("blocks ", first, "-", last), held);
  }
  uint64_t missing = 0;
  for (uint64_t number = first; number <= last && missing <= options_.max_fetch_blocks;
       ++number) {
    if (!SpansCover(held, number, number)) ++missing;
  }
  if (missing > options_.max_fetch_blocks) {
    // Bounded work per read: a sparse mirror is not a way to make one
    // reader's call fetch a whole ledger through it.
    return absl::FailedPreconditionError(absl::StrCat(
        "mirror: a sparse mirror fetches at most ", options_.max_fetch_blocks,
        " blocks it lacks per read; ask for a shorter range (held blocks ",
        SpansText(held), ")"));
  }
  return FetchMissing(**record, first, last, head_number);
}

absl::StatusOr<std::unique_ptr<v1::HostService::Stub>> Mirror::Upstream(
    absl::string_view ledger_id, const std::string& upstream) const {
  if (upstream != kDhtUpstream) {
    return v1::HostService::NewStub(
        grpc::CreateChannel(upstream, options_.follower.credentials));
  }
  if (options_.follower.dht == nullptr) {
    return absl::FailedPreconditionError("upstream: \"dht\" needs --dht_proxy");
  }
  absl::StatusOr<std::vector<UpstreamAddress>> addresses = ResolveUpstreams(
      *options_.follower.dht, ledger_id, Now(), options_.follower.own_urls);
  if (!addresses.ok()) return addresses.status();
  const UpstreamAddress& first = addresses->front();
  return v1::HostService::NewStub(grpc::CreateChannel(
      first.target, first.tls ? options_.follower.tls_credentials
                              : grpc::InsecureChannelCredentials()));
}

absl::Status Mirror::FetchMissing(const MirrorRecord& record, uint64_t first, uint64_t last,
                                  uint64_t head) {
  const std::string& ledger = record.ledger_id;
  absl::MutexLock record_lock(&RecordMutex(ledger));
  absl::StatusOr<std::string> note = store_.reader().GetCheckpoint(ledger, head);
  if (!note.ok()) return note.status();
  absl::StatusOr<VerifiedCheckpoint> checkpoint = VerifyCheckpointOf(ledger, *note, head);
  if (!checkpoint.ok()) return checkpoint.status();
  absl::StatusOr<std::unique_ptr<v1::HostService::Stub>> upstream =
      Upstream(ledger, record.upstream);
  if (!upstream.ok()) return upstream.status();
  std::unique_ptr<v1::HostService::Stub> stub = *std::move(upstream);
  for (uint64_t from = first; from <= last;) {
    absl::StatusOr<std::optional<MirrorRecord>> current = store_.Record(ledger);
    if (!current.ok()) return current.status();
    if (!current->has_value()) return absl::NotFoundError("mirror: the ledger was dropped");
    MirrorRecord updated = **current;
    while (from <= last && SpansCover(updated.fetched, from, from)) ++from;
    if (from > last) break;
    uint64_t to = from;
    while (to < last && to - from + 1 < options_.max_fetch_blocks &&
           !SpansCover(updated.fetched, to + 1, to + 1)) {
      ++to;
    }
    v1::GetBlocksRequest blocks_request;
    blocks_request.set_ledger_id(ledger);
    blocks_request.set_from_number(from);
    blocks_request.set_to_number(to);
    blocks_request.set_max_blocks_per_message(64);
    std::vector<std::string> received;
    {
      grpc::ClientContext context;
      context.set_deadline(Deadline(options_.follower.call_timeout));
      std::unique_ptr<grpc::ClientReader<v1::GetBlocksResponse>> reader =
          stub->GetBlocks(&context, blocks_request);
      v1::GetBlocksResponse response;
      while (reader->Read(&response) && received.size() <= to - from) {
        if (!response.block().empty()) received.push_back(response.block());
        for (const std::string& block : response.blocks()) received.push_back(block);
      }
      context.TryCancel();
      grpc::Status status = reader->Finish();
      if (received.size() != to - from + 1) {
        if (!status.ok()) return FromGrpc(status, "GetBlocks");
        return absl::UnavailableError(absl::StrCat("upstream GetBlocks: sent ",
                                                   received.size(), " of ", to - from + 1,
                                                   " blocks"));
      }
    }
    std::vector<HeldBlock> blocks;
    std::vector<std::pair<MerkleNodeId, MerkleHash>> nodes;
    std::vector<VerifiedAttachment> attachments;
    for (uint64_t number = from; number <= to; ++number) {
      v1::GetInclusionProofRequest proof_request;
      proof_request.set_ledger_id(ledger);
      proof_request.set_number(number);
      proof_request.set_tree_size(head);
      v1::GetInclusionProofResponse proof;
      grpc::ClientContext context;
      context.set_deadline(Deadline(options_.follower.call_timeout));
      grpc::Status status = stub->GetInclusionProof(&context, proof_request, &proof);
      if (!status.ok()) return FromGrpc(status, "GetInclusionProof");
      absl::StatusOr<std::vector<MerkleHash>> path = MerkleHashesFromBytes(proof.hashes());
      if (!path.ok()) return path.status();
      const std::string& bytes = received[number - from];
      absl::StatusOr<Block> block =
          VerifyIncludedBlock(ledger, number, bytes, *path, *checkpoint);
      if (!block.ok()) return block.status();
      absl::StatusOr<MerkleHash> leaf = BlockLeafHash(*block);
      if (!leaf.ok()) return leaf.status();
      for (auto& node : ProofNodes(number - 1, head, *leaf, *path)) {
        nodes.push_back(std::move(node));
      }
      if (block->seals.has_value()) {
        for (const std::string& seal : *block->seals) {
          v1::GetAttachmentRequest attachment_request;
          attachment_request.set_ledger_id(ledger);
          attachment_request.set_seal(seal);
          v1::GetAttachmentResponse attachment;
          grpc::ClientContext attachment_context;
          attachment_context.set_deadline(Deadline(options_.follower.call_timeout));
          grpc::Status got =
              stub->GetAttachment(&attachment_context, attachment_request, &attachment);
          if (got.error_code() == grpc::StatusCode::NOT_FOUND) continue;
          if (!got.ok()) return FromGrpc(got, "GetAttachment");
          if (DigestText(attachment.data()) != seal) {
            return absl::InvalidArgumentError(absl::StrCat(
                "block ", number, ": attachment: the upstream's data for seal ", seal,
                " does not have that digest"));
          }
          absl::StatusOr<std::string> multihash = DecodeDigest(seal);
          if (!multihash.ok()) return multihash.status();
          attachments.push_back({*multihash, attachment.name(), attachment.data()});
        }
      }
      blocks.push_back({number, bytes});
    }
    AddSpan(updated.fetched, {from, to});
    if (absl::Status s = store_.StoreFetched(ledger, blocks, nodes, attachments, updated);
        !s.ok()) {
      return s;
    }
    from = to + 1;
  }
  return absl::OkStatus();
}

absl::Status Mirror::CheckProvable(absl::string_view ledger_id, uint64_t leaf_number,
                                   uint64_t size) {
  absl::StatusOr<std::optional<MirrorRecord>> record = store_.Record(ledger_id);
  if (!record.ok() || !record->has_value()) return absl::OkStatus();
  const MirrorRecord& held = **record;
  if (held.mode == MirrorMode::kSparse) {
    // Checkpoints of the sizes it verified (every head it held).
    if (size != 0 && !HasCheckpoint(ledger_id, size)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "mirror: this sparse mirror holds checkpoints of the heads it verified; it has "
          "none of tree size ",
          size, " (held blocks ", SpansText(held.fetched), ")"));
    }
    return absl::OkStatus();
  }
  if (held.mode != MirrorMode::kTail) return absl::OkStatus();
  const uint64_t start = std::max<uint64_t>(held.tail_start, 1);
  if ((leaf_number != 0 && leaf_number < start) || (size != 0 && size < start)) {
    absl::StatusOr<HeadRecord> head = store_.Head(ledger_id);
    const uint64_t head_number = head.ok() ? head->state.head_number : 0;
    return absl::FailedPreconditionError(absl::StrCat(
        "mirror: this tail mirror proves blocks and tree sizes from ", start,
        " on; it holds blocks ", SpansText(HeldSpans(held, head_number))));
  }
  return absl::OkStatus();
}

bool Mirror::HasCheckpoint(absl::string_view ledger_id, uint64_t size) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  return key.ok() && store_.reader().store().Get(CheckpointKey(*key, size)).ok();
}

absl::StatusOr<InclusionProofResult> Mirror::SparseInclusionProof(absl::string_view ledger_id,
                                                                  uint64_t number,
                                                                  uint64_t tree_size) {
  absl::StatusOr<std::optional<MirrorRecord>> record = store_.Record(ledger_id);
  if (!record.ok()) return record.status();
  absl::StatusOr<HeadRecord> head = store_.Head(ledger_id);
  if (!head.ok()) return store_.reader().GetInclusionProof(ledger_id, number, tree_size);
  const uint64_t size = tree_size == 0 ? head->state.head_number : tree_size;
  if (number == 0 || number > size) {
    return absl::InvalidArgumentError(absl::StrCat("proof: block ", number,
                                                   " is not in a tree of ", size));
  }
  if (size > head->state.head_number) {
    return absl::OutOfRangeError(absl::StrCat("proof: tree size ", size,
                                              " is past the head (block ",
                                              head->state.head_number, ")"));
  }
  if (!HasCheckpoint(ledger_id, size)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "mirror: this sparse mirror proves against the checkpoints it verified; it has "
        "none of tree size ",
        size, " (held blocks ", SpansText((*record)->fetched), ")"));
  }
  if (absl::Status s = EnsureBlocks(ledger_id, number, number); !s.ok()) return s;
  // From the nodes held, when the verified audit paths stored cover it.
  absl::StatusOr<InclusionProofResult> local =
      store_.reader().GetInclusionProof(ledger_id, number, size);
  if (local.ok()) return local;
  absl::StatusOr<std::string> note = store_.reader().GetCheckpoint(ledger_id, size);
  if (!note.ok()) return note.status();
  absl::StatusOr<VerifiedCheckpoint> checkpoint = VerifyCheckpointOf(ledger_id, *note, size);
  if (!checkpoint.ok()) return checkpoint.status();
  absl::StatusOr<LedgerReader::BlockRange> range =
      store_.reader().ResolveBlockRange(ledger_id, number, number);
  if (!range.ok()) return range.status();
  absl::StatusOr<std::vector<std::string>> block =
      store_.reader().ReadBlocks(ledger_id, *range, number, 1);
  if (!block.ok()) return block.status();
  absl::StatusOr<Block> parsed = ParseBlock(block->front(), SignatureStage::kComplete);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<MerkleHash> leaf = BlockLeafHash(*parsed);
  if (!leaf.ok()) return leaf.status();

  absl::StatusOr<std::unique_ptr<v1::HostService::Stub>> upstream =
      Upstream(ledger_id, (*record)->upstream);
  if (!upstream.ok()) return upstream.status();
  std::unique_ptr<v1::HostService::Stub> stub = *std::move(upstream);
  v1::GetInclusionProofRequest request;
  request.set_ledger_id(std::string(ledger_id));
  request.set_number(number);
  request.set_tree_size(size);
  v1::GetInclusionProofResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline(options_.follower.call_timeout));
  grpc::Status status = stub->GetInclusionProof(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, "GetInclusionProof");
  absl::StatusOr<std::vector<MerkleHash>> path = MerkleHashesFromBytes(response.hashes());
  if (!path.ok()) return path.status();
  if (absl::Status s = VerifyMerkleInclusion(*leaf, number - 1, size, *path, checkpoint->root);
      !s.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "upstream GetInclusionProof: the proof does not verify: ", s.message()));
  }
  InclusionProofResult result;
  result.leaf_index = number - 1;
  result.tree_size = size;
  {
    // Kept: the next proof of this leaf needs no upstream.
    absl::MutexLock record_lock(&RecordMutex(ledger_id));
    absl::StatusOr<std::optional<MirrorRecord>> current = store_.Record(ledger_id);
    if (!current.ok()) return current.status();
    if (current->has_value()) {
      if (absl::Status s = store_.StoreFetched(
              ledger_id, {}, ProofNodes(number - 1, size, *leaf, *path), {}, **current);
          !s.ok()) {
        return s;
      }
    }
  }
  result.hashes = *std::move(path);
  result.root = checkpoint->root;
  result.checkpoint = *note;
  return result;
}

absl::StatusOr<ConsistencyProofResult> Mirror::SparseConsistencyProof(
    absl::string_view ledger_id, uint64_t old_size, uint64_t new_size) {
  absl::StatusOr<std::optional<MirrorRecord>> record = store_.Record(ledger_id);
  if (!record.ok()) return record.status();
  absl::StatusOr<HeadRecord> head = store_.Head(ledger_id);
  if (!head.ok()) return store_.reader().GetConsistencyProof(ledger_id, old_size, new_size);
  const uint64_t size = new_size == 0 ? head->state.head_number : new_size;
  if (old_size == 0 || old_size > size) {
    return absl::InvalidArgumentError(absl::StrCat("proof: tree sizes ", old_size, " and ",
                                                   size, " are not in order"));
  }
  if (size > head->state.head_number) {
    return absl::OutOfRangeError(absl::StrCat("proof: tree size ", size,
                                              " is past the head (block ",
                                              head->state.head_number, ")"));
  }
  absl::StatusOr<ConsistencyProofResult> local =
      store_.reader().GetConsistencyProof(ledger_id, old_size, size);
  if (local.ok()) return local;
  std::vector<VerifiedCheckpoint> ends;
  for (uint64_t tree : {old_size, size}) {
    if (!HasCheckpoint(ledger_id, tree)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "mirror: this sparse mirror proves against the checkpoints it verified; it has "
          "none of tree size ",
          tree, " (held blocks ", SpansText((*record)->fetched), ")"));
    }
    absl::StatusOr<std::string> note = store_.reader().GetCheckpoint(ledger_id, tree);
    if (!note.ok()) return note.status();
    absl::StatusOr<VerifiedCheckpoint> checkpoint = VerifyCheckpointOf(ledger_id, *note, tree);
    if (!checkpoint.ok()) return checkpoint.status();
    ends.push_back(*std::move(checkpoint));
  }
  absl::StatusOr<std::unique_ptr<v1::HostService::Stub>> upstream =
      Upstream(ledger_id, (*record)->upstream);
  if (!upstream.ok()) return upstream.status();
  std::unique_ptr<v1::HostService::Stub> stub = *std::move(upstream);
  v1::GetConsistencyProofRequest request;
  request.set_ledger_id(std::string(ledger_id));
  request.set_old_size(old_size);
  request.set_new_size(size);
  v1::GetConsistencyProofResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline(options_.follower.call_timeout));
  grpc::Status status = stub->GetConsistencyProof(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, "GetConsistencyProof");
  absl::StatusOr<std::vector<MerkleHash>> proof = MerkleHashesFromBytes(response.hashes());
  if (!proof.ok()) return proof.status();
  if (absl::Status s =
          VerifyMerkleConsistency(old_size, size, ends[0].root, ends[1].root, *proof);
      !s.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "upstream GetConsistencyProof: the proof does not verify: ", s.message()));
  }
  ConsistencyProofResult result;
  result.old_size = old_size;
  result.new_size = size;
  result.hashes = *std::move(proof);
  result.old_checkpoint = ends[0].note;
  result.new_checkpoint = ends[1].note;
  return result;
}

absl::StatusOr<bool> Mirror::Keep(const EvidenceInfo& info, absl::string_view evidence) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(info.ledger);
  if (!key.ok()) return key.status();
  absl::StatusOr<bool> added = evidence_.Add(*key, evidence);
  if (!added.ok()) return added.status();
  if (*added && options_.announcer != nullptr) {
    // Published beside the ledger's records; a too-large object is kept here only.
    options_.announcer->PutEvidence(info.ledger, evidence).IgnoreError();
  }
  if (*added) {
    const std::string kind(EvidenceKindName(info.kind));
    Log(LogLevel::kError, "equivocation",
        absl::StrCat("EQUIVOCATION evidence ", info.id, " (", kind,
                     "): a ledger key signed two histories; the mirror stops following "
                     "that ledger and keeps serving what it verified"),
        {{"evidence_id", info.id}, {"kind", kind}, {"frozen", true}});
  }
  return added;
}

void Mirror::OnFollowerEvidence(const std::string& upstream, const std::string& evidence) {
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(evidence);
  if (!info.ok()) {
    // Not logged with its reason: the reason may quote the ledger id.
    Log(LogLevel::kError, "evidence_invalid",
        "a follower built evidence that does not validate; not kept (a bug: please report)");
    return;
  }
  if (absl::StatusOr<bool> kept = Keep(*info, evidence); !kept.ok()) {
    Log(LogLevel::kError, "evidence_write_failed",
        absl::StrCat("cannot keep evidence ", info->id, ": ", kept.status().message()),
        {{"evidence_id", info->id}});
  }
  // Best effort: the upstream (a host freezes the ledger; a mirror stops).
  absl::StatusOr<std::unique_ptr<v1::HostService::Stub>> resolved =
      Upstream(info->ledger, upstream);
  if (!resolved.ok()) return;
  std::unique_ptr<v1::HostService::Stub> stub = *std::move(resolved);
  v1::ReportEquivocationRequest request;
  request.set_evidence(evidence);
  v1::ReportEquivocationResponse response;
  // Short: this runs on the follower's thread, which Stop() cannot hurry.
  grpc::ClientContext context;
  context.set_deadline(Deadline(std::min(options_.follower.call_timeout, absl::Seconds(2))));
  stub->ReportEquivocation(&context, request, &response);
}

absl::StatusOr<EvidenceInfo> Mirror::ReportEquivocation(absl::string_view evidence) {
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(evidence);
  if (!info.ok()) return info.status();
  absl::StatusOr<std::string> key = LedgerKeyFromId(info->ledger);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::optional<MirrorRecord>> record = store_.Record(info->ledger);
  if (!record.ok()) return record.status();
  absl::StatusOr<bool> forgotten = HasTombstone(store_.reader().store(), *key);
  if (!forgotten.ok()) return forgotten.status();
  absl::StatusOr<std::string> kept_before = FirstEvidenceId(store_.reader().store(), *key);
  if (!kept_before.ok()) return kept_before.status();
  if (!record->has_value() && !*forgotten && kept_before->empty()) {
    return absl::NotFoundError(absl::StrCat("ledger: ", QuoteForError(info->ledger),
                                            " is unknown to this mirror"));
  }
  if (absl::StatusOr<bool> kept = Keep(*info, evidence); !kept.ok()) return kept.status();
  std::unique_ptr<LedgerFollower> follower = TakeFollower(info->ledger);
  follower.reset();
  return info;
}

absl::Status Mirror::Forget(absl::string_view ledger_id, absl::string_view head_fingerprint,
                            const std::vector<BlockSignature>& signatures) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  for (const BlockSignature& signature : signatures) {
    if (signature.role != kOwnerRole || signature.alg != kEd25519Alg) {
      return absl::InvalidArgumentError(
          "forget: signatures must have role \"owner\" and alg \"Ed25519\"");
    }
  }
  absl::MutexLock admin_lock(&AdminMutex(ledger_id));
  absl::StatusOr<std::optional<MirrorRecord>> record = store_.Record(ledger_id);
  if (!record.ok()) return record.status();
  if (record->has_value() && (*record)->mode != MirrorMode::kFull) {
    // The controllers in force are known from verified blocks only on a
    // full mirror; a tail or sparse one holds the upstream's word for them.
    return absl::FailedPreconditionError(absl::StrCat(
        "forget: this ", MirrorModeName((*record)->mode),
        " mirror cannot check the controllers in force; forget the ledger at its host "
        "or a full mirror (this copy is then dropped by --retain_idle, or with "
        "unfollow --drop_data)"));
  }
  // The follower stops first, so the head cannot move between the check and
  // the delete.
  std::unique_ptr<LedgerFollower> follower = TakeFollower(ledger_id);
  follower.reset();
  absl::MutexLock record_lock(&RecordMutex(ledger_id));
  absl::StatusOr<HeadRecord> head = store_.Head(ledger_id);
  if (absl::IsNotFound(head.status())) {
    return MissingLedger(store_.reader().store(), *key, ledger_id);
  }
  if (!head.ok()) return head.status();
  if (head_fingerprint != head->state.head_fingerprint) {
    // Refused: following goes on where it was.
    if (record->has_value() && (*record)->following) {
      absl::MutexLock lock(&mu_);
      StartFollower(**record).reset();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "forget: the request is signed for head ", QuoteForError(head_fingerprint),
        ", the head held here is block ", head->state.head_number, " ",
        head->state.head_fingerprint));
  }
  const std::string message = ForgetRequestMessage(ledger_id, head_fingerprint);
  if (absl::Status s = CheckOwnerSignatures(head->state.controllers, message, signatures,
                                            absl::StrCat("the forget request at block ",
                                                         head->state.head_number));
      !s.ok()) {
    if (record->has_value() && (*record)->following) {
      absl::MutexLock lock(&mu_);
      StartFollower(**record).reset();
    }
    return absl::Status(s.code(), absl::StrCat("forget: ", s.message()));
  }
  Tombstone tombstone;
  tombstone.forgotten_at_millis = Now();
  tombstone.head_number = head->state.head_number;
  tombstone.head_fingerprint = head->state.head_fingerprint;
  if (options_.announcer != nullptr) options_.announcer->Forget(ledger_id);
  ForgetUse(ledger_id);
  return store_.Delete(ledger_id, tombstone);
}

absl::StatusOr<int> Mirror::DropIdle() {
  if (options_.retain_idle <= absl::ZeroDuration()) return 0;
  absl::StatusOr<std::vector<MirrorRecord>> records = store_.Records();
  if (!records.ok()) return records.status();
  const int64_t cutoff = Now() - absl::ToInt64Milliseconds(options_.retain_idle);
  int dropped = 0;
  for (const MirrorRecord& record : *records) {
    if (record.following) continue;
    int64_t used = record.last_used_millis;
    {
      absl::MutexLock lock(&mu_);
      auto it = last_used_.find(record.ledger_id);
      if (it != last_used_.end()) used = std::max(used, it->second);
    }
    absl::MutexLock record_lock(&RecordMutex(record.ledger_id));
    absl::StatusOr<std::optional<MirrorRecord>> current = store_.Record(record.ledger_id);
    if (!current.ok()) return current.status();
    if (!current->has_value() || (*current)->following) continue;
    if (used > cutoff) {
      // Still in use: the read time is kept in the record, so a restart
      // does not make the ledger look idle.
      if (used > (*current)->last_used_millis) {
        MirrorRecord updated = **current;
        updated.last_used_millis = used;
        if (absl::Status s = store_.PutRecord(updated); !s.ok()) return s;
      }
      continue;
    }
    if (absl::Status s = store_.Delete(record.ledger_id, std::nullopt); !s.ok()) return s;
    if (options_.announcer != nullptr) options_.announcer->Forget(record.ledger_id);
    ForgetUse(record.ledger_id);
    ++dropped;
  }
  return dropped;
}

void Mirror::SweepLoop() {
  absl::Duration period = options_.retention_sweep;
  if (period <= absl::ZeroDuration()) {
    period = std::min(options_.retain_idle / 4, absl::Minutes(1));
  }
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), period);
      if (stopping_) return;
    }
    absl::StatusOr<int> dropped = DropIdle();
    if (!dropped.ok()) {
      Log(LogLevel::kError, "retention_failed",
          absl::StrCat("retention sweep failed: ", dropped.status().message()));
    } else if (*dropped > 0) {
      Log(LogLevel::kInfo, "retention",
          absl::StrCat("dropped ", *dropped, " idle ledger(s) (--retain_idle)"),
          {{"dropped", *dropped}});
    }
  }
}

}  // namespace microledger
