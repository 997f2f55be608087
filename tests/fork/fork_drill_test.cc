// The fork drill (SPEC §11), end to end with every component as a real
// process on loopback: ml-host A (RocksDB) holds a ledger made through an
// owner agent, and an ml-mirror follows it in full. A's data directory and
// master key are copied while it is stopped (a restored backup, served by
// ml-host B), and the agent's keystore with them. The agent appends block 4
// on A (the mirror verifies it); the restored agent copy, pointed at B,
// appends another block 4 there. The host key has signed two histories.
//
// The mirror, pointed at B, must find the fork (its checkpoint of the held
// size has another root), build SPEC §11 evidence, say "frozen" with the
// evidence id in its Status, stop following, keep serving the blocks it
// verified, and hand the evidence to B (best effort). The agent, reading
// from B while A is down, builds its own evidence. `mlctl evidence get` and
// `mlctl evidence verify` accept both evidence files and reject a tampered
// one. Reported to both hosts, the evidence freezes the ledger there: unary
// appends and appends through agents are refused naming the evidence id,
// GetLedger says frozen, reads go on. A restarted mirror stays frozen and
// starts no follower.
//
// The second test reports evidence to a mirror over HostService: the mirror
// freezes the ledger, stops following it, lists the evidence, and keeps it
// when the ledger is forgotten there (and across a restart).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/block.h"
#include "common/evidence.h"
#include "common/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fork/mirror_process.h"
#include "tests/host/grpc_client.h"
#include "tests/owner/disk_host.h"

namespace microledger {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Code = grpc::StatusCode;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// The restored agent copy is pointed at the restored host: its ledger records
// (and head log lines) name `to` instead of `from`.
void RepointKeystore(const std::string& keystore, const std::string& from,
                     const std::string& to) {
  int rewritten = 0;
  for (const auto& entry : fs::recursive_directory_iterator(keystore + "/agent")) {
    if (!entry.is_regular_file()) continue;
    const std::string text = ReadFile(entry.path().string());
    if (!absl::StrContains(text, "\"" + from + "\"")) continue;
    WriteFile(entry.path().string(),
              absl::StrReplaceAll(text, {{"\"" + from + "\"", "\"" + to + "\""}}));
    ++rewritten;
  }
  ASSERT_GT(rewritten, 0) << "no ledger record names " << from;
}

// Owner-signed bytes of a complete block (its host signature dropped): what
// an owner would send to a host.
std::string OwnerSigned(const std::string& complete) {
  absl::StatusOr<Block> block = ParseBlock(complete, SignatureStage::kComplete);
  EXPECT_TRUE(block.ok()) << block.status();
  if (!block.ok()) return "";
  block->signatures.pop_back();
  return SerializeBlock(*block);
}

std::string Fingerprint(const std::string& complete) {
  absl::StatusOr<Block> block = ParseBlock(complete, SignatureStage::kComplete);
  return block.ok() ? block->fingerprint : "";
}

// Both appends refused: unary at the host and AppendEvent through `agent`.
void ExpectHostRefuses(HostStub& host, AgentStub& agent, const std::string& ledger,
                       const std::string& block, const std::string& evidence_id,
                       const std::string& when) {
  grpc::Status status = HostAppend(host, block);
  EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << when << ": " << Msg(status);
  EXPECT_THAT(status.error_message(),
              HasSubstr("frozen by equivocation evidence " + evidence_id))
      << when;
  v1::BlockOutcome outcome;
  status = Append(agent, ledger, R"({"event":"refused"})", &outcome);
  EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << when << ": " << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr(evidence_id)) << when;
}

// GetLedger says frozen by `evidence_id` at `head`, and the blocks are read.
void ExpectFrozenReads(HostStub& server, const std::string& ledger,
                       const std::string& evidence_id, uint64_t head,
                       const std::string& head_fingerprint, const std::string& when) {
  v1::GetLedgerResponse info;
  grpc::Status status = HostLedger(server, ledger, &info);
  ASSERT_TRUE(status.ok()) << when << ": " << Msg(status);
  EXPECT_TRUE(info.frozen()) << when;
  EXPECT_EQ(info.evidence_id(), evidence_id) << when;
  EXPECT_EQ(info.head_number(), head) << when;
  EXPECT_EQ(info.head_fingerprint(), head_fingerprint) << when;
  std::vector<std::string> blocks;
  status = HostBlocks(server, ledger, 1, 0, &blocks);
  EXPECT_TRUE(status.ok()) << when << ": " << Msg(status);
  EXPECT_EQ(blocks.size(), head) << when;
}

