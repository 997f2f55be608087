// Discovery end to end (SPEC §13, issue #12) through a private OpenDHT network
// of three real dhtnode processes on loopback: ml-host announces its ledgers
// through one node; mlctl resolve and mlctl --from=dht find them through
// another; forged values put straight through a proxy are ignored and valid
// evidence reports the ledger frozen; an owner agent whose ledger's host
// moved to another port finds it through the DHT and appends there, and
// keeps the new address. Real ml-host, ml-owner and mlctl processes; every
// wait is bounded (DHT propagation: polls of at most 20 s).
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "common/checkpoint.h"
#include "common/locator.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "serving/dht_client.h"
#include "tests/dht/dht_cluster.h"
#include "tests/host/host_process.h"
#include "tests/mirror/mirror_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kPropagation = absl::Seconds(20);

struct Output {
  int code = -1;
  std::string text;  // stdout and stderr together
};

Output Mlctl(const std::vector<std::string>& args) {
  auto [code, text] = ServerProcess::RunToExit({"tools/mlctl", args, {}});
  return {code, text};
}

// Runs `args` until `done` holds for its output (at most kPropagation); the
// last output.
Output MlctlUntil(const std::vector<std::string>& args,
                  const std::function<bool(const Output&)>& done) {
  const absl::Time deadline = absl::Now() + kPropagation;
  Output output;
  while (true) {
    output = Mlctl(args);
    if (done(output) || absl::Now() > deadline) return output;
    absl::SleepFor(absl::Milliseconds(200));
  }
}

int Lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// ml-host with a RocksDB data directory on a chosen loopback port, announcing
// its ledgers through `proxy` as grpc://127.0.0.1:PORT.
std::unique_ptr<HostProcess> StartHost(const std::string& data_dir, int port,
                                       const std::string& proxy) {
  const std::string address = absl::StrCat("127.0.0.1:", port);
  absl::StatusOr<std::unique_ptr<HostProcess>> host = HostProcess::Start(
      {"--storage=rocksdb", "--data_dir=" + data_dir, "--listen=" + address,
       "--dht_proxy=" + proxy, "--announce_url=grpc://" + address});
  EXPECT_TRUE(host.ok()) << host.status();
  return host.ok() ? *std::move(host) : nullptr;
}

std::unique_ptr<AgentProcess> StartAgent(const std::string& keystore, const std::string& host,
                                         std::vector<std::string> more = {}) {
  more.push_back("--keystore=" + keystore);
  more.push_back("--host=" + host);
  more.push_back("--append_timeout_seconds=10");
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start(more);
  EXPECT_TRUE(agent.ok()) << agent.status();
  return agent.ok() ? *std::move(agent) : nullptr;
}

std::string HostOf(AgentStub& stub, const std::string& ledger) {
  v1::ListLedgersResponse list;
  EXPECT_TRUE(stub.ListLedgers(Ctx().get(), v1::ListLedgersRequest(), &list).ok());
  for (const auto& entry : list.ledgers()) {
    if (entry.ledger_id() == ledger) return entry.host_address();
  }
  return "";
}

using DiscoveryTest = ThreeNodeDhtTest;

// (a) Announced through node 1, found through node 3; verified from there.
TEST_F(DiscoveryTest, HostAnnouncesResolveAndVerifyFromDht) {
  const int port = FreePort();
  auto host = StartHost(NewTempDir("discovery_a_host") + "/db", port, cluster_->proxy_url(0));
  ASSERT_NE(host, nullptr);
  auto agent = StartAgent(NewTempDir("discovery_a_agent") + "/ks", host->address());
  ASSERT_NE(agent, nullptr);
  std::string ledger;
  grpc::Status status =
      CreateLedgerWithEvents(*agent->Stub(), 3, R"({"event":"paid"})", &ledger);
  ASSERT_TRUE(status.ok()) << Msg(status);

  const std::string url = absl::StrCat("grpc://127.0.0.1:", port);
  const std::string proxy3 = "--dht_proxy=" + cluster_->proxy_url(2);
  const absl::Time start = absl::Now();
  Output resolved = MlctlUntil({"resolve", ledger, proxy3},
                               [](const Output& o) { return o.code == 0; });
  std::printf("resolved through node 3 after %.1f s\n",
              absl::ToDoubleSeconds(absl::Now() - start));
  ASSERT_EQ(resolved.code, 0) << resolved.text;
  EXPECT_THAT(resolved.text, testing::MatchesRegex(
                                 "host " + url +
                                 " expires 20[0-9-]+T[0-9:.]+Z seq [0-9]+\n"));

  Output verified = Mlctl({"verify", ledger, "--from=dht", proxy3});
  EXPECT_EQ(verified.code, 0) << verified.text;
  EXPECT_EQ(verified.text, "OK " + ledger + " 4 blocks\n");
  Output shown = Mlctl({"show", ledger, "--from=dht", proxy3});
  EXPECT_EQ(shown.code, 0) << shown.text;
  EXPECT_THAT(shown.text, HasSubstr("server:        127.0.0.1:" + std::to_string(port)));
  Output tail = Mlctl({"tail", ledger, "--from=dht", proxy3});
  EXPECT_EQ(tail.code, 0) << tail.text;
  EXPECT_EQ(Lines(tail.text), 4) << tail.text;

  // The host gone: the DHT still names it, nothing answers (exit 2, one line).
  host.reset();
  Output unreachable = Mlctl({"verify", ledger, "--from=dht", proxy3, "--timeout_seconds=2"});
  EXPECT_EQ(unreachable.code, 2) << unreachable.text;
  EXPECT_EQ(Lines(unreachable.text), 1) << unreachable.text;
  EXPECT_THAT(unreachable.text, HasSubstr(url));
}

