#include "tests/owner/witness_set.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "httplib.h"
#include "tests/process/server_process.h"

namespace microledger {

absl::StatusOr<std::unique_ptr<WitnessSet>> WitnessSet::Start(int count) {
  std::unique_ptr<WitnessSet> set(new WitnessSet());
  for (int i = 1; i <= count; ++i) {
    absl::StatusOr<SigningKey> key = SigningKey::Generate();
    if (!key.ok()) return key.status();
    absl::StatusOr<WitnessSigner> signer =
        WitnessSigner::Create(absl::StrCat("witness-", i), *std::move(key));
    if (!signer.ok()) return signer.status();
    const std::string dir = NewTempDir(absl::StrCat("witness_", i));
    const std::string key_flag = WitnessKeyFileFlag(*signer, dir);
    if (key_flag.empty()) return absl::InternalError("cannot write a witness key file");
    absl::StatusOr<std::unique_ptr<WitnessProcess>> process =
        WitnessProcess::Start({key_flag, "--storage=rocksdb", "--data_dir=" + dir + "/data"});
    if (!process.ok()) return process.status();
    set->urls_.push_back(
        absl::StrCat("http://", (*process)->http_host(), ":", (*process)->http_port()));
    set->keys_.push_back(signer->key());
    set->processes_.push_back(*std::move(process));
  }
  return set;
}

std::vector<std::string> WitnessSet::AgentFlags(int quorum) const {
  std::vector<std::string> flags;
  for (size_t i = 0; i < keys_.size(); ++i) {
    flags.push_back(absl::StrCat("--witness=", FormatWitnessVkey(keys_[i]), "@", urls_[i]));
  }
  flags.push_back(absl::StrCat("--witness_quorum=", quorum));
  return flags;
}

void WitnessSet::Stop(int index) { processes_[index]->Stop(); }

std::pair<int, std::string> WitnessSet::Get(int index, const std::string& ledger_id,
                                            const std::string& what) const {
  httplib::Client client(processes_[index]->http_host(), processes_[index]->http_port());
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  httplib::Result result =
      client.Get(absl::StrCat("/", absl::BytesToHexString(Sha256(ledger_id)), "/", what));
  if (!result) return {0, ""};
  return {result->status, result->body};
}

}  // namespace microledger
