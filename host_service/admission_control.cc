#include "host_service/admission_control.h"

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

absl::StatusOr<AdmissionControl::Ticket> AdmissionControl::Admit(Kind kind,
                                                                  absl::string_view peer,
                                                                  size_t bytes) {
  std::atomic<size_t>* total = nullptr;
  size_t total_limit = 0, peer_limit = 0;
  absl::string_view total_flag, peer_flag, what;
  switch (kind) {
    case Kind::kAppend:
      total = &appends_;
      total_limit = limits_.max_concurrent_appends;
      total_flag = "max_concurrent_appends";
      peer_limit = limits_.max_concurrent_appends_per_connection;
      peer_flag = "max_concurrent_appends_per_connection";
      what = "appends in flight";
      break;
    case Kind::kAppendStream:
      total = &append_streams_;
      total_limit = limits_.max_append_streams;
      total_flag = "max_append_streams";
      peer_limit = limits_.max_append_streams_per_connection;
      peer_flag = "max_append_streams_per_connection";
      what = "AppendStream streams open";
      break;
    case Kind::kSubscription:
      total = &subscriptions_;
      total_limit = limits_.max_subscriptions;
      total_flag = "max_subscriptions";
      peer_limit = limits_.max_subscriptions_per_connection;
      peer_flag = "max_subscriptions_per_connection";
      what = "Subscribe streams open";
      break;
  }
  if (!TryTake(*total, 1, total_limit)) {
    return Refused(total_flag, total_limit, absl::StrCat(what, " on this host"));
  }
  if (bytes > 0 && !TryTake(request_bytes_, bytes, limits_.max_inflight_request_bytes)) {
    GiveBack(*total, 1);
    return Refused("max_inflight_request_bytes", limits_.max_inflight_request_bytes,
                   absl::StrCat("append request bytes in flight on this host (this "
                                "request has ",
                                bytes, ")"));
  }
  {
    Shard& shard = ShardOf(peer);
    absl::MutexLock lock(&shard.mu);
    PeerCounts& counts = shard.peers[peer];
    size_t& count = kind == Kind::kAppend         ? counts.appends
                    : kind == Kind::kAppendStream ? counts.append_streams
                                                  : counts.subscriptions;
    if (count >= peer_limit) {
      if (counts.appends == 0 && counts.append_streams == 0 && counts.subscriptions == 0) {
        shard.peers.erase(std::string(peer));
      }
      GiveBack(*total, 1);
      if (bytes > 0) GiveBack(request_bytes_, bytes);
      return Refused(peer_flag, peer_limit, absl::StrCat(what, " on this connection"));
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
      PeerCounts& counts = it->second;
      size_t& count = kind == Kind::kAppend         ? counts.appends
                      : kind == Kind::kAppendStream ? counts.append_streams
                                                    : counts.subscriptions;
      --count;
      if (counts.appends == 0 && counts.append_streams == 0 && counts.subscriptions == 0) {
        shard.peers.erase(it);
      }
    }
  }
  switch (kind) {
    case Kind::kAppend:
      GiveBack(appends_, 1);
      break;
    case Kind::kAppendStream:
      GiveBack(append_streams_, 1);
      break;
    case Kind::kSubscription:
      GiveBack(subscriptions_, 1);
      break;
  }
  if (bytes > 0) GiveBack(request_bytes_, bytes);
}

AdmissionControl::Usage AdmissionControl::usage() const {
  Usage usage;
  usage.appends = appends_.load(std::memory_order_acquire);
  usage.append_streams = append_streams_.load(std::memory_order_acquire);
  usage.subscriptions = subscriptions_.load(std::memory_order_acquire);
  usage.request_bytes = request_bytes_.load(std::memory_order_acquire);
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    usage.connections += shard.peers.size();
  }
  return usage;
}

}  // namespace microledger
