#include "mirror/ledger_follower.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/evidence.h"
#include "common/timestamp.h"
#include "mirror/upstream_resolver.h"
#include "serving/grpc_status.h"

namespace microledger {
namespace {

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("upstream ", what, ": ",
                                   QuoteForError(status.error_message())));
}

bool IsTerminal(const Block& block) {
  return block.event_name() == "closed document" || block.event_name() == "moved document";
}

// The controllers an upstream says are in force (tail and sparse mirrors
// cannot verify them), refused unless they have SPEC §2's form: 1 to 16
// distinct keys and a threshold from 1 to their number.
absl::StatusOr<Controllers> ControllersOf(const v1::Controllers& claimed) {
  Controllers controllers;
  const size_t keys = static_cast<size_t>(claimed.keys_size());
  if (keys == 0 || keys > kMaxControllerKeys || claimed.threshold() == 0 ||
      claimed.threshold() > keys) {
    return absl::InvalidArgumentError(
        "upstream GetLedger: controllers not of the SPEC §2 form");
  }
  controllers.threshold = static_cast<int>(claimed.threshold());
  for (const std::string& key : claimed.keys()) {
    if (std::find(controllers.keys.begin(), controllers.keys.end(), key) !=
        controllers.keys.end()) {
      return absl::InvalidArgumentError("upstream GetLedger: controllers repeat a key");
    }
    controllers.keys.push_back(key);
  }
  return controllers;
}

}  // namespace

std::vector<BlockSpan> HeldSpans(const MirrorRecord& record, uint64_t head) {
  std::vector<BlockSpan> spans;
  if (head == 0) return spans;
  switch (record.mode) {
    case MirrorMode::kFull:
      spans.push_back({1, head});
      break;
    case MirrorMode::kTail:
      AddSpan(spans, {1, 1});
      AddSpan(spans, {std::max<uint64_t>(record.tail_start, 1), head});
      break;
    case MirrorMode::kSparse:
      spans = record.fetched;
      break;
  }
  return spans;
}

LedgerFollower::LedgerFollower(MirrorStore* store, absl::Mutex* record_mu,
                               MirrorRecord record, FollowerOptions options,
                               EvidenceSink sink)
    : store_(store),
      record_mu_(record_mu),
      record_(std::move(record)),
      options_(std::move(options)),
      sink_(std::move(sink)) {
  status_.state = "connecting";
  thread_ = std::thread([this] { Run(); });
}

LedgerFollower::~LedgerFollower() {
  Stop();
  thread_.join();
}

void LedgerFollower::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  for (grpc::ClientContext* call : active_calls_) call->TryCancel();
}

FollowerStatus LedgerFollower::Status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

bool LedgerFollower::SetActiveCall(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (context == nullptr) {
    if (!active_calls_.empty()) active_calls_.pop_back();
    return !stopping_;
  }
  if (stopping_) return false;
  active_calls_.push_back(context);
  return true;
}

void LedgerFollower::RecordError(const absl::Status& status) {
  if (options_.metrics != nullptr) options_.metrics->follow_errors.Increment();
  absl::MutexLock lock(&mu_);
  status_.last_error = std::string(status.message());
  status_.last_error_millis = NowMillis();
}

void LedgerFollower::ClearError() {
  absl::MutexLock lock(&mu_);
  status_.last_error.clear();
  status_.last_error_millis = 0;
}

void LedgerFollower::SetState(const std::string& state) {
  absl::MutexLock lock(&mu_);
  status_.state = state;
}

bool LedgerFollower::SleepUnlessStopped(absl::Duration duration) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), duration);
  return stopping_;
}

std::unique_ptr<grpc::ClientContext> LedgerFollower::NewContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(options_.call_timeout));
  return context;
}