TEST(ForkDrillTest, MirrorAndAgentProveTheForkAndEveryComponentFreezesTheLedger) {
  DiskHost a("fork_a"), b("fork_b");
  DiskMirror mirror("fork_mirror");
  const std::string keystore = NewTempDir("fork_agent") + "/ks";
  const std::string keystore_b = NewTempDir("fork_agent_b") + "/ks";
  const std::string keystore_a2 = NewTempDir("fork_agent_a2") + "/ks";
  // The agent reads from B when A is unreachable (ml-owner --mirror).
  const std::vector<std::string> read_b = {"--mirror=" + b.address()};

  // A ledger of 3 blocks on A, made through the agent; the mirror follows it.
  ASSERT_TRUE(a.Start().ok());
  std::string ledger;
  {
    auto agent = StartOwner(keystore, a.address());
    ASSERT_NE(agent, nullptr);
    ASSERT_TRUE(
        CreateLedgerWithEvents(*agent->Stub(), 2, R"({"event":"before"})", &ledger).ok());
  }
  ASSERT_TRUE(mirror.Start().ok());
  auto admin = mirror.Admin();
  auto mirror_reader = mirror.Reader();
  v1::MirroredLedger view;
  grpc::Status status = Follow(*admin, ledger, a.address(), &view);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(WaitForMirror(
      *admin, ledger, [](const v1::MirroredLedger& m) { return m.verified_size() == 3; },
      absl::Seconds(20), &view))
      << Describe(view);
  EXPECT_EQ(view.evidence_id(), "");

  // The backup: A's data directory (master.key included) and the keystore,
  // taken while both are stopped. B serves the restored copy; the restored
  // agent copy is pointed at B. A second restored copy stays on A.
  a.Stop();
  b.ReplaceData(a.CopyData("fork_backup"));
  fs::copy(keystore, keystore_b, fs::copy_options::recursive);
  fs::copy(keystore, keystore_a2, fs::copy_options::recursive);
  RepointKeystore(keystore_b, a.address(), b.address());
  ASSERT_TRUE(a.Start().ok());

  // Block 4 on A, through the agent; the mirror verifies it.
  auto agent = StartOwner(keystore, a.address(), read_b);
  ASSERT_NE(agent, nullptr);
  auto agent_stub = agent->Stub();
  v1::BlockOutcome outcome;
  status = AppendSoon(*agent_stub, ledger, R"({"event":"side","copy":"a"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_EQ(outcome.committed().number(), 4u);
  const std::string block_4a = outcome.committed().block();
  ASSERT_TRUE(WaitForMirror(
      *admin, ledger, [](const v1::MirroredLedger& m) { return m.verified_size() == 4; },
      absl::Seconds(20), &view))
      << Describe(view);
  std::vector<std::string> blocks_a;
  auto host_a = Connect(a.address());
  ASSERT_TRUE(HostBlocks(*host_a, ledger, 1, 0, &blocks_a).ok());
  ASSERT_EQ(blocks_a.size(), 4u);
  ASSERT_EQ(blocks_a[3], block_4a);

  // Another block 4 on B, through the restored agent copy.
  ASSERT_TRUE(b.Start().ok());
  auto agent_b = StartOwner(keystore_b, b.address());
  ASSERT_NE(agent_b, nullptr);
  auto agent_b_stub = agent_b->Stub();
  status = AppendSoon(*agent_b_stub, ledger, R"({"event":"side","copy":"b"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_EQ(outcome.committed().number(), 4u);
  const std::string block_4b = outcome.committed().block();
  ASSERT_NE(Fingerprint(block_4a), Fingerprint(block_4b));
  auto host_b = Connect(b.address());

  // The mirror is pointed at B (a new upstream replaces the old one): it
  // finds the fork, keeps evidence and freezes the ledger.
  status = Follow(*admin, ledger, b.address(), &view);
  ASSERT_TRUE(status.ok()) << Msg(status);
  bool frozen_without_id = false;  // "frozen" means evidence exists.
  ASSERT_TRUE(WaitForMirror(
      *admin, ledger,
      [&](const v1::MirroredLedger& m) {
        if (m.state() == "frozen" && m.evidence_id().empty()) frozen_without_id = true;
        return !m.evidence_id().empty();
      },
      absl::Seconds(20), &view))
      << Describe(view);
  EXPECT_FALSE(frozen_without_id);
  const std::string mirror_id = view.evidence_id();
  EXPECT_EQ(view.state(), "frozen") << Describe(view);
  EXPECT_EQ(view.upstream(), b.address());
  EXPECT_EQ(view.verified_size(), 4u);
  ASSERT_EQ(view.held_size(), 1) << Describe(view);
  EXPECT_EQ(view.held(0).first(), 1u);
  EXPECT_EQ(view.held(0).last(), 4u);
  std::vector<std::string> kept;
  status = HostEvidence(*mirror_reader, ledger, &kept);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_EQ(kept.size(), 1u);
  const std::string mirror_evidence = kept[0];
  absl::StatusOr<EvidenceInfo> mirror_info = ValidateEvidence(mirror_evidence);
  ASSERT_TRUE(mirror_info.ok()) << mirror_info.status();
  EXPECT_EQ(mirror_info->ledger, ledger);
  EXPECT_EQ(mirror_info->kind, EvidenceKind::kCheckpoints);
  EXPECT_EQ(mirror_info->id, mirror_id);
  // It keeps serving what it verified: A's history.
  ExpectFrozenReads(*mirror_reader, ledger, mirror_id, 4, Fingerprint(block_4a), "mirror");
  std::vector<std::string> served;
  ASSERT_TRUE(HostBlocks(*mirror_reader, ledger, 1, 0, &served).ok());
  EXPECT_EQ(served, blocks_a);
  // A frozen ledger is not followed again, from any upstream.
  for (const std::string& upstream : {a.address(), b.address()}) {
    status = Follow(*admin, ledger, upstream);
    EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << Msg(status);
    EXPECT_THAT(status.error_message(), HasSubstr(mirror_id));
  }
  // The mirror handed the evidence to B (best effort): B froze the ledger.
  v1::GetLedgerResponse info;
  for (int i = 0; i < 100; ++i) {
    if (HostLedger(*host_b, ledger, &info).ok() && info.frozen()) break;
    usleep(100 * 1000);
  }
  EXPECT_TRUE(info.frozen());
  EXPECT_EQ(info.evidence_id(), mirror_id);
  ASSERT_TRUE(HostLedger(*host_a, ledger, &info).ok());
  EXPECT_FALSE(info.frozen());  // Nobody told A yet.

  // The agent meets the other copy: A is down, it reads from B and proves
  // the fork itself.
  a.Stop();
  v1::OwnerGetLedgerRequest get;
  get.set_ledger_id(ledger);
  v1::OwnerGetLedgerResponse owner_info;
  for (int i = 0; i < 50; ++i) {
    status = agent_stub->GetLedger(Ctx().get(), get, &owner_info);
    if (status.error_code() != Code::UNAVAILABLE) break;
    usleep(100 * 1000);
  }
  EXPECT_EQ(status.error_code(), Code::DATA_LOSS) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("host equivocation on ledger " + ledger));
  std::vector<v1::Evidence> agent_kept = EvidenceOf(*agent_stub, ledger);
  ASSERT_EQ(agent_kept.size(), 1u);
  EXPECT_EQ(agent_kept[0].kind(), "fork");
  EXPECT_EQ(agent_kept[0].host_address(), b.address());
  const std::string agent_evidence = agent_kept[0].evidence_object();
  absl::StatusOr<EvidenceInfo> agent_info = ValidateEvidence(agent_evidence);
  ASSERT_TRUE(agent_info.ok()) << agent_info.status() << " " << agent_kept[0].detail();
  EXPECT_EQ(agent_info->ledger, ledger);
  EXPECT_EQ(agent_info->id, agent_kept[0].evidence_id());
  const std::string agent_id = agent_info->id;
  ASSERT_TRUE(a.Start().ok());
  host_a = Connect(a.address());

  // Evidence files: fetched from the mirror with mlctl, and written from the
  // agent's GetEvidence; mlctl accepts both and rejects a tampered copy.
  const std::string dir = NewTempDir("fork_evidence");
  auto [get_code, get_output] = RunMlctl(
      {"evidence", "get", ledger, "--from=" + mirror.address(), "--out_dir=" + dir});
  EXPECT_EQ(get_code, 0) << get_output;
  const std::string mirror_file = dir + "/" + mirror_id + ".json";
  EXPECT_THAT(get_output, HasSubstr(mirror_file));
  EXPECT_EQ(ReadFile(mirror_file), mirror_evidence);
  const std::string agent_file = dir + "/agent.json";
  WriteFile(agent_file, agent_evidence);
  for (const auto& [file, evidence_info] :
       {std::make_pair(mirror_file, *mirror_info), std::make_pair(agent_file, *agent_info)}) {
    auto [code, output] = RunMlctl({"evidence", "verify", file});
    EXPECT_EQ(code, 0) << output;
    EXPECT_EQ(output, absl::StrCat("EVIDENCE ", ledger, " ",
                                   EvidenceKindName(evidence_info.kind), " ", evidence_info.id,
                                   "\n"));
  }
  // One character of the second note's signature changed.
  std::string tampered = mirror_evidence;
  const size_t end_of_b = tampered.find("\",\"evidence\":");
  ASSERT_NE(end_of_b, std::string::npos);
  char& c = tampered[end_of_b - 20];
  c = c == 'A' ? 'B' : 'A';
  const std::string tampered_file = dir + "/tampered.json";
  WriteFile(tampered_file, tampered);
  {
    auto [code, output] = RunMlctl({"evidence", "verify", tampered_file});
    EXPECT_EQ(code, 1) << output;
    EXPECT_THAT(output, StartsWith("INVALID: "));
    EXPECT_THAT(output, Not(HasSubstr("EVIDENCE")));
  }

  // Both hosts are told (A for the first time; B already has the mirror's).
  // The agent and the mirror may have built the same object (`checkpoints`
  // of the same two notes): hosts keep each id once.
  const std::set<std::string> ids = {mirror_id, agent_id};
  for (HostStub* host : {host_a.get(), host_b.get()}) {
    for (const std::string& evidence : {mirror_evidence, agent_evidence}) {
      v1::ReportEquivocationResponse reported;
      status = Report(*host, evidence, &reported);
      ASSERT_TRUE(status.ok()) << Msg(status);
      EXPECT_EQ(reported.ledger_id(), ledger);
      EXPECT_EQ(reported.evidence_id(), EvidenceId(evidence));
      EXPECT_TRUE(reported.frozen());
    }
    std::vector<std::string> host_kept;
    ASSERT_TRUE(HostEvidence(*host, ledger, &host_kept).ok());
    EXPECT_EQ(host_kept.size(), ids.size());
    ASSERT_FALSE(host_kept.empty());
    EXPECT_EQ(host_kept[0], mirror_evidence);  // First received first.
  }
  // Both refuse appends, naming the first evidence they received: a unary
  // append of the next block of either history (A's block 4 again here), and
  // appends through agents that had not seen the fork themselves.
  auto agent_a2 = StartOwner(keystore_a2, a.address());
  ASSERT_NE(agent_a2, nullptr);
  auto agent_a2_stub = agent_a2->Stub();
  ExpectHostRefuses(*host_a, *agent_a2_stub, ledger, OwnerSigned(block_4a), mirror_id, "A");
  ExpectHostRefuses(*host_b, *agent_b_stub, ledger, OwnerSigned(block_4a), mirror_id, "B");
  ExpectFrozenReads(*host_a, ledger, mirror_id, 4, Fingerprint(block_4a), "A");
  ExpectFrozenReads(*host_b, ledger, mirror_id, 4, Fingerprint(block_4b), "B");
  // The agent that proved the fork refuses on its own evidence.
  status = Append(*agent_stub, ledger, R"({"event":"refused"})", &outcome);
  EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr(agent_id));

  // A restarted mirror stays frozen and starts no follower: with B down, a
  // follower would record its failure to connect as the last error.
  b.Stop();
  mirror.Stop();
  ASSERT_TRUE(mirror.Start().ok());
  admin = mirror.Admin();
  mirror_reader = mirror.Reader();
  usleep(1500 * 1000);
  ASSERT_TRUE(MirrorStatus(*admin, ledger, &view).ok());
  EXPECT_EQ(view.state(), "frozen") << Describe(view);
  EXPECT_EQ(view.evidence_id(), mirror_id);
  EXPECT_EQ(view.last_error(), "") << Describe(view);
  EXPECT_EQ(view.verified_size(), 4u);
  ExpectFrozenReads(*mirror_reader, ledger, mirror_id, 4, Fingerprint(block_4a),
                    "restarted mirror");
  status = HostEvidence(*mirror_reader, ledger, &kept);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_THAT(kept, ElementsAre(mirror_evidence));
  status = Follow(*admin, ledger, a.address());
  EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << Msg(status);
}