// A mirror given only the ledger id finds the host through the DHT, follows
// it, announces itself beside the host, and keeps serving (and being found)
// when the host is gone.
TEST_F(DiscoveryTest, MirrorFollowsByIdAndIsFoundBesideTheHost) {
  const int host_port = FreePort();
  auto host =
      StartHost(NewTempDir("discovery_m_host") + "/db", host_port, cluster_->proxy_url(0));
  ASSERT_NE(host, nullptr);
  auto agent = StartAgent(NewTempDir("discovery_m_agent") + "/ks", host->address());
  ASSERT_NE(agent, nullptr);
  std::string ledger;
  grpc::Status status =
      CreateLedgerWithEvents(*agent->Stub(), 3, R"({"event":"paid"})", &ledger);
  ASSERT_TRUE(status.ok()) << Msg(status);

  const int mirror_port = FreePort();
  const std::string mirror_url = absl::StrCat("grpc://127.0.0.1:", mirror_port);
  absl::StatusOr<std::unique_ptr<MirrorProcess>> mirror = MirrorProcess::Start(
      {"--storage=memory", AdminSocketFlag(), absl::StrCat("--listen=127.0.0.1:", mirror_port),
       "--dht_proxy=" + cluster_->proxy_url(1),
       "--announce_url=" + mirror_url, "--follow=" + ledger});
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  std::unique_ptr<v1::MirrorAdmin::Stub> admin = (*mirror)->Admin();
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 4, kPropagation));
  absl::StatusOr<v1::MirroredLedger> followed = MirrorStatus(*admin, ledger);
  ASSERT_TRUE(followed.ok()) << followed.status();
  EXPECT_EQ(followed->upstream(), "dht");
  EXPECT_EQ(followed->state(), "following");

  // Both records, host first, through the third node.
  const std::string proxy3 = "--dht_proxy=" + cluster_->proxy_url(2);
  const std::string host_url = absl::StrCat("grpc://127.0.0.1:", host_port);
  Output resolved = MlctlUntil({"resolve", ledger, proxy3}, [&](const Output& o) {
    return o.code == 0 && o.text.find("mirror " + mirror_url) != std::string::npos;
  });
  ASSERT_EQ(resolved.code, 0) << resolved.text;
  EXPECT_THAT(resolved.text,
              testing::MatchesRegex("host " + host_url + " expires [^\n]*\nmirror " +
                                    mirror_url + " expires [^\n]*\n"));

  // The host gone: --from=dht reaches the mirror, and it verifies.
  host.reset();
  Output verified = Mlctl({"verify", ledger, "--from=dht", proxy3, "--timeout_seconds=2"});
  EXPECT_EQ(verified.code, 0) << verified.text;
  EXPECT_EQ(verified.text, "OK " + ledger + " 4 blocks\n");
}

// A locator record's JCS, signed by `signer` (any role and key: for the
// forgeries SignLocatorRecord refuses to make).
std::string ForgeRecord(const std::string& ledger, const std::string& role,
                        const SigningKey& signer, int64_t seq, int64_t expires_millis,
                        const std::vector<std::string>& urls) {
  nlohmann::json record = {
      {"locator", std::string(kLocatorFormat)},
      {"ledger", ledger},
      {"role", role},
      {"key", signer.public_key_text()},
      {"seq", seq},
      {"expires", FormatTimestampMillis(expires_millis)},
      {"urls", urls},
  };
  // Sorted members, ASCII strings, an integer: dump() is the JCS.
  record["sig"] = signer.SignText(absl::StrCat(kLocatorFormat, " ", record.dump()));
  return record.dump();
}