void LedgerFollower::Run() {
  absl::Duration backoff = options_.min_backoff;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    uint64_t before = Status().verified_size;
    absl::StatusOr<Outcome> outcome = absl::UnavailableError("no upstream");
    absl::StatusOr<std::vector<std::unique_ptr<v1::HostService::Stub>>> stubs =
        UpstreamStubs();
    if (!stubs.ok()) outcome = stubs.status();
    for (size_t i = 0; stubs.ok() && i < stubs->size(); ++i) {
      outcome = FollowOnce(*(*stubs)[i]);
      // The next address only when this one could not be reached.
      if (!absl::IsUnavailable(outcome.status()) && !absl::IsDeadlineExceeded(outcome.status())) {
        break;
      }
    }
    if (outcome.ok()) {
      switch (*outcome) {
        case Outcome::kStopped:
          SetState("stopped");
          return;
        case Outcome::kClosed:
          SetState("closed");
          return;
        case Outcome::kFrozen:
          SetState("frozen");
          return;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        status_.state = "stopped";
        return;
      }
      status_.state = "connecting";
    }
    RecordError(outcome.status());
    // Progress since the last failure starts the backoff again.
    if (Status().verified_size > before) backoff = options_.min_backoff;
    if (SleepUnlessStopped(backoff)) {
      SetState("stopped");
      return;
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  SetState("stopped");
}

absl::StatusOr<std::vector<std::unique_ptr<v1::HostService::Stub>>>
LedgerFollower::UpstreamStubs() const {
  std::vector<std::unique_ptr<v1::HostService::Stub>> stubs;
  if (record_.upstream != kDhtUpstream) {
    stubs.push_back(v1::HostService::NewStub(
        grpc::CreateChannel(record_.upstream, options_.credentials)));
    return stubs;
  }
  if (options_.dht == nullptr) {
    return absl::FailedPreconditionError("upstream: \"dht\" needs --dht_proxy");
  }
  absl::StatusOr<std::vector<UpstreamAddress>> addresses =
      ResolveUpstreams(*options_.dht, record_.ledger_id, NowMillis(), options_.own_urls);
  if (!addresses.ok()) return addresses.status();
  for (const UpstreamAddress& address : *addresses) {
    stubs.push_back(v1::HostService::NewStub(grpc::CreateChannel(
        address.target, address.tls ? options_.tls_credentials
                                    : grpc::InsecureChannelCredentials())));
  }
  return stubs;
}

absl::StatusOr<bool> LedgerFollower::AdoptUpstreamFreeze(v1::HostService::Stub& stub) {
  v1::GetLedgerRequest request;
  request.set_ledger_id(record_.ledger_id);
  v1::GetLedgerResponse summary;
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  if (!SetActiveCall(context.get())) return absl::CancelledError("stopping");
  grpc::Status status = stub.GetLedger(context.get(), request, &summary);
  SetActiveCall(nullptr);
  // Not known there yet, or unreachable: following finds out.
  if (!status.ok() || !summary.frozen()) return false;
  v1::GetLedgerEvidenceRequest evidence_request;
  evidence_request.set_ledger_id(record_.ledger_id);
  v1::GetLedgerEvidenceResponse evidence;
  context = NewContext();
  if (!SetActiveCall(context.get())) return absl::CancelledError("stopping");
  status = stub.GetLedgerEvidence(context.get(), evidence_request, &evidence);
  SetActiveCall(nullptr);
  if (!status.ok()) return FromGrpc(status, "GetLedgerEvidence");
  // The upstream's word that the ledger is frozen counts only with evidence
  // that validates (SPEC §11): anyone can check it.
  bool adopted = false;
  for (const std::string& object : evidence.evidence()) {
    absl::StatusOr<EvidenceInfo> info = ValidateEvidence(object);
    if (!info.ok() || info->ledger != record_.ledger_id) continue;
    if (!adopted) SetState("frozen");
    sink_(object);
    adopted = true;
  }
  if (!adopted) {
    return absl::FailedPreconditionError(
        "upstream: says the ledger is frozen but serves no valid evidence of it");
  }
  return true;
}

absl::StatusOr<LedgerFollower::Outcome> LedgerFollower::FollowOnce(
    v1::HostService::Stub& stub) {
  // An upstream that keeps evidence of this ledger: the mirror freezes too.
  absl::StatusOr<bool> frozen = AdoptUpstreamFreeze(stub);
  if (!frozen.ok()) return frozen.status();
  if (*frozen) return Outcome::kFrozen;
  absl::StatusOr<HeadRecord> held = store_->Head(record_.ledger_id);
  if (absl::IsNotFound(held.status())) {
    if (record_.mode == MirrorMode::kFull) {
      HeadRecord empty;
      empty.state = ChainState::Empty(record_.ledger_id);
      return StreamBlocks(stub, std::move(empty));
    }
    if (absl::Status s = StartAtHead(stub); !s.ok()) return s;
    held = store_->Head(record_.ledger_id);
  }
  if (!held.ok()) return held.status();
  {
    absl::MutexLock lock(&mu_);
    status_.verified_size = held->state.head_number;
    status_.upstream_size = std::max(status_.upstream_size, held->state.head_number);
  }
  if (absl::Status s = CheckUpstreamAgrees(stub, held->state.head_number); !s.ok()) {
    if (absl::IsFailedPrecondition(s) && Status().state == "frozen") return Outcome::kFrozen;
    return s;
  }
  if (!held->state.terminal_event.empty() && record_.mode != MirrorMode::kSparse) {
    return Outcome::kClosed;
  }
  if (record_.mode == MirrorMode::kSparse) return PollCheckpoints(stub, *std::move(held));
  return StreamBlocks(stub, *std::move(held));
}

absl::Status LedgerFollower::CheckUpstreamAgrees(v1::HostService::Stub& stub,
                                                 uint64_t held_size) {
  if (held_size == 0) return absl::OkStatus();
  v1::GetCheckpointRequest request;
  request.set_ledger_id(record_.ledger_id);
  request.set_tree_size(held_size);
  v1::GetCheckpointResponse response;
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  if (!SetActiveCall(context.get())) return absl::CancelledError("stopping");
  grpc::Status status = stub.GetCheckpoint(context.get(), request, &response);
  SetActiveCall(nullptr);
  if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
    return absl::FailedPreconditionError(absl::StrCat(
        "upstream: its tree is smaller than the ", held_size,
        " blocks verified here (rolled back, or another copy of the ledger)"));
  }
  if (!status.ok()) return FromGrpc(status, "GetCheckpoint");
  absl::StatusOr<VerifiedCheckpoint> theirs =
      VerifyCheckpointOf(record_.ledger_id, response.checkpoint(), held_size);
  if (!theirs.ok()) return theirs.status();
  absl::StatusOr<std::string> ours =
      store_->reader().GetCheckpoint(record_.ledger_id, held_size);
  if (!ours.ok()) return ours.status();
  absl::StatusOr<VerifiedCheckpoint> ours_verified =
      VerifyCheckpointOf(record_.ledger_id, *ours, held_size);
  if (!ours_verified.ok()) return ours_verified.status();
  if (ours_verified->root == theirs->root) return absl::OkStatus();
  absl::StatusOr<std::string> evidence =
      BuildCheckpointsEvidence(record_.ledger_id, *ours, theirs->note);
  if (!evidence.ok()) return evidence.status();
  // Kept (by the sink) before the state says so: Status never shows "frozen"
  // without the evidence id.
  sink_(*evidence);
  SetState("frozen");
  return absl::FailedPreconditionError(absl::StrCat(
      "equivocation: the upstream's checkpoint of tree size ", held_size,
      " has another root than the one verified here; evidence ", EvidenceId(*evidence)));
}

