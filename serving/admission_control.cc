#include "serving/admission_control.h"

#include <utility>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace microledger {
namespace {

// Adds `amount` to `counter` unless that passes `limit`.
bool TryTake(std::atomic<size_t>& counter, size_t amount, size_t limit) {
  size_t current = counter.load(std::memory_order_relaxed);
  do {
    if (amount > limit || current > limit - amount) return false;
  } while (!counter.compare_exchange_weak(current, current + amount,
                                          std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
  return true;
}

void GiveBack(std::atomic<size_t>& counter, size_t amount) {
  counter.fetch_sub(amount, std::memory_order_acq_rel);
}

absl::Status Refused(absl::string_view flag, size_t limit, absl::string_view what) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "limit --", flag, "=", limit, " reached: ", what, "; retry when some finish"));
}

}  // namespace

AdmissionControl::Ticket& AdmissionControl::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    kind_ = other.kind_;
    peer_ = std::move(other.peer_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void AdmissionControl::Ticket::Release() {
  if (owner_ == nullptr) return;
  std::exchange(owner_, nullptr)->Give(kind_, peer_, bytes_);
}

AdmissionControl::Shard& AdmissionControl::ShardOf(absl::string_view peer) {
  return shards_[absl::Hash<absl::string_view>()(peer) % kShards];
}

absl::StatusOr<AdmissionControl::Ticket> AdmissionControl::AdmitAppend(
    absl::string_view peer, size_t request_bytes) {
  return Admit(Kind::kAppend, peer, request_bytes);
}

absl::StatusOr<AdmissionControl::Ticket> AdmissionControl::AdmitAppendStream(
    absl::string_view peer) {
  return Admit(Kind::kAppendStream, peer, 0);
}

absl::StatusOr<AdmissionControl::Ticket> AdmissionControl::AdmitSubscription(
    absl::string_view peer) {
  return Admit(Kind::kSubscription, peer, 0);
}

AdmissionControl::KindLimits AdmissionControl::LimitsOf(Kind kind) const {
  switch (kind) {
    case Kind::kAppend:
      return {limits_.max_concurrent_appends, limits_.max_concurrent_appends_per_connection,
              "max_concurrent_appends", "max_concurrent_appends_per_connection",
              "appends in flight"};
    case Kind::kAppendStream:
      return {limits_.max_append_streams, limits_.max_append_streams_per_connection,
              "max_append_streams", "max_append_streams_per_connection",
              "AppendStream streams open"};
    case Kind::kSubscription:
      break;
  }
  return {limits_.max_subscriptions, limits_.max_subscriptions_per_connection,
          "max_subscriptions", "max_subscriptions_per_connection", "Subscribe streams open"};
}

absl::StatusOr<AdmissionControl::Ticket> AdmissionControl::Admit(Kind kind,
                                                                  absl::string_view peer,
                                                                  size_t bytes) {
  const KindLimits limits = LimitsOf(kind);
  std::atomic<size_t>& total = in_use_[static_cast<size_t>(kind)];
  if (!TryTake(total, 1, limits.total)) {
    return Refused(limits.total_flag, limits.total, absl::StrCat(limits.what, " on this host"));
  }
  if (bytes > 0 && !TryTake(request_bytes_, bytes, limits_.max_inflight_request_bytes)) {
    GiveBack(total, 1);
    return Refused("max_inflight_request_bytes", limits_.max_inflight_request_bytes,
                   absl::StrCat("append request bytes in flight on this host (this "
                                "request has ",
                                bytes, ")"));
  }
  {
    Shard& shard = ShardOf(peer);
    absl::MutexLock lock(&shard.mu);
    PeerCounts& counts = shard.peers[peer];
    size_t& count = counts[static_cast<size_t>(kind)];
    if (count >= limits.per_connection) {
      if (counts == PeerCounts{}) shard.peers.erase(std::string(peer));
      GiveBack(total, 1);
      if (bytes > 0) GiveBack(request_bytes_, bytes);
      return Refused(limits.per_connection_flag, limits.per_connection,
                     absl::StrCat(limits.what, " on this connection"));
    }
    ++count;
  }
  Ticket ticket;
  ticket.owner_ = this;
  ticket.kind_ = kind;
  ticket.peer_ = std::string(peer);
  ticket.bytes_ = bytes;
  return ticket;
}

void AdmissionControl::Give(Kind kind, const std::string& peer, size_t bytes) {
  {
    Shard& shard = ShardOf(peer);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.peers.find(peer);
    if (it != shard.peers.end()) {
      --it->second[static_cast<size_t>(kind)];
      if (it->second == PeerCounts{}) shard.peers.erase(it);
    }
  }
  GiveBack(in_use_[static_cast<size_t>(kind)], 1);
  if (bytes > 0) GiveBack(request_bytes_, bytes);
}

AdmissionControl::Usage AdmissionControl::usage() const {
  Usage usage;
  usage.appends = in_use_[static_cast<size_t>(Kind::kAppend)].load(std::memory_order_acquire);
  usage.append_streams =
      in_use_[static_cast<size_t>(Kind::kAppendStream)].load(std::memory_order_acquire);
  usage.subscriptions =
      in_use_[static_cast<size_t>(Kind::kSubscription)].load(std::memory_order_acquire);
  usage.request_bytes = request_bytes_.load(std::memory_order_acquire);
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    usage.connections += shard.peers.size();
  }
  return usage;
}

}  // namespace microledger
