// Admission control of the host's gRPC edge: bounds what clients can hold in
// the host at once, so that many large or long calls cannot grow its memory
// without bound. Each call asks for a Ticket before it does any work; a
// refusal is RESOURCE_EXHAUSTED naming the limit by its ml-host flag, and the
// refused call changes nothing. Counted:
//   - appends in flight (a unary Append, or one unanswered request of an
//     AppendStream), in total and per connection;
//   - AppendStream streams open, in total and per connection;
//   - Subscribe streams open, in total and per connection;
//   - bytes of append requests in flight (their serialized size), in total.
// A connection is the peer string gRPC reports for the call
// ("ipv4:127.0.0.1:50414"): one per TCP connection. All clients of a Unix
// socket share one peer string, so there they share the per-connection limits.
//
// A Ticket releases what it holds when it is destroyed or Release()d.
// Thread-safe: totals are atomics and per-connection counts live in sharded
// maps, so admissions on different connections rarely meet on a lock.
#ifndef MICROLEDGER_SERVING_ADMISSION_CONTROL_H_
#define MICROLEDGER_SERVING_ADMISSION_CONTROL_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace microledger {

// Each limit is named after its ml-host flag; all must be at least 1.
struct AdmissionLimits {
  size_t max_concurrent_appends = 4096;
  size_t max_concurrent_appends_per_connection = 512;
  size_t max_append_streams = 1024;
  size_t max_append_streams_per_connection = 64;
  size_t max_subscriptions = 4096;
  size_t max_subscriptions_per_connection = 1024;
  size_t max_inflight_request_bytes = size_t{64} << 20;
};

class AdmissionControl {
 public:
  enum class Kind { kAppend, kAppendStream, kSubscription };

  // What one admitted call holds; move-only.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { Release(); }

    // Gives back what the ticket holds; later calls do nothing.
    void Release();

   private:
    friend class AdmissionControl;
    AdmissionControl* owner_ = nullptr;
    Kind kind_ = Kind::kAppend;
    std::string peer_;
    size_t bytes_ = 0;
  };

  explicit AdmissionControl(const AdmissionLimits& limits) : limits_(limits) {}
  AdmissionControl(const AdmissionControl&) = delete;
  AdmissionControl& operator=(const AdmissionControl&) = delete;

  // One append of `request_bytes` from `peer`.
  absl::StatusOr<Ticket> AdmitAppend(absl::string_view peer, size_t request_bytes);
  // One AppendStream stream from `peer`.
  absl::StatusOr<Ticket> AdmitAppendStream(absl::string_view peer);
  // One Subscribe stream from `peer`.
  absl::StatusOr<Ticket> AdmitSubscription(absl::string_view peer);

  // What is held now, for tests and metrics.
  struct Usage {
    size_t appends = 0;
    size_t append_streams = 0;
    size_t subscriptions = 0;
    size_t request_bytes = 0;
    size_t connections = 0;  // Peers holding anything.
  };
  Usage usage() const;

  const AdmissionLimits& limits() const { return limits_; }

 private:
  static constexpr size_t kKinds = 3;
  // What one peer holds, by Kind.
  using PeerCounts = std::array<size_t, kKinds>;
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, PeerCounts> peers ABSL_GUARDED_BY(mu);
  };
  static constexpr int kShards = 16;
  // A kind's two limits and how a refusal names them.
  struct KindLimits {
    size_t total;
    size_t per_connection;
    absl::string_view total_flag;
    absl::string_view per_connection_flag;
    absl::string_view what;
  };

  KindLimits LimitsOf(Kind kind) const;
  Shard& ShardOf(absl::string_view peer);
  absl::StatusOr<Ticket> Admit(Kind kind, absl::string_view peer, size_t bytes);
  void Give(Kind kind, const std::string& peer, size_t bytes);

  const AdmissionLimits limits_;
  std::array<std::atomic<size_t>, kKinds> in_use_{};  // By Kind, on this host.
  std::atomic<size_t> request_bytes_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_ADMISSION_CONTROL_H_
