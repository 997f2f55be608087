// The LedgerHost test fixture (testonly): a host over each store (memory, and
// RocksDB in a temporary directory), owner chains, and helpers that append
// and read heads. The tests that use it are split by subject:
// ledger_host_test (reads, proofs, forget), ledger_host_bad_input_test (one
// rejected block per rule) and ledger_host_concurrency_test (races, eviction,
// pipelining, subscriptions).
#ifndef MICROLEDGER_HOST_SERVICE_LEDGER_HOST_FIXTURE_H_
#define MICROLEDGER_HOST_SERVICE_LEDGER_HOST_FIXTURE_H_

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/block.h"
#include "common/timestamp.h"
#include "gtest/gtest.h"
#include "ledger_store/kv_store.h"
#include "host_service/ledger_host.h"
#include "host_service/ledger_host_testing.h"
#include "tests/host/owner_chain.h"

namespace microledger {
namespace testing_internal {

inline std::string TempDir(absl::string_view name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/", name, "_", getpid(), "_",
                                 NowMillis(), "_", rand());
  std::filesystem::create_directories(dir);
  return dir;
}

inline MasterSecret FixedSecret() { return *MasterSecret::FromBytes(std::string(32, '\x07')); }

class LedgerHostTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "rocksdb") dir_ = TempDir("ledger_host_test");
    Open();
  }

  void Open(HostOptions options = HostOptions()) {
    host_.reset();
    std::unique_ptr<KvStore> store;
    if (GetParam() == "rocksdb") {
      absl::StatusOr<std::unique_ptr<KvStore>> opened = OpenRocksDbKvStore(dir_, true);
      ASSERT_TRUE(opened.ok()) << opened.status();
      store = *std::move(opened);
    } else {
      store = NewMemoryKvStore();
    }
    host_ = std::make_unique<LedgerHost>(std::move(store), FixedSecret(), options);
  }

  OwnerChain NewChain(int owners = 1, int threshold = 1) {
    absl::StatusOr<NewLedger> ledger = host_->CreateLedger();
    EXPECT_TRUE(ledger.ok());
    return OwnerChain(ledger->ledger_id, ledger->ledger_token, owners, threshold);
  }

  absl::StatusOr<AppendResult> Send(OwnerChain& chain, const Block& block,
                                    std::vector<AttachmentInput> attachments = {}) {
    AppendInput input{OwnerChain::Bytes(block), std::move(attachments),
                      block.number == 1 ? chain.token() : ""};
    absl::StatusOr<AppendResult> result = AppendAndWait(*host_, input);
    if (result.ok()) {
      absl::Status accepted = chain.Accept(block, result->host_signature);
      EXPECT_TRUE(accepted.ok()) << accepted;
    }
    return result;
  }

  void AppendN(OwnerChain& chain, int count) {
    for (int i = 0; i < count; ++i) {
      absl::StatusOr<AppendResult> result = Send(chain, chain.Next());
      ASSERT_TRUE(result.ok()) << result.status();
    }
  }

  uint64_t HeadOf(const std::string& ledger_id) {
    absl::StatusOr<LedgerInfo> info = host_->reader().GetLedger(ledger_id);
    return info.ok() ? info->state.head_number : 0;
  }

  std::string dir_;
  std::unique_ptr<LedgerHost> host_;
};

}  // namespace testing_internal

using testing_internal::FixedSecret;
using testing_internal::LedgerHostTest;
using testing_internal::TempDir;

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_LEDGER_HOST_FIXTURE_H_