absl::StatusOr<std::vector<VerifiedAttachment>> LedgerFollower::FetchAttachments(
    v1::HostService::Stub& stub, const Block& block) {
  std::vector<VerifiedAttachment> attachments;
  if (!block.seals.has_value()) return attachments;
  for (const std::string& seal : *block.seals) {
    v1::GetAttachmentRequest request;
    request.set_ledger_id(record_.ledger_id);
    request.set_seal(seal);
    v1::GetAttachmentResponse response;
    std::unique_ptr<grpc::ClientContext> context = NewContext();
    if (!SetActiveCall(context.get())) return absl::CancelledError("stopping");
    grpc::Status status = stub.GetAttachment(context.get(), request, &response);
    SetActiveCall(nullptr);
    // A seal without an attachment is normal (SPEC §6).
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) continue;
    if (!status.ok()) return FromGrpc(status, "GetAttachment");
    if (DigestText(response.data()) != seal) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block ", block.number, ": attachment: the upstream's data for seal ", seal,
          " does not have that digest"));
    }
    absl::StatusOr<std::string> multihash = DecodeDigest(seal);
    if (!multihash.ok()) return multihash.status();
    attachments.push_back({*std::move(multihash), response.name(), response.data()});
  }
  return attachments;
}

absl::StatusOr<LedgerFollower::Outcome> LedgerFollower::StreamBlocks(
    v1::HostService::Stub& stub, HeadRecord held) {
  // The upstream's head, for Status' lag while catching up: asked at the
  // start and then at most once a second between blocks (the stream itself
  // only says which block it sends).
  absl::Time last_probe = absl::InfinitePast();
  auto probe_upstream_head = [&]() {
    if (absl::Now() - last_probe < absl::Seconds(1)) return;
    last_probe = absl::Now();
    v1::GetCheckpointRequest probe;
    probe.set_ledger_id(record_.ledger_id);
    v1::GetCheckpointResponse latest;
    grpc::ClientContext probe_context;
    probe_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    if (!SetActiveCall(&probe_context)) return;
    const bool answered = stub.GetCheckpoint(&probe_context, probe, &latest).ok();
    SetActiveCall(nullptr);
    if (answered) {
      absl::MutexLock lock(&mu_);
      status_.upstream_size = std::max(status_.upstream_size, latest.tree_size());
    }
  };
  probe_upstream_head();
  v1::SubscribeRequest request;
  request.set_ledger_id(record_.ledger_id);
  request.set_from_number(held.state.head_number + 1);
  grpc::ClientContext context;
  if (!SetActiveCall(&context)) return Outcome::kStopped;
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      stub.Subscribe(&context, request);
  SetState("following");
  ChainState state = std::move(held.state);
  MerkleFrontier frontier = std::move(held.frontier);
  v1::SubscribeResponse response;
  absl::Status failure;
  bool closed = false;
  while (reader->Read(&response)) {
    {
      absl::MutexLock lock(&mu_);
      status_.upstream_size = std::max(status_.upstream_size, response.number());
    }
    absl::StatusOr<VerifiedBlock> verified =
        VerifyNextBlock(state, frontier, response.block(), response.checkpoint());
    if (!verified.ok()) {
      failure = verified.status();
      // A host-signed block that does not follow the held head: find out
      // whether the upstream forked what was verified here.
      absl::StatusOr<Block> alone =
          VerifyHostSignedBlock(record_.ledger_id, response.block());
      if (alone.ok() && alone->number == state.head_number + 1 &&
          alone->previous.value_or("") != state.head_fingerprint) {
        context.TryCancel();
        if (absl::Status s = CheckUpstreamAgrees(stub, state.head_number); !s.ok()) {
          failure = s;
        }
      }
      break;
    }
    absl::StatusOr<std::vector<VerifiedAttachment>> attachments =
        FetchAttachments(stub, verified->block);
    if (!attachments.ok()) {
      failure = attachments.status();
      break;
    }
    if (absl::Status s = store_->CommitBlocks(record_.ledger_id, {*verified}, *attachments);
        !s.ok()) {
      failure = s;
      break;
    }
    if (options_.metrics != nullptr) options_.metrics->blocks_stored.Increment();
    closed = IsTerminal(verified->block);
    state = std::move(verified->state);
    frontier = std::move(verified->frontier);
    {
      absl::MutexLock lock(&mu_);
      status_.verified_size = state.head_number;
      status_.last_error.clear();
      status_.last_error_millis = 0;
    }
    if (closed) break;
    probe_upstream_head();
  }
  context.TryCancel();
  grpc::Status finished = reader->Finish();
  SetActiveCall(nullptr);
  if (Status().state == "frozen") return Outcome::kFrozen;
  if (closed) return Outcome::kClosed;
  if (!failure.ok()) return failure;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return Outcome::kStopped;
  }
  if (!finished.ok()) return FromGrpc(finished, "Subscribe");
  return absl::UnavailableError("upstream Subscribe: the stream ended");
}

