#include "serving/witness_client.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/checkpoint.h"
#include "common/cosignature.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "gtest/gtest.h"
#include "serving/http_server.h"
#include "serving/witness_flag.h"

namespace microledger {
namespace {

WitnessSigner MakeSigner(absl::string_view name) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  EXPECT_TRUE(key.ok());
  absl::StatusOr<WitnessSigner> signer = WitnessSigner::Create(name, *std::move(key));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

// A checkpoint of size 3 of a fresh ledger, signed by its key.
std::string SignedNote() {
  absl::StatusOr<SigningKey> ledger_key = SigningKey::Generate();
  EXPECT_TRUE(ledger_key.ok());
  Checkpoint checkpoint;
  checkpoint.origin = LedgerIdFromPublicKeyText(ledger_key->public_key_text());
  checkpoint.tree_size = 3;
  checkpoint.root_hash = HashMerkleLeaf("root");
  return SignCheckpoint(checkpoint, *ledger_key);
}

std::string NoteTextOf(absl::string_view note) {
  return std::string(note.substr(0, note.find("\n\n") + 1));
}

TEST(WitnessClientTest, BodyIsOldSizeProofLinesBlankLineAndNote) {
  const MerkleHash a = HashMerkleLeaf("a");
  const MerkleHash b = HashMerkleLeaf("b");
  EXPECT_EQ(AddCheckpointRequestBody(7, {a, b}, "NOTE"),
            absl::StrCat("old 7\n", EncodeBase64Std(MerkleHashBytes(a)), "\n",
                         EncodeBase64Std(MerkleHashBytes(b)), "\n\nNOTE"));
  EXPECT_EQ(AddCheckpointRequestBody(0, {}, "NOTE"), "old 0\n\nNOTE");
}

TEST(WitnessClientTest, AcceptsOnlyACosignatureThatVerifiesAgainstTheWitnessKey) {
  const WitnessSigner witness = MakeSigner("witness.example/a");
  const WitnessSigner other = MakeSigner("witness.example/a");  // Same name, other key.
  const std::string note = SignedNote();
  absl::StatusOr<std::string> line = witness.Cosign(NoteTextOf(note), 1700000000);
  ASSERT_TRUE(line.ok());
  WitnessResult good = ReadAddCheckpointAnswer(witness.key(), note, 200, *line);
  EXPECT_EQ(good.outcome, WitnessOutcome::kCosigned) << good.detail;
  EXPECT_EQ(good.cosignature_line, *line);

  absl::StatusOr<std::string> foreign = other.Cosign(NoteTextOf(note), 1700000000);
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(ReadAddCheckpointAnswer(witness.key(), note, 200, *foreign).outcome,
            WitnessOutcome::kInvalidAnswer);
  // A line of the right witness over another checkpoint.
  absl::StatusOr<std::string> elsewhere = witness.Cosign(NoteTextOf(SignedNote()), 1700000000);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(ReadAddCheckpointAnswer(witness.key(), note, 200, *elsewhere).outcome,
            WitnessOutcome::kInvalidAnswer);
  EXPECT_EQ(ReadAddCheckpointAnswer(witness.key(), note, 200, "").outcome,
            WitnessOutcome::kInvalidAnswer);
  // A line of another witness first is skipped.
  absl::StatusOr<std::string> third = MakeSigner("w3").Cosign(NoteTextOf(note), 1700000000);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(ReadAddCheckpointAnswer(witness.key(), note, 200, *third + *line).outcome,
            WitnessOutcome::kCosigned);
}

TEST(WitnessClientTest, ReadsEveryStatusOfTheProtocol) {
  const WitnessKey key = MakeSigner("w").key();
  const std::string note = SignedNote();
  WitnessResult conflict = ReadAddCheckpointAnswer(key, note, 409, "12\n");
  EXPECT_EQ(conflict.outcome, WitnessOutcome::kSizeConflict);
  EXPECT_EQ(conflict.witness_size, 12u);
  EXPECT_EQ(ReadAddCheckpointAnswer(key, note, 409, "0\n").witness_size, 0u);
  for (absl::string_view bad : {"", "x\n", "012\n", "-1\n", "18446744073709551616\n"}) {
    EXPECT_EQ(ReadAddCheckpointAnswer(key, note, 409, bad).outcome,
              WitnessOutcome::kInvalidAnswer)
        << bad;
  }
  WitnessResult frozen = ReadAddCheckpointAnswer(key, note, 422, "frozen uEiAbc\n");
  EXPECT_EQ(frozen.outcome, WitnessOutcome::kFrozen);
  EXPECT_EQ(frozen.evidence_id, "uEiAbc");
  EXPECT_EQ(ReadAddCheckpointAnswer(key, note, 422, "proof does not verify\n").outcome,
            WitnessOutcome::kInconsistent);
  EXPECT_EQ(ReadAddCheckpointAnswer(key, note, 400, "x").outcome, WitnessOutcome::kBadRequest);
  EXPECT_EQ(ReadAddCheckpointAnswer(key, note, 403, "x").outcome, WitnessOutcome::kForbidden);
  EXPECT_EQ(ReadAddCheckpointAnswer(key, note, 404, "x").outcome, WitnessOutcome::kNotFound);
  EXPECT_EQ(ReadAddCheckpointAnswer(key, note, 429, "x").outcome,
            WitnessOutcome::kTooManyRequests);
  WitnessResult other = ReadAddCheckpointAnswer(key, note, 500, "oops");
  EXPECT_EQ(other.outcome, WitnessOutcome::kInvalidAnswer);
  EXPECT_EQ(other.http_status, 500);
}

// A witness on 127.0.0.1 that records the body it got and cosigns every
// request with `signer`.
class FakeWitnessServer {
 public:
  explicit FakeWitnessServer(const WitnessSigner* signer) {
    server_.HandlePost("/prefix/add-checkpoint", [this, signer](const HttpRequest& request) {
      {
        absl::MutexLock lock(&mu_);
        bodies_.push_back(request.body);
      }
      const size_t blank = request.body.find("\n\n");
      const std::string note = request.body.substr(blank + 2);
      HttpResponse response;
      absl::StatusOr<std::string> line = signer->Cosign(NoteTextOf(note), 1700000000);
      response.body = line.ok() ? *line : "";
      return response;
    });
    EXPECT_TRUE(server_.Start("127.0.0.1:0").ok());
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", server_.port(), "/prefix"); }
  std::vector<std::string> bodies() {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
  HttpServer server_;
};

TEST(HttpWitnessClientTest, PostsTheBodyAndReturnsTheVerifiedLine) {
  const WitnessSigner witness = MakeSigner("witness.example");
  FakeWitnessServer server(&witness);
  absl::StatusOr<WitnessEndpoint> endpoint =
      ParseWitnessFlag(absl::StrCat(FormatWitnessVkey(witness.key()), "@", server.url()));
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  absl::StatusOr<std::unique_ptr<WitnessClient>> client =
      NewHttpWitnessClient(*endpoint, absl::Seconds(10));
  ASSERT_TRUE(client.ok());
  const std::string note = SignedNote();
  const MerkleHash proof = HashMerkleLeaf("p");
  WitnessResult result = (*client)->AddCheckpoint(2, {proof}, note);
  ASSERT_EQ(result.outcome, WitnessOutcome::kCosigned) << result.detail;
  EXPECT_TRUE(VerifyCosignatureLine(result.cosignature_line, NoteTextOf(note), witness.key()).ok());
  ASSERT_EQ(server.bodies().size(), 1u);
  EXPECT_EQ(server.bodies()[0], AddCheckpointRequestBody(2, {proof}, note));
}

TEST(HttpWitnessClientTest, NoListenerIsATransportError) {
  const WitnessSigner witness = MakeSigner("witness.example");
  int free_port = 0;
  {
    HttpServer probe;
    ASSERT_TRUE(probe.Start("127.0.0.1:0").ok());
    free_port = probe.port();
  }
  absl::StatusOr<std::unique_ptr<WitnessClient>> client = NewHttpWitnessClient(
      WitnessEndpoint{witness.key(), absl::StrCat("http://127.0.0.1:", free_port)},
      absl::Seconds(5));
  ASSERT_TRUE(client.ok());
  WitnessResult result = (*client)->AddCheckpoint(0, {}, SignedNote());
  EXPECT_EQ(result.outcome, WitnessOutcome::kTransportError);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_FALSE(result.detail.empty());
}

TEST(WitnessFlagTest, SplitsTheVkeyFromTheUrl) {
  const WitnessKey key = MakeSigner("witness@example").key();
  const std::string vkey = FormatWitnessVkey(key);
  absl::StatusOr<WitnessEndpoint> parsed =
      ParseWitnessFlag(absl::StrCat(vkey, "@https://w.example:8443/a/b"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->key.name, "witness@example");
  EXPECT_EQ(parsed->key.public_key, key.public_key);
  EXPECT_EQ(parsed->url, "https://w.example:8443/a/b");
  EXPECT_TRUE(ParseWitnessFlag(absl::StrCat(vkey, "@http://[::1]:80")).ok());
  for (const std::string& bad :
       {vkey, absl::StrCat(vkey, "@"), absl::StrCat(vkey, "@ftp://w.example"),
        absl::StrCat(vkey, "@http://"), absl::StrCat(vkey, "@http:///path"),
        absl::StrCat(vkey, "@http://w.example/"), absl::StrCat(vkey, "@http://w.example?q=1"),
        absl::StrCat(vkey, "@http://w.example#f"), absl::StrCat(vkey, "@http://w example"),
        absl::StrCat(vkey.substr(0, vkey.size() - 2), "AA@http://w.example"),
        std::string("name@http://w.example")}) {
    EXPECT_EQ(ParseWitnessFlag(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(WitnessFlagTest, RefusesTheSameWitnessTwice) {
  const WitnessKey a = MakeSigner("a").key();
  const WitnessKey b = MakeSigner("b").key();
  const WitnessKey a_again = MakeSigner("a").key();
  const auto flag = [](const WitnessKey& key) {
    return absl::StrCat(FormatWitnessVkey(key), "@http://127.0.0.1:1");
  };
  absl::StatusOr<std::vector<WitnessEndpoint>> two = ParseWitnessFlags({flag(a), flag(b)});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
  EXPECT_FALSE(ParseWitnessFlags({flag(a), flag(a_again)}).ok());
  EXPECT_FALSE(ParseWitnessFlags({flag(a), flag(a)}).ok());
}

}  // namespace
}  // namespace microledger