// (b) Forged values next to one valid record: only the record is printed;
// valid evidence makes resolve report the ledger frozen.
TEST_F(DiscoveryTest, ForgedValuesAreIgnoredEvidenceFreezes) {
  SigningKey ledger_key = *SigningKey::Generate();
  SigningKey other_key = *SigningKey::Generate();
  SigningKey another_ledger_key = *SigningKey::Generate();
  const std::string ledger = LedgerIdFromPublicKeyText(ledger_key.public_key_text());
  const std::string another_ledger =
      LedgerIdFromPublicKeyText(another_ledger_key.public_key_text());
  const std::string key = *DhtKeyHex(ledger);
  absl::StatusOr<std::unique_ptr<DhtClient>> made =
      NewDhtProxyClient(cluster_->proxy_url(0), absl::Seconds(5));
  ASSERT_TRUE(made.ok()) << made.status();
  DhtClient& dht = **made;
  auto put_plaintext = [&](const std::string& plaintext) {
    absl::StatusOr<std::string> value = EncryptValueData(ledger, plaintext);
    ASSERT_TRUE(value.ok()) << value.status();
    ASSERT_TRUE(dht.Put(key, *value, DhtValueId(*value)).ok());
  };
  const int64_t now = NowMillis();
  const int64_t hour = 3600 * 1000;
  const std::vector<std::string> urls = {"grpc://127.0.0.1:7400"};

  put_plaintext(ForgeRecord(ledger, "host", ledger_key, now, now + hour, urls));
  // A bad signature (over another message).
  std::string bad_sig = ForgeRecord(ledger, "host", ledger_key, now + 1, now + hour,
                                    {"grpc://10.9.9.1:1"});
  const size_t sig = bad_sig.find("\"sig\":\"u") + 8;
  bad_sig.replace(sig, 86, ledger_key.SignText("another message").substr(1));
  put_plaintext(bad_sig);
  // A host record signed by another key.
  put_plaintext(ForgeRecord(ledger, "host", other_key, now, now + hour, {"grpc://10.9.9.2:1"}));
  // A valid record of another ledger, encrypted for this one.
  put_plaintext(ForgeRecord(another_ledger, "host", another_ledger_key, now, now + hour,
                            {"grpc://10.9.9.3:1"}));
  // Expired an hour ago.
  put_plaintext(ForgeRecord(ledger, "host", ledger_key, now - 47 * hour, now - hour,
                            {"grpc://10.9.9.4:1"}));
  // Not decryptable: random bytes, and 100 junk values.
  std::string random(200, '\0');
  for (char& c : random) c = static_cast<char>(std::rand());
  ASSERT_TRUE(dht.Put(key, random, DhtValueId(random)).ok());
  for (int i = 0; i < 100; ++i) {
    const std::string junk = absl::StrCat(i % 2 == 0 ? "MLD1" : "", "junk value ", i, random);
    ASSERT_TRUE(dht.Put(key, junk, DhtValueId(junk)).ok());
  }

  const std::string proxy3 = "--dht_proxy=" + cluster_->proxy_url(2);
  // Every value has arrived when --verbose drops 105 of them.
  Output verbose = MlctlUntil({"resolve", ledger, proxy3, "--verbose"}, [](const Output& o) {
    return o.code == 0 && std::count(o.text.begin(), o.text.end(), '\n') >= 106;
  });
  ASSERT_EQ(verbose.code, 0) << verbose.text;
  EXPECT_EQ(Lines(verbose.text), 106) << verbose.text;
  EXPECT_THAT(verbose.text, HasSubstr("dropped: "));
  Output resolved = Mlctl({"resolve", ledger, proxy3});
  EXPECT_EQ(resolved.code, 0) << resolved.text;
  EXPECT_EQ(resolved.text,
            absl::StrCat("host grpc://127.0.0.1:7400 expires ",
                         FormatTimestampMillis(now + hour), " seq ", now, "\n"));

  // Another ledger: nothing under its key (exit 1, one line).
  Output none = Mlctl({"resolve", another_ledger, proxy3});
  EXPECT_EQ(none.code, 1) << none.text;
  EXPECT_EQ(none.text, "mlctl resolve: no locator record found\n");

  // SPEC §11 evidence of this ledger (two checkpoints of one size, signed by
  // its key).
  Checkpoint a{ledger, 3, {}};
  Checkpoint b{ledger, 3, {}};
  b.root_hash[0] = 1;
  absl::StatusOr<std::string> evidence =
      BuildCheckpointsEvidence(ledger, SignCheckpoint(a, ledger_key), SignCheckpoint(b, ledger_key));
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  put_plaintext(*evidence);
  Output frozen = MlctlUntil({"resolve", ledger, proxy3}, [](const Output& o) {
    return absl::StrContains(o.text, "frozen");
  });
  EXPECT_EQ(frozen.code, 0) << frozen.text;
  EXPECT_THAT(frozen.text, HasSubstr("host grpc://127.0.0.1:7400 expires"));
  EXPECT_THAT(frozen.text, HasSubstr("evidence checkpoints " + EvidenceId(*evidence) + "\n"));
  EXPECT_THAT(frozen.text, HasSubstr("frozen: "));
  EXPECT_EQ(Lines(frozen.text), 3) << frozen.text;
  EXPECT_THAT(frozen.text, Not(HasSubstr("dropped")));
}