// Evidence reported to a mirror (HostService.ReportEquivocation) freezes the
// ledger there: Status frozen with the evidence id, the follower stopped
// (a block the host appends afterwards is not fetched), GetLedgerEvidence
// lists it, and forgetting the ledger at the mirror keeps it. The fork is
// made with directly signed blocks (tests/host/owner_chain.h) on a host and
// its restored copy; the host itself is never told.
TEST(ForkDrillTest, EvidenceReportedToAMirrorFreezesItAndSurvivesForget) {
  DiskHost a("report_a"), b("report_b");
  DiskMirror mirror("report_mirror");
  ASSERT_TRUE(a.Start().ok());
  auto host_a = Connect(a.address());
  OwnerChain chain = CreateChain(*host_a);
  ASSERT_FALSE(chain.ledger_id().empty());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(AppendBlock(*host_a, chain, chain.Next()).ok());
  const std::string ledger = chain.ledger_id();
  ASSERT_TRUE(mirror.Start({"--follow=" + ledger + "@" + a.address()}).ok());
  auto admin = mirror.Admin();
  auto mirror_reader = mirror.Reader();
  v1::MirroredLedger view;
  ASSERT_TRUE(WaitForMirror(
      *admin, ledger, [](const v1::MirroredLedger& m) { return m.verified_size() == 3; },
      absl::Seconds(20), &view))
      << Describe(view);

  a.Stop();
  b.ReplaceData(a.CopyData("report_backup"));
  ASSERT_TRUE(a.Start().ok());
  ASSERT_TRUE(b.Start().ok());
  host_a = Connect(a.address());
  auto host_b = Connect(b.address());
  const Block side_a = chain.Next(Json{{"event", "forked"}, {"side", "a"}});
  const Block side_b = chain.Next(Json{{"event", "forked"}, {"side", "b"}});
  v1::AppendResponse reply_a;
  grpc::Status status = AppendBlock(*host_a, chain, side_a, &reply_a);
  ASSERT_TRUE(status.ok()) << Msg(status);
  v1::AppendResponse reply_b;
  {
    v1::AppendRequest request;
    request.set_block(OwnerChain::Bytes(side_b));
    status = host_b->Append(Deadline().get(), request, &reply_b);
    ASSERT_TRUE(status.ok()) << Msg(status);
  }
  Block complete_b = side_b;
  complete_b.signatures.push_back(FromProto(reply_b.host_signature()));
  absl::StatusOr<std::string> checkpoints =
      BuildCheckpointsEvidence(ledger, reply_a.checkpoint(), reply_b.checkpoint());
  ASSERT_TRUE(checkpoints.ok()) << checkpoints.status();
  absl::StatusOr<std::string> blocks = BuildBlocksEvidence(
      ledger, SerializeBlock(chain.blocks().back()), SerializeBlock(complete_b));
  ASSERT_TRUE(blocks.ok()) << blocks.status();
  const std::string id = EvidenceId(*checkpoints);
  ASSERT_TRUE(WaitForMirror(
      *admin, ledger, [](const v1::MirroredLedger& m) { return m.verified_size() == 4; },
      absl::Seconds(20), &view))
      << Describe(view);
  EXPECT_EQ(view.state(), "following") << Describe(view);
  // The owner's forget request for the mirror's head.
  const std::string head_4 = chain.state().head_fingerprint;
  const std::vector<BlockSignature> forget_4 = chain.SignForget();

  // Not evidence: refused, nothing kept.
  v1::ReportEquivocationResponse reported;
  status = Report(*mirror_reader, *checkpoints + "\n", &reported);
  EXPECT_EQ(status.error_code(), Code::INVALID_ARGUMENT) << Msg(status);
  std::vector<std::string> kept;
  ASSERT_TRUE(HostEvidence(*mirror_reader, ledger, &kept).ok());
  EXPECT_TRUE(kept.empty());

  for (int i = 0; i < 2; ++i) {  // Again: OK, kept once.
    status = Report(*mirror_reader, *checkpoints, &reported);
    ASSERT_TRUE(status.ok()) << Msg(status);
    EXPECT_EQ(reported.ledger_id(), ledger);
    EXPECT_EQ(reported.kind(), "checkpoints");
    EXPECT_EQ(reported.evidence_id(), id);
    EXPECT_TRUE(reported.frozen());
  }
  ASSERT_TRUE(MirrorStatus(*admin, ledger, &view).ok());
  EXPECT_EQ(view.state(), "frozen") << Describe(view);
  EXPECT_EQ(view.evidence_id(), id);
  // Another object for the frozen ledger is kept too; the first id stays.
  status = Report(*mirror_reader, *blocks, &reported);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(reported.kind(), "blocks");
  ASSERT_TRUE(HostEvidence(*mirror_reader, ledger, &kept).ok());
  EXPECT_THAT(kept, ElementsAre(*checkpoints, *blocks));
  ExpectFrozenReads(*mirror_reader, ledger, id, 4, side_a.fingerprint, "mirror");

  // The follower stopped: A (never told) takes block 5, the mirror does not.
  ASSERT_TRUE(AppendBlock(*host_a, chain, chain.Next()).ok());
  usleep(1500 * 1000);
  ASSERT_TRUE(MirrorStatus(*admin, ledger, &view).ok());
  EXPECT_EQ(view.state(), "frozen") << Describe(view);
  EXPECT_EQ(view.verified_size(), 4u) << Describe(view);
  v1::GetLedgerResponse info;
  ASSERT_TRUE(HostLedger(*mirror_reader, ledger, &info).ok());
  EXPECT_EQ(info.head_number(), 4u);
  status = Follow(*admin, ledger, a.address());
  EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr(id));

  // Forgotten at the mirror (signed by the owner for the head it holds): the
  // evidence stays, here and across a restart.
  status = ForgetLedger(*mirror_reader, ledger, head_4, forget_4);
  ASSERT_TRUE(status.ok()) << Msg(status);
  status = HostLedger(*mirror_reader, ledger, &info);
  EXPECT_EQ(status.error_code(), Code::NOT_FOUND) << Msg(status);
  ASSERT_TRUE(HostEvidence(*mirror_reader, ledger, &kept).ok());
  EXPECT_THAT(kept, ElementsAre(*checkpoints, *blocks));
  status = Report(*mirror_reader, *checkpoints, &reported);
  EXPECT_TRUE(status.ok()) << Msg(status);
  status = Follow(*admin, ledger, a.address());
  EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << Msg(status);
  mirror.Stop();
  ASSERT_TRUE(mirror.Start().ok());
  mirror_reader = mirror.Reader();
  ASSERT_TRUE(HostEvidence(*mirror_reader, ledger, &kept).ok());
  EXPECT_THAT(kept, ElementsAre(*checkpoints, *blocks));
  auto [code, output] = RunMlctl({"evidence", "get", ledger, "--from=" + mirror.address()});
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr(*checkpoints));
  // The host was never told: it goes on.
  ASSERT_TRUE(HostLedger(*host_a, ledger, &info).ok());
  EXPECT_FALSE(info.frozen());
  EXPECT_EQ(info.head_number(), 5u);

  // Told now (mlctl evidence report), the host is frozen; a new mirror that
  // follows it takes the host's (valid) evidence and freezes too, without
  // seeing the fork itself.
  const std::string evidence_file = NewTempDir("fork_report") + "/evidence.json";
  WriteFile(evidence_file, *checkpoints);
  auto [invalid_code, invalid_output] =
      RunMlctl({"evidence", "report", evidence_file + ".missing", "--to=" + a.address()});
  EXPECT_EQ(invalid_code, 2) << invalid_output;
  WriteFile(evidence_file + ".bad", *checkpoints + " ");
  std::tie(invalid_code, invalid_output) =
      RunMlctl({"evidence", "report", evidence_file + ".bad", "--to=" + a.address()});
  EXPECT_EQ(invalid_code, 1) << invalid_output;
  EXPECT_THAT(invalid_output, HasSubstr("INVALID: "));
  auto [report_code, report_output] =
      RunMlctl({"evidence", "report", evidence_file, "--to=" + a.address()});
  EXPECT_EQ(report_code, 0) << report_output;
  EXPECT_EQ(report_output,
            "REPORTED " + ledger + " checkpoints " + id + " frozen\n");
  DiskMirror fresh("fresh_mirror");
  ASSERT_TRUE(fresh.Start({"--follow=" + ledger + "@" + a.address()}).ok());
  auto fresh_admin = fresh.Admin();
  EXPECT_TRUE(WaitForMirror(
      *fresh_admin, ledger,
      [&](const v1::MirroredLedger& m) {
        return m.state() == "frozen" && m.evidence_id() == id;
      },
      absl::Seconds(20), &view))
      << Describe(view);
}

}  // namespace
}  // namespace microledger
