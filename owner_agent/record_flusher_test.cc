#include "owner_agent/record_flusher.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "owner_agent/ledger_registry.h"
#include "owner_agent/ledger_state.h"
#include "owner_agent/request_journal.h"

namespace microledger {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(base ? base : "/tmp") + "/" + name;
  fs::remove_all(dir);
  return dir;
}

std::shared_ptr<LedgerState> Ledger(const std::string& id, uint64_t head) {
  auto ledger = std::make_shared<LedgerState>();
  absl::MutexLock lock(&ledger->mu);
  ledger->record.ledger_id = id;
  ledger->record.host_address = "127.0.0.1:1";
  ledger->record.state = ChainState::Empty(id);
  ledger->record.state.head_number = head;
  return ledger;
}

// A record that cannot be saved now is kept dirty: the flusher holds the
// ledger (so the agent never drops its newer state from memory) and saves it
// at the next Flush that can.
TEST(RecordFlusherTest, ALedgerWhoseSaveFailedIsHeldAndSavedByTheNextFlush) {
  const std::string dir = TempDir("flusher");
  auto registry = LedgerRegistry::Open(dir);
  ASSERT_TRUE(registry.ok()) << registry.status();
  ASSERT_TRUE((*registry)->Recover().ok());
  auto journal = RequestJournal::Open(dir + "/requests.jsonl", 100);
  ASSERT_TRUE(journal.ok()) << journal.status();
  std::vector<std::string> warnings;
  RecordFlusher flusher(**registry, **journal, std::chrono::milliseconds(1000),
                        [&warnings](absl::string_view w) { warnings.emplace_back(w); });

  std::shared_ptr<LedgerState> saved = Ledger("jlinx:uSAVED", 3);
  {
    absl::MutexLock lock(&saved->mu);
    ASSERT_TRUE(flusher.SaveNow(*saved).ok());
  }
  EXPECT_EQ(saved.use_count(), 1);  // Saved: nothing else holds it.
  EXPECT_EQ((*registry)->Load("jlinx:uSAVED")->state.head_number, 3u);

  // The records' directory replaced by a file: every save fails.
  fs::rename(dir + "/ledgers", dir + "/ledgers.away");
  std::ofstream(dir + "/ledgers") << "not a directory";
  std::shared_ptr<LedgerState> failing = Ledger("jlinx:uFAILING", 9);
  {
    absl::MutexLock lock(&failing->mu);
    EXPECT_FALSE(flusher.SaveNow(*failing).ok());
  }
  EXPECT_EQ(failing.use_count(), 2) << "the flusher must hold a ledger whose save failed";
  flusher.Flush();  // Still failing: still held, and warned about.
  EXPECT_EQ(failing.use_count(), 2);
  EXPECT_FALSE(warnings.empty());

  fs::remove(dir + "/ledgers");
  fs::rename(dir + "/ledgers.away", dir + "/ledgers");
  flusher.Flush();
  EXPECT_EQ(failing.use_count(), 1);
  absl::StatusOr<LedgerRecord> loaded = (*registry)->Load("jlinx:uFAILING");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->state.head_number, 9u);
}

}  // namespace
}  // namespace microledger