// (c) The host moves to another port (same data); the agent, its recorded
// address dead, finds it through the DHT, appends there and keeps the
// address.
TEST_F(DiscoveryTest, AgentFollowsAMovedHost) {
  const std::string data_dir = NewTempDir("discovery_c_host") + "/db";
  const int first_port = FreePort();
  auto host = StartHost(data_dir, first_port, cluster_->proxy_url(0));
  ASSERT_NE(host, nullptr);
  const std::string keystore = NewTempDir("discovery_c_agent") + "/ks";
  auto agent = StartAgent(keystore, host->address(), {"--dht_proxy=" + cluster_->proxy_url(1)});
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  std::string ledger;
  grpc::Status status = CreateLedgerWithEvents(*stub, 2, R"({"event":"e"})", &ledger);
  ASSERT_TRUE(status.ok()) << Msg(status);

  host.reset();
  int second_port = FreePort();
  while (second_port == first_port) second_port = FreePort();
  host = StartHost(data_dir, second_port, cluster_->proxy_url(0));
  ASSERT_NE(host, nullptr);

  // Until the new record has reached the agent's node the append fails
  // UNAVAILABLE (the first one also because it went to the dead address).
  const absl::Time deadline = absl::Now() + kPropagation;
  v1::BlockOutcome outcome;
  do {
    status = Append(*stub, ledger, R"({"event":"after the move"})", &outcome);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 4u);
  EXPECT_EQ(HostOf(*stub, ledger), host->address());
  EXPECT_EQ(HostHead(host->address(), ledger), 4u);

  // Restarted without the DHT, the agent writes to the saved address.
  agent.reset();
  agent = StartAgent(keystore, "127.0.0.1:1");
  ASSERT_NE(agent, nullptr);
  stub = agent->Stub();
  EXPECT_EQ(HostOf(*stub, ledger), host->address());
  status = Append(*stub, ledger, R"({"event":"saved address"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 5u);
}

// (c') An agent started with its ledger's recorded host already gone finds
// the host on its next write; a read (VerifyLedger) does too.
TEST_F(DiscoveryTest, RestartedAgentFindsTheHostForReadsAndWrites) {
  const std::string data_dir = NewTempDir("discovery_c2_host") + "/db";
  auto host = StartHost(data_dir, FreePort(), cluster_->proxy_url(0));
  ASSERT_NE(host, nullptr);
  const std::string keystore = NewTempDir("discovery_c2_agent") + "/ks";
  std::string ledger;
  {
    auto agent = StartAgent(keystore, host->address());
    ASSERT_NE(agent, nullptr);
    grpc::Status status = CreateLedgerWithEvents(*agent->Stub(), 1, R"({"event":"e"})", &ledger);
    ASSERT_TRUE(status.ok()) << Msg(status);
  }
  const std::string old_address = host->address();
  host.reset();
  host = StartHost(data_dir, FreePort(), cluster_->proxy_url(0));
  ASSERT_NE(host, nullptr);
  ASSERT_NE(host->address(), old_address);
  auto agent = StartAgent(keystore, old_address, {"--dht_proxy=" + cluster_->proxy_url(2)});
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();

  const absl::Time deadline = absl::Now() + kPropagation;
  v1::VerifyLedgerRequest request;
  request.set_ledger_id(ledger);
  v1::VerifyLedgerResponse verified;
  grpc::Status status;
  do {
    status = stub->VerifyLedger(Ctx().get(), request, &verified);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_TRUE(verified.ok()) << verified.verdict();
  EXPECT_EQ(verified.blocks(), 2u);
  EXPECT_EQ(HostOf(*stub, ledger), host->address());
  v1::BlockOutcome outcome;
  status = Append(*stub, ledger, R"({"event":"x"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 3u);
}

}  // namespace
}  // namespace microledger