absl::Status LedgerFollower::StartAtHead(v1::HostService::Stub& stub) {
  const std::string& ledger = record_.ledger_id;
  v1::GetLedgerRequest ledger_request;
  ledger_request.set_ledger_id(ledger);
  v1::GetLedgerResponse summary;
  {
    std::unique_ptr<grpc::ClientContext> context = NewContext();
    if (!SetActiveCall(context.get())) return absl::CancelledError("stopping");
    grpc::Status status = stub.GetLedger(context.get(), ledger_request, &summary);
    SetActiveCall(nullptr);
    if (!status.ok()) return FromGrpc(status, "GetLedger");
  }
  absl::StatusOr<VerifiedCheckpoint> checkpoint =
      VerifyCheckpointOf(ledger, summary.checkpoint(), summary.head_number());
  if (!checkpoint.ok()) return checkpoint.status();
  const uint64_t head = checkpoint->tree_size;

  // Block `number` and its audit path in the tree of `head` blocks, verified.
  struct Proven {
    std::string bytes;
    Block block;
    MerkleHash leaf{};
    std::vector<MerkleHash> path;
  };
  auto fetch = [&](uint64_t number) -> absl::StatusOr<Proven> {
    v1::GetBlocksRequest blocks_request;
    blocks_request.set_ledger_id(ledger);
    blocks_request.set_from_number(number);
    blocks_request.set_to_number(number);
    Proven proven;
    {
      std::unique_ptr<grpc::ClientContext> context = NewContext();
      if (!SetActiveCall(context.get())) return absl::CancelledError("stopping");
      std::unique_ptr<grpc::ClientReader<v1::GetBlocksResponse>> reader =
          stub.GetBlocks(context.get(), blocks_request);
      v1::GetBlocksResponse response;
      if (reader->Read(&response)) proven.bytes = response.block();
      while (reader->Read(&response)) {
      }
      grpc::Status status = reader->Finish();
      SetActiveCall(nullptr);
      if (!status.ok()) return FromGrpc(status, "GetBlocks");
    }
    v1::GetInclusionProofRequest proof_request;
    proof_request.set_ledger_id(ledger);
    proof_request.set_number(number);
    proof_request.set_tree_size(head);
    v1::GetInclusionProofResponse proof;
    {
      std::unique_ptr<grpc::ClientContext> context = NewContext();
      if (!SetActiveCall(context.get())) return absl::CancelledError("stopping");
      grpc::Status status = stub.GetInclusionProof(context.get(), proof_request, &proof);
      SetActiveCall(nullptr);
      if (!status.ok()) return FromGrpc(status, "GetInclusionProof");
    }
    absl::StatusOr<std::vector<MerkleHash>> path = MerkleHashesFromBytes(proof.hashes());
    if (!path.ok()) return path.status();
    absl::StatusOr<Block> block =
        VerifyIncludedBlock(ledger, number, proven.bytes, *path, *checkpoint);
    if (!block.ok()) return block.status();
    absl::StatusOr<MerkleHash> leaf = BlockLeafHash(*block);
    if (!leaf.ok()) return leaf.status();
    proven.block = *std::move(block);
    proven.leaf = *leaf;
    proven.path = *std::move(path);
    return proven;
  };
  absl::StatusOr<Proven> genesis = fetch(1);
  if (!genesis.ok()) return genesis.status();
  absl::StatusOr<Proven> top = head == 1 ? genesis : fetch(head);
  if (!top.ok()) return top.status();
  absl::StatusOr<MerkleFrontier> frontier =
      FrontierFromLastLeaf(top->leaf, top->path, *checkpoint);
  if (!frontier.ok()) return frontier.status();

  std::vector<std::pair<MerkleNodeId, MerkleHash>> nodes =
      ProofNodes(0, head, genesis->leaf, genesis->path);
  for (auto& node : ProofNodes(head - 1, head, top->leaf, top->path)) {
    nodes.push_back(std::move(node));
  }
  ChainState state;
  state.ledger = ledger;
  state.head_number = head;
  state.head_fingerprint = top->block.fingerprint;
  state.head_time_millis = top->block.time_millis;
  if (top->block.controllers.has_value()) {
    state.controllers = *top->block.controllers;
  } else {
    absl::StatusOr<Controllers> claimed = ControllersOf(summary.controllers());
    if (!claimed.ok()) return claimed.status();
    state.controllers = *std::move(claimed);
  }
  if (IsTerminal(top->block)) state.terminal_event = top->block.event_name();

  std::vector<VerifiedAttachment> attachments;
  for (const Proven* proven : {&*genesis, &*top}) {
    absl::StatusOr<std::vector<VerifiedAttachment>> fetched =
        FetchAttachments(stub, proven->block);
    if (!fetched.ok()) return fetched.status();
    for (auto& attachment : *fetched) attachments.push_back(std::move(attachment));
  }
  std::vector<HeldBlock> blocks = {{1, genesis->bytes}};
  if (head > 1) blocks.push_back({head, top->bytes});

  absl::MutexLock lock(record_mu_);
  absl::StatusOr<std::optional<MirrorRecord>> stored = store_->Record(ledger);
  if (!stored.ok()) return stored.status();
  MirrorRecord record = stored->value_or(record_);
  if (record.mode == MirrorMode::kTail) record.tail_start = head;
  if (record.mode == MirrorMode::kSparse) {
    AddSpan(record.fetched, {1, 1});
    AddSpan(record.fetched, {head, head});
  }
  return store_->CommitHeadAt(ledger, blocks, nodes, *checkpoint, state, *frontier,
                              attachments, record);
}

absl::StatusOr<LedgerFollower::Outcome> LedgerFollower::PollCheckpoints(
    v1::HostService::Stub& stub, HeadRecord held) {
  SetState("following");
  const std::string& ledger = record_.ledger_id;
  uint64_t held_size = held.state.head_number;
  while (true) {
    if (SleepUnlessStopped(options_.poll)) return Outcome::kStopped;
    v1::GetLedgerRequest request;
    request.set_ledger_id(ledger);
    v1::GetLedgerResponse summary;
    std::unique_ptr<grpc::ClientContext> context = NewContext();
    if (!SetActiveCall(context.get())) return Outcome::kStopped;
    grpc::Status status = stub.GetLedger(context.get(), request, &summary);
    SetActiveCall(nullptr);
    if (!status.ok()) return FromGrpc(status, "GetLedger");
    absl::StatusOr<VerifiedCheckpoint> latest =
        VerifyCheckpointOf(ledger, summary.checkpoint(), 0);
    if (!latest.ok()) return latest.status();
    {
      absl::MutexLock lock(&mu_);
      status_.upstream_size = std::max(status_.upstream_size, latest->tree_size);
    }
    if (latest->tree_size <= held_size) {
      if (absl::Status s = CheckUpstreamAgrees(stub, held_size); !s.ok()) {
        if (Status().state == "frozen") return Outcome::kFrozen;
        return s;
      }
      ClearError();
      continue;
    }
    // A newer checkpoint: consistent with the held one, then its head block.
    absl::StatusOr<std::string> held_note = store_->reader().GetCheckpoint(ledger, held_size);
    if (!held_note.ok()) return held_note.status();
    absl::StatusOr<VerifiedCheckpoint> held_checkpoint =
        VerifyCheckpointOf(ledger, *held_note, held_size);
    if (!held_checkpoint.ok()) return held_checkpoint.status();
    v1::GetConsistencyProofRequest consistency_request;
    consistency_request.set_ledger_id(ledger);
    consistency_request.set_old_size(held_size);
    consistency_request.set_new_size(latest->tree_size);
    v1::GetConsistencyProofResponse consistency;
    context = NewContext();
    if (!SetActiveCall(context.get())) return Outcome::kStopped;
    status = stub.GetConsistencyProof(context.get(), consistency_request, &consistency);
    SetActiveCall(nullptr);
    if (!status.ok()) return FromGrpc(status, "GetConsistencyProof");
    absl::StatusOr<std::vector<MerkleHash>> proof = MerkleHashesFromBytes(consistency.hashes());
    if (!proof.ok()) return proof.status();
    if (absl::Status s = VerifyMerkleConsistency(held_size, latest->tree_size,
                                                 held_checkpoint->root, latest->root, *proof);
        !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "upstream: checkpoint ", latest->tree_size, " is not proven consistent with ",
          held_size, ": ", s.message()));
    }
    v1::GetInclusionProofRequest inclusion_request;
    inclusion_request.set_ledger_id(ledger);
    inclusion_request.set_number(latest->tree_size);
    inclusion_request.set_tree_size(latest->tree_size);
    v1::GetInclusionProofResponse inclusion;
    context = NewContext();
    if (!SetActiveCall(context.get())) return Outcome::kStopped;
    status = stub.GetInclusionProof(context.get(), inclusion_request, &inclusion);
    SetActiveCall(nullptr);
    if (!status.ok()) return FromGrpc(status, "GetInclusionProof");
    v1::GetBlocksRequest blocks_request;
    blocks_request.set_ledger_id(ledger);
    blocks_request.set_from_number(latest->tree_size);
    blocks_request.set_to_number(latest->tree_size);
    std::string head_bytes;
    context = NewContext();
    if (!SetActiveCall(context.get())) return Outcome::kStopped;
    {
      std::unique_ptr<grpc::ClientReader<v1::GetBlocksResponse>> reader =
          stub.GetBlocks(context.get(), blocks_request);
      v1::GetBlocksResponse response;
      if (reader->Read(&response)) head_bytes = response.block();
      while (reader->Read(&response)) {
      }
      status = reader->Finish();
    }
    SetActiveCall(nullptr);
    if (!status.ok()) return FromGrpc(status, "GetBlocks");
    absl::StatusOr<std::vector<MerkleHash>> path = MerkleHashesFromBytes(inclusion.hashes());
    if (!path.ok()) return path.status();
    absl::StatusOr<Block> head_block =
        VerifyIncludedBlock(ledger, latest->tree_size, head_bytes, *path, *latest);
    if (!head_block.ok()) return head_block.status();
    absl::StatusOr<MerkleHash> leaf = BlockLeafHash(*head_block);
    if (!leaf.ok()) return leaf.status();
    absl::StatusOr<MerkleFrontier> frontier = FrontierFromLastLeaf(*leaf, *path, *latest);
    if (!frontier.ok()) return frontier.status();
    absl::StatusOr<std::vector<VerifiedAttachment>> attachments =
        FetchAttachments(stub, *head_block);
    if (!attachments.ok()) return attachments.status();
    ChainState state = held.state;
    state.head_number = latest->tree_size;
    state.head_fingerprint = head_block->fingerprint;
    state.head_time_millis = head_block->time_millis;
    if (head_block->controllers.has_value()) {
      state.controllers = *head_block->controllers;
    } else {
      absl::StatusOr<Controllers> claimed = ControllersOf(summary.controllers());
      if (!claimed.ok()) return claimed.status();
      state.controllers = *std::move(claimed);
    }
    if (IsTerminal(*head_block)) state.terminal_event = head_block->event_name();
    {
      absl::MutexLock lock(record_mu_);
      absl::StatusOr<std::optional<MirrorRecord>> stored = store_->Record(ledger);
      if (!stored.ok()) return stored.status();
      MirrorRecord record = stored->value_or(record_);
      AddSpan(record.fetched, {latest->tree_size, latest->tree_size});
      if (absl::Status s = store_->CommitHeadAt(
              ledger, {{latest->tree_size, head_bytes}},
              ProofNodes(latest->tree_size - 1, latest->tree_size, *leaf, *path), *latest,
              state, *frontier, *attachments, record);
          !s.ok()) {
        return s;
      }
    }
    held.state = state;
    held_size = latest->tree_size;
    absl::MutexLock lock(&mu_);
    status_.verified_size = held_size;
    status_.last_error.clear();
    status_.last_error_millis = 0;
  }
}

}  // namespace microledger
