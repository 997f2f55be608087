#include "common/locator.h"

#include <sodium.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/block.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "common/json.h"
#include "common/test_chain.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kSkew = 300 * 1000;

SigningKey KeyFromSeed(uint8_t byte) {
  return *SigningKey::FromSeed(std::vector<uint8_t>(kEd25519SeedSize, byte));
}

// The SPEC §13 record key of a ledger key, written out from the spec.
std::string RecordKey(absl::string_view raw_ledger_key) {
  return Sha256(absl::StrCat("microledger-dht-enc-v1\n", raw_ledger_key));
}

// "MLD1" ‖ nonce ‖ XChaCha20-Poly1305(plaintext) under `record_key` with
// associated data `ad`, made with libsodium directly (no size limit).
std::string SealWith(absl::string_view record_key, absl::string_view ad,
                     absl::string_view plaintext) {
  EnsureSodiumInitialized();
  std::string nonce(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  std::string sealed(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long written = 0;
  const auto bytes = [](absl::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
  };
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(sealed.data()), &written, bytes(plaintext),
      plaintext.size(), bytes(ad), ad.size(), nullptr, bytes(nonce), bytes(record_key));
  return absl::StrCat("MLD1", nonce, sealed);
}

// `plaintext` (a signed record) after `mutate` edits its JSON, signed again by
// `key` over the SPEC §13 message as written out here: a record that breaks
// only the rule a test broke, with a signature that verifies.
template <typename Mutate>
std::string Resigned(absl::string_view plaintext, const SigningKey& key, Mutate mutate) {
  Json json = *ParseJson(plaintext);
  mutate(json);
  json.erase("sig");
  json["sig"] = key.SignText(absl::StrCat("microledger-locator-v1 ", CanonicalJson(json)));
  return CanonicalJson(json);
}

// A ledger (TestChain's host key) with two blocks, so that it can fork for
// evidence; two mirror keys; another ledger. The reader's clock is kNow.
class LocatorTest : public testing::Test {
 protected:
  void SetUp() override {
    chain_.AppendEvents(2);
    other_chain_.AppendEvents(2);
    now_ = *ParseTimestampMillis("2026-12-06T10:00:00.000Z");
  }

  const std::string& ledger() const { return chain_.ledger_id(); }
  const SigningKey& host() const { return chain_.host(); }
  const std::string& other_ledger() const { return other_chain_.ledger_id(); }
  std::string raw_ledger_key() const { return host().public_key(); }

  // A record made at now + `made` (ms), living `lifetime` ms.
  LocatorRecord Record(LocatorRole role, std::vector<std::string> urls, int64_t made = 0,
                       int64_t lifetime = 24 * kHour) const {
    LocatorRecord record;
    record.ledger = ledger();
    record.role = role;
    record.seq = now_ + made;
    record.expires = FormatTimestampMillis(now_ + made + lifetime);
    record.urls = std::move(urls);
    return record;
  }
  std::string HostPlaintext(std::vector<std::string> urls, int64_t made = 0,
                            int64_t lifetime = 24 * kHour) const {
    absl::StatusOr<std::string> plaintext =
        SignLocatorRecord(Record(LocatorRole::kHost, std::move(urls), made, lifetime), host());
    EXPECT_TRUE(plaintext.ok()) << plaintext.status();
    return *plaintext;
  }
  std::string MirrorPlaintext(const SigningKey& mirror, std::vector<std::string> urls,
                              int64_t made = 0, int64_t lifetime = 24 * kHour) const {
    absl::StatusOr<std::string> plaintext = SignLocatorRecord(
        Record(LocatorRole::kMirror, std::move(urls), made, lifetime), mirror);
    EXPECT_TRUE(plaintext.ok()) << plaintext.status();
    return *plaintext;
  }

  std::string Value(absl::string_view plaintext) const {
    absl::StatusOr<std::string> data = EncryptValueData(ledger(), plaintext);
    EXPECT_TRUE(data.ok()) << data.status();
    return *data;
  }
  ResolvedLedger Resolve(const std::vector<std::string>& values) const {
    return ResolveLocatorValues(ledger(), values, now_);
  }
  // The reason the reader drops the one value `plaintext` ("" if kept).
  std::string DropReason(absl::string_view plaintext) const {
    ResolvedLedger resolved = Resolve({Value(plaintext)});
    if (resolved.dropped.empty()) return "";
    EXPECT_THAT(resolved.records, IsEmpty());
    EXPECT_THAT(resolved.urls, IsEmpty());
    EXPECT_THAT(resolved.evidence, IsEmpty());
    return resolved.dropped[0];
  }

  // Blocks evidence of `chain`: two blocks 3, their `to` members `x` and `y`.
  static std::string BlocksEvidence(const TestChain& chain, absl::string_view x,
                                    absl::string_view y) {
    absl::StatusOr<std::string> evidence = BuildBlocksEvidence(
        chain.ledger_id(),
        SerializeBlock(chain.Make({{"event", "paid"}, {"to", std::string(x)}})),
        SerializeBlock(chain.Make({{"event", "paid"}, {"to", std::string(y)}})));
    EXPECT_TRUE(evidence.ok()) << evidence.status();
    return *evidence;
  }

  TestChain chain_{1, 1};
  TestChain other_chain_{1, 1};
  SigningKey mirror_ = KeyFromSeed(0x4d);
  SigningKey mirror2_ = KeyFromSeed(0x4e);
  int64_t now_ = 0;
};

// --- DHT key, value id and value data: byte-exact. ---

// Expected values computed outside this code, with python3:
//   pk = bytes(range(32)); ledger = "jlinx:u" + urlsafe_b64encode(pk) unpadded
//   sha256(b"microledger-dht-key-v1\n" + pk).digest()[:20].hex()
//   int.from_bytes(sha256(data).digest()[:8], "big")
// and the value data with an XChaCha20-Poly1305 written in Python (HChaCha20,
// checked against draft-irtf-cfrg-xchacha §2.2.1, then cryptography's IETF
// ChaCha20Poly1305 with nonce 0^4 ‖ nonce[16:24]): key
// sha256(b"microledger-dht-enc-v1\n" + pk), nonce bytes 0x40..0x57, associated
// data b"MLD1" + the 20 DHT key bytes, plaintext {"hello":"world"}.
TEST(LocatorKnownAnswerTest, DhtKeyValueIdAndValueData) {
  const std::string ledger = "jlinx:uAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  EXPECT_EQ(*DhtKeyHex(ledger), "006b7f81bc587bdcc18ac90e5bce6f8d4af74b5d");
  EXPECT_EQ(DhtValueId(""), 16406829232824261652u);
  EXPECT_EQ(DhtValueId("MLD1"), 17044382249466894578u);
  EXPECT_EQ(DhtValueId("microledger"), 2761950562203661172u);
  const std::string value = absl::HexStringToBytes(
      "4d4c4431404142434445464748494a4b4c4d4e4f5051525354555657e26f71a38c454f67826005b211"
      "581af68034b6c40783ce8a2f4692094665debef5");
  EXPECT_EQ(DhtValueId(value), 2598189331240760745u);
  absl::StatusOr<std::string> plaintext = DecryptValueData(ledger, value);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status();
  EXPECT_EQ(*plaintext, R"({"hello":"world"})");
}

TEST(LocatorKnownAnswerTest, DhtKeyNeedsALedgerId) {
  EXPECT_FALSE(DhtKeyHex("jlinx:uAAEC").ok());
  EXPECT_FALSE(DhtKeyHex("uAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").ok());
  EXPECT_FALSE(EncryptValueData("nope", "{}").ok());
  EXPECT_FALSE(DecryptValueData("nope", "MLD1").ok());
}

TEST_F(LocatorTest, ValueDataRoundTrip) {
  const std::string plaintext = HostPlaintext({"grpcs://h1.example:7400"});
  const std::string first = Value(plaintext);
  const std::string second = Value(plaintext);
  EXPECT_THAT(first, StartsWith("MLD1"));
  EXPECT_EQ(first.size(), 4 + 24 + plaintext.size() + 16);
  EXPECT_NE(first, second) << "a fresh nonce each time";
  EXPECT_EQ(*DecryptValueData(ledger(), first), plaintext);
  EXPECT_EQ(*DecryptValueData(ledger(), second), plaintext);
}

TEST_F(LocatorTest, ValueDataIsAtMost4096Bytes) {
  const std::string largest(4052, 'x');
  absl::StatusOr<std::string> data = EncryptValueData(ledger(), largest);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->size(), 4096u);
  EXPECT_EQ(*DecryptValueData(ledger(), *data), largest);
  absl::StatusOr<std::string> too_long = EncryptValueData(ledger(), largest + "x");
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> plaintext = DecryptValueData(
      ledger(), SealWith(RecordKey(raw_ledger_key()),
                         absl::StrCat("MLD1", absl::HexStringToBytes(*DhtKeyHex(ledger()))),
                         largest + "x"));
  EXPECT_THAT(std::string(plaintext.status().message()), StartsWith("value data: 4097 bytes"));
}

TEST_F(LocatorTest, TamperedValueDataDoesNotDecrypt) {
  const std::string data = Value("{}");
  for (size_t i = 0; i < data.size(); ++i) {
    std::string tampered = data;
    tampered[i] ^= 0x01;
    EXPECT_FALSE(DecryptValueData(ledger(), tampered).ok()) << "byte " << i;
  }
  EXPECT_FALSE(DecryptValueData(ledger(), data.substr(0, data.size() - 1)).ok());
  EXPECT_FALSE(DecryptValueData(ledger(), data.substr(0, 43)).ok());
  EXPECT_FALSE(DecryptValueData(ledger(), "").ok());
}

// The associated data binds the DHT key: value data sealed with the ledger's
// record key decrypts only with "MLD1" ‖ the ledger's own DHT key as AD.
TEST_F(LocatorTest, AssociatedDataBindsTheDhtKey) {
  const std::string record_key = RecordKey(raw_ledger_key());
  const std::string dht_key = absl::HexStringToBytes(*DhtKeyHex(ledger()));
  const std::string other_dht_key = absl::HexStringToBytes(*DhtKeyHex(other_ledger()));
  EXPECT_EQ(*DecryptValueData(ledger(), SealWith(record_key, "MLD1" + dht_key, "{}")), "{}");
  EXPECT_FALSE(DecryptValueData(ledger(), SealWith(record_key, "MLD1" + other_dht_key, "{}")).ok());
  EXPECT_FALSE(DecryptValueData(ledger(), SealWith(record_key, "MLD1", "{}")).ok());
  EXPECT_FALSE(DecryptValueData(ledger(), SealWith(record_key, dht_key, "{}")).ok());
  // And a value moved under another ledger's key does not decrypt there.
  EXPECT_FALSE(DecryptValueData(other_ledger(), Value("{}")).ok());
}

// --- Signing. ---

TEST_F(LocatorTest, SignedRecordIsJcsSignedOverThePrefixAndTheRecordWithoutSig) {
  const std::string plaintext = HostPlaintext({"grpcs://h1.example:7400"});
  Json json = *ParseJson(plaintext);
  EXPECT_EQ(CanonicalJson(json), plaintext);
  EXPECT_EQ(json.size(), 8u);
  EXPECT_EQ(json["locator"], "microledger-locator-v1");
  EXPECT_EQ(json["ledger"], ledger());
  EXPECT_EQ(json["role"], "host");
  EXPECT_EQ(json["key"], host().public_key_text());
  EXPECT_EQ(json["seq"].get<double>(), static_cast<double>(now_));
  EXPECT_EQ(json["expires"], "2026-12-07T10:00:00.000Z");
  const std::string sig = json["sig"].get<std::string>();
  json.erase("sig");
  EXPECT_TRUE(VerifyEd25519Text(host().public_key_text(),
                                absl::StrCat("microledger-locator-v1 ", CanonicalJson(json)),
                                sig, "sig")
                  .ok());
  absl::StatusOr<LocatorRecord> record = VerifyLocatorPlaintext(ledger(), plaintext, now_);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->key, host().public_key_text());
  EXPECT_EQ(record->seq, now_);
  EXPECT_THAT(record->urls, ElementsAre("grpcs://h1.example:7400"));
}

TEST_F(LocatorTest, SignRefusesRecordsThatBreakARule) {
  const auto refusal = [&](LocatorRecord record, const SigningKey& key) {
    absl::StatusOr<std::string> plaintext = SignLocatorRecord(std::move(record), key);
    EXPECT_EQ(plaintext.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(plaintext.status().message());
  };
  const std::vector<std::string> urls = {"grpcs://h1.example:7400"};
  EXPECT_THAT(refusal(Record(LocatorRole::kHost, urls), mirror_), StartsWith("locator: key:"));
  EXPECT_THAT(refusal(Record(LocatorRole::kMirror, urls), host()), StartsWith("locator: key:"));
  LocatorRecord record = Record(LocatorRole::kHost, urls);
  record.ledger = "jlinx:nope";
  EXPECT_THAT(refusal(record, host()), StartsWith("locator: ledger:"));
  record = Record(LocatorRole::kHost, urls);
  record.seq = int64_t{1} << 53;
  record.expires = FormatTimestampMillis(record.seq + kHour);
  EXPECT_THAT(refusal(record, host()), StartsWith("locator: seq:"));
  record.seq = -1;
  record.expires = FormatTimestampMillis(kHour);
  EXPECT_THAT(refusal(record, host()), StartsWith("locator: seq:"));
  EXPECT_THAT(refusal(Record(LocatorRole::kHost, urls, 0, 48 * kHour + 1), host()),
              StartsWith("locator: expires:"));
  EXPECT_THAT(refusal(Record(LocatorRole::kHost, urls, 0, 0), host()),
              StartsWith("locator: expires:"));
  record = Record(LocatorRole::kHost, urls);
  record.expires = "2026-12-07T10:00:00Z";
  EXPECT_THAT(refusal(record, host()), StartsWith("locator: expires:"));
  EXPECT_THAT(refusal(Record(LocatorRole::kHost, {}), host()), StartsWith("locator: urls:"));
  EXPECT_THAT(refusal(Record(LocatorRole::kHost, {"grpc://a:1", "grpc://b:1", "grpc://c:1",
                                                  "grpc://d:1", "grpc://e:1"}),
                      host()),
              StartsWith("locator: urls:"));
  EXPECT_THAT(refusal(Record(LocatorRole::kHost, {"grpc://a:1", "grpc://a:1"}), host()),
              StartsWith("locator: urls:"));
  // The limits themselves are fine.
  EXPECT_TRUE(SignLocatorRecord(Record(LocatorRole::kHost, urls, 0, 48 * kHour), host()).ok());
  EXPECT_TRUE(SignLocatorRecord(Record(LocatorRole::kMirror, {"grpc://a:1", "grpc://b:1",
                                                                "grpc://c:1", "grpc://d:1"}),
                                mirror_)
                  .ok());
}

// --- URL forms. ---

std::string Url200() {
  std::string url = "https://h.example/";
  url.append(200 - url.size(), 'p');
  return url;
}

const char* const kGoodUrls[] = {
    "grpc://h1.example:7400",
    "grpcs://h1.example:7400",
    "grpc://localhost:1",
    "grpcs://h1.example:65535",
    "https://h1.example",
    "https://h1.example:8443",
    "https://h1.example/",
    "https://h1.example//a//",
    "https://h1.example/ledgers/read?a=b&c=%2F%aF",
    "https://h1.example?",
    "https://h1.example?q/a?b:@",
    "https://h1.example:443/a:b@c!$&'()*+,;=-._~",
    "https://EXAMPLE.com/X",
    "https://a-b.c0.9d",
    "https://x",
    "grpc://192.0.2.1:7400",
    "https://0.0.0.0",
    "https://255.255.255.255:443",
    // Literally a DNS name (labels of digits), so accepted although not IPv4.
    "https://256.1.1.01",
    "grpcs://[2001:db8::1]:7400",
    "https://[::1]",
    "https://[::]",
    "https://[1::]",
    "https://[1:2:3:4:5:6:7::]",
    "https://[::2:3:4:5:6:7:8]",
    "https://[1:2:3:4:5:6:7:8]",
    "https://[0001:00:ABCD:ef::]",
    "https://[::ffff:192.0.2.1]:443/p",
    "https://[1:2:3:4:5:6:1.2.3.4]",
    "https://[1::5:6:255.255.255.255]",
};

const char* const kBadUrls[] = {
    "",
    "http://h1.example",
    "HTTPS://h1.example",
    "Grpc://h1.example:7400",
    "grpc:/h1.example:7400",
    "ftp://h1.example",
    // PORT
    "grpc://h1.example",
    "grpcs://h1.example:",
    "https://h1.example:",
    "grpc://h1.example:0",
    "grpc://h1.example:65536",
    "grpc://h1.example:99999",
    "grpc://h1.example:123456",
    "grpc://h1.example:07400",
    "grpc://h1.example:+1",
    "grpc://h1.example:-1",
    "grpc://h1.example:1:2",
    "grpc://h1.example:7400/",
    "grpc://h1.example:7400?a",
    "grpc://h1.example:7400 ",
    "https://h1.example:443x/",
    // HOST: DNS names
    "https://",
    "https:///path",
    "grpc://:7400",
    "https://user@h1.example",
    "https://-h.example",
    "https://h-.example",
    "https://h.-example",
    "https://h..example",
    "https://h.example.",
    "https://.h.example",
    "https://h_x.example",
    "https://h x.example",
    "https://h\xC3\xA9.example",
    "https://1.2.3.4.",
    "https://1..2.3",
    // HOST: IPv6
    "https://2001:db8::1",
    "https://[2001:db8::1",
    "https://2001:db8::1]",
    "https://[2001:db8::1%25eth0]",
    "https://[fe80::1%eth0]",
    "https://[]",
    "https://[:]",
    "https://[:::]",
    "https://[1:2:3:4:5:6:7]",
    "https://[1:2:3:4:5:6:7:8:9]",
    "https://[1:2:3:4:5:6:7:8::]",
    "https://[::1:2:3:4:5:6:7:8]",
    "https://[1::2::3]",
    "https://[:1::2]",
    "https://[1::2:]",
    "https://[12345::]",
    "https://[g::]",
    "https://[::1.2.3.04]",
    "https://[::1.2.3.256]",
    "https://[::1.2.3]",
    "https://[1.2.3.4::]",
    "https://[1.2.3.4::1]",
    "https://[1:2:3:4:5:6:7:1.2.3.4]",
    "https://[1:2:3:4:5:6:1.2.3.4:1]",
    "https://[v1.fe]",
    "https://[::1]x",
    "https://[::1]:",
    "https://[::1]:0",
    "https://[h1.example]",
    // PATH
    "https://h1.example/a b",
    "https://h1.example/a%",
    "https://h1.example/a%a",
    "https://h1.example/a%zz",
    "https://h1.example/[x]",
    "https://h1.example/a\"b",
    "https://h1.example/a\\b",
    "https://h1.example/a<b>",
    "https://h1.example/\xC3\xA9",
    "https://h1.example/a#b",
    "https://h1.example#b",
    // QUERY
    "https://h1.example?a b",
    "https://h1.example?a#b",
    "https://h1.example?%g0",
    "https://h1.example/p?a[0]=1",
    "https://h1.example?\x7F",
};

TEST_F(LocatorTest, UrlsOfTheThreeFormsAreAccepted) {
  std::vector<std::string> good(std::begin(kGoodUrls), std::end(kGoodUrls));
  good.push_back(Url200());
  good.push_back("https://" + std::string(63, 'a') + ".example");
  for (const std::string& url : good) {
    absl::StatusOr<std::string> plaintext =
        SignLocatorRecord(Record(LocatorRole::kHost, {url}), host());
    ASSERT_TRUE(plaintext.ok()) << url << ": " << plaintext.status();
    ResolvedLedger resolved = Resolve({Value(*plaintext)});
    EXPECT_THAT(resolved.urls, ElementsAre(url));
  }
}

TEST_F(LocatorTest, EveryOtherUrlIsRefusedAndDropsItsRecord) {
  std::vector<std::string> bad(std::begin(kBadUrls), std::end(kBadUrls));
  bad.push_back(Url200() + "p");
  bad.push_back("https://" + std::string(64, 'a') + ".example");
  for (const std::string& url : bad) {
    absl::StatusOr<std::string> signed_plaintext =
        SignLocatorRecord(Record(LocatorRole::kHost, {"grpc://good.example:1", url}), host());
    EXPECT_EQ(signed_plaintext.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(std::string(signed_plaintext.status().message()),
                StartsWith("locator: urls: url 1 "))
        << url;
    // Signed without the checks: the reader drops the whole record.
    const std::string plaintext =
        Resigned(HostPlaintext({"grpc://good.example:1"}), host(),
                 [&](Json& json) { json["urls"].push_back(url); });
    EXPECT_THAT(DropReason(plaintext), StartsWith("value 0: locator: urls: url 1 ")) << url;
  }
}

// --- The reader's rules: each test breaks one. ---

TEST_F(LocatorTest, KeepsAValidHostRecord) {
  ResolvedLedger resolved = Resolve({Value(HostPlaintext({"grpcs://h1.example:7400"}))});
  EXPECT_THAT(resolved.dropped, IsEmpty());
  ASSERT_THAT(resolved.records, SizeIs(1));
  EXPECT_EQ(resolved.records[0].role, LocatorRole::kHost);
  EXPECT_EQ(resolved.records[0].key, host().public_key_text());
  EXPECT_EQ(resolved.records[0].expires, "2026-12-07T10:00:00.000Z");
  EXPECT_THAT(resolved.urls, ElementsAre("grpcs://h1.example:7400"));
}

TEST_F(LocatorTest, DropsValuesUnderAnotherLedgersRecordKey) {
  const std::string plaintext = HostPlaintext({"grpcs://h1.example:7400"});
  absl::StatusOr<std::string> elsewhere = EncryptValueData(other_ledger(), plaintext);
  ASSERT_TRUE(elsewhere.ok());
  ResolvedLedger resolved = Resolve({*elsewhere});
  EXPECT_THAT(resolved.records, IsEmpty());
  EXPECT_THAT(resolved.dropped,
              ElementsAre("value 0: value data: does not decrypt with the ledger's record key"));
}

TEST_F(LocatorTest, DropsARecordNamingAnotherLedger) {
  LocatorRecord record = Record(LocatorRole::kMirror, {"grpcs://m1.example:7400"});
  record.ledger = other_ledger();
  absl::StatusOr<std::string> plaintext = SignLocatorRecord(record, mirror_);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status();
  EXPECT_EQ(DropReason(*plaintext), "value 0: locator: ledger: names another ledger");
  EXPECT_TRUE(ResolveLocatorValues(other_ledger(), {*EncryptValueData(other_ledger(), *plaintext)},
                                   now_)
                  .dropped.empty());
}

TEST_F(LocatorTest, DropsAHostRecordSignedByAnotherKey) {
  const std::string plaintext =
      Resigned(HostPlaintext({"grpcs://h1.example:7400"}), mirror_,
               [&](Json& json) { json["key"] = mirror_.public_key_text(); });
  EXPECT_THAT(DropReason(plaintext), StartsWith("value 0: locator: key: a host record"));
}

TEST_F(LocatorTest, DropsAMirrorRecordSignedByTheLedgerKey) {
  const std::string plaintext =
      Resigned(HostPlaintext({"grpcs://h1.example:7400"}), host(),
               [&](Json& json) { json["role"] = "mirror"; });
  EXPECT_THAT(DropReason(plaintext), StartsWith("value 0: locator: key: a mirror record"));
}

TEST_F(LocatorTest, DropsAnExpiredRecord) {
  // Expired 300 s ago: still kept (the reader's clock is not later than
  // expires + 300 s); 1 ms more and it is dropped.
  EXPECT_EQ(DropReason(HostPlaintext({"grpc://h:1"}, -kHour, kHour - kSkew)), "");
  EXPECT_THAT(DropReason(HostPlaintext({"grpc://h:1"}, -kHour, kHour - kSkew - 1)),
              StartsWith("value 0: locator: expires: expired"));
}

TEST_F(LocatorTest, DropsARecordExpiringLaterThanTheClockAllows) {
  // expires = now + 48 h + 300 s is kept, 1 ms later is dropped (seq is in
  // the reader's future, which no rule forbids).
  EXPECT_EQ(DropReason(HostPlaintext({"grpc://h:1"}, 2 * kHour, 46 * kHour + kSkew)), "");
  EXPECT_THAT(DropReason(HostPlaintext({"grpc://h:1"}, 2 * kHour, 46 * kHour + kSkew + 1)),
              StartsWith("value 0: locator: expires: too late"));
}

TEST_F(LocatorTest, DropsARecordExpiringMoreThan48HoursAfterSeq) {
  const std::string valid = HostPlaintext({"grpc://h:1"}, -kHour);
  const auto expiring = [&](int64_t after_seq) {
    return Resigned(valid, host(), [&](Json& json) {
      json["expires"] = FormatTimestampMillis(now_ - kHour + after_seq);
    });
  };
  EXPECT_EQ(DropReason(expiring(48 * kHour)), "");
  EXPECT_THAT(DropReason(expiring(48 * kHour + 1)),
              StartsWith("value 0: locator: expires: must be at most 48 h after seq"));
  EXPECT_THAT(DropReason(expiring(0)), StartsWith("value 0: locator: expires: must be later"));
}

TEST_F(LocatorTest, DropsOversizedValueData) {
  // Valid evidence of 4,053 bytes or more fits no value data; sealed anyway.
  const std::string evidence =
      BlocksEvidence(chain_, std::string(2000, 'a'), std::string(2000, 'b'));
  ASSERT_GT(evidence.size() + 44, 4096u);
  const std::string data = SealWith(
      RecordKey(raw_ledger_key()),
      absl::StrCat("MLD1", absl::HexStringToBytes(*DhtKeyHex(ledger()))), evidence);
  ResolvedLedger resolved = Resolve({data});
  EXPECT_THAT(resolved.evidence, IsEmpty());
  EXPECT_THAT(resolved.dropped, ElementsAre(StartsWith("value 0: value data: ")));
  EXPECT_THAT(resolved.dropped[0], HasSubstr("more than 4096"));
}

TEST_F(LocatorTest, DropsGarbageValues) {
  std::mt19937 random(12);
  std::vector<std::string> values;
  for (int i = 0; i < 100; ++i) {
    std::string value(random() % 300, '\0');
    for (char& c : value) c = static_cast<char>(random());
    if (i % 2 == 0) value.replace(0, std::min<size_t>(4, value.size()), "MLD1");
    values.push_back(value);
  }
  ResolvedLedger resolved = Resolve(values);
  EXPECT_THAT(resolved.records, IsEmpty());
  EXPECT_THAT(resolved.urls, IsEmpty());
  EXPECT_THAT(resolved.evidence, IsEmpty());
  ASSERT_THAT(resolved.dropped, SizeIs(100));
  for (const std::string& why : resolved.dropped) {
    EXPECT_THAT(why, HasSubstr(": value data: ")) << why;
    EXPECT_THAT(why, testing::Not(HasSubstr(ledger())));
  }
}

TEST_F(LocatorTest, DropsPlaintextThatIsNotTheJcsOfAnObject) {
  const std::string plaintext = HostPlaintext({"grpcs://h1.example:7400"});
  Json json = *ParseJson(plaintext);
  EXPECT_THAT(DropReason(json.dump(1)),
              StartsWith("value 0: plaintext: not the JCS serialisation"));
  EXPECT_THAT(DropReason(plaintext + " "),
              StartsWith("value 0: plaintext: not the JCS serialisation"));
  EXPECT_THAT(DropReason(plaintext + "x"), StartsWith("value 0: plaintext: not JSON"));
  EXPECT_THAT(DropReason("\xEF\xBB\xBF" + plaintext), StartsWith("value 0: plaintext: not JSON"));
  EXPECT_THAT(DropReason("[" + plaintext + "]"),
              StartsWith("value 0: plaintext: not a JSON object"));
  EXPECT_THAT(DropReason(""), StartsWith("value 0: plaintext: not JSON"));
}

TEST_F(LocatorTest, DropsPlaintextThatIsNeitherLocatorNorEvidence) {
  EXPECT_THAT(DropReason(R"({"hello":"world"})"),
              StartsWith("value 0: plaintext: neither a locator record"));
  EXPECT_THAT(DropReason("{}"), StartsWith("value 0: plaintext: neither"));
}

TEST_F(LocatorTest, DropsABadSignature) {
  const std::string plaintext = HostPlaintext({"grpcs://h1.example:7400"});
  // Another message's signature by the right key.
  const std::string other_sig = Resigned(plaintext, host(), [](Json& json) {
    json["urls"] = Json::array({"grpcs://h2.example:7400"});
  });
  Json json = *ParseJson(plaintext);
  json["sig"] = ParseJson(other_sig)->at("sig");
  EXPECT_EQ(DropReason(CanonicalJson(json)), "value 0: locator: sig: signature does not verify");
  json["sig"] = "uAAAA";
  EXPECT_THAT(DropReason(CanonicalJson(json)), StartsWith("value 0: locator: sig: not an Ed25519"));
}

TEST_F(LocatorTest, DropsRecordsThatBreakAMemberRule) {
  const std::string valid = HostPlaintext({"grpcs://h1.example:7400"});
  const auto reason = [&](auto mutate) {
    return DropReason(Resigned(valid, host(), mutate));
  };
  EXPECT_THAT(reason([](Json& j) { j["extra"] = 1; }), StartsWith("value 0: locator: members:"));
  EXPECT_THAT(reason([](Json& j) { j.erase("urls"); }), StartsWith("value 0: locator: members:"));
  EXPECT_THAT(reason([](Json& j) { j["locator"] = "microledger-locator-v2"; }),
              StartsWith("value 0: locator: locator:"));
  EXPECT_THAT(reason([](Json& j) { j["ledger"] = 1; }), StartsWith("value 0: locator: ledger:"));
  EXPECT_THAT(reason([](Json& j) { j["role"] = "Host"; }), StartsWith("value 0: locator: role:"));
  EXPECT_THAT(reason([](Json& j) { j["key"] = "uAAAA"; }), StartsWith("value 0: locator: key:"));
  EXPECT_THAT(reason([](Json& j) { j["key"] = 7; }), StartsWith("value 0: locator: key:"));
  EXPECT_THAT(reason([](Json& j) { j["seq"] = j["seq"].get<double>() + 0.5; }),
              StartsWith("value 0: locator: seq:"));
  EXPECT_THAT(reason([](Json& j) { j["seq"] = -1.0; }), StartsWith("value 0: locator: seq:"));
  EXPECT_THAT(reason([](Json& j) { j["seq"] = 9007199254740992.0; }),
              StartsWith("value 0: locator: seq:"));
  EXPECT_THAT(reason([](Json& j) { j["seq"] = "1"; }), StartsWith("value 0: locator: seq:"));
  EXPECT_THAT(reason([](Json& j) { j["expires"] = "2026-12-07T10:00:00Z"; }),
              StartsWith("value 0: locator: expires:"));
  EXPECT_THAT(reason([](Json& j) { j["urls"] = "grpc://h:1"; }),
              StartsWith("value 0: locator: urls:"));
  EXPECT_THAT(reason([](Json& j) { j["urls"] = Json::array({1}); }),
              StartsWith("value 0: locator: urls:"));
  EXPECT_THAT(reason([](Json& j) { j["urls"] = Json::array(); }),
              StartsWith("value 0: locator: urls:"));
  EXPECT_THAT(reason([](Json& j) {
                j["urls"] = Json::array({"grpc://a:1", "grpc://b:1", "grpc://c:1",
                                         "grpc://d:1", "grpc://e:1"});
              }),
              StartsWith("value 0: locator: urls:"));
  EXPECT_THAT(reason([](Json& j) { j["urls"] = Json::array({"grpc://a:1", "grpc://a:1"}); }),
              StartsWith("value 0: locator: urls:"));
  Json no_sig = *ParseJson(valid);
  no_sig["sig"] = 1;
  EXPECT_THAT(DropReason(CanonicalJson(no_sig)), StartsWith("value 0: locator: sig:"));
}

TEST_F(LocatorTest, KeepsOnlyTheNewestRecordOfEachKey) {
  const std::string older = HostPlaintext({"grpcs://old.example:7400"}, -2 * kHour);
  const std::string newer = HostPlaintext({"grpcs://new.example:7400"}, -kHour);
  const std::string mirror_older = MirrorPlaintext(mirror_, {"grpcs://m-old.example:1"}, -kHour);
  const std::string mirror_newer = MirrorPlaintext(mirror_, {"grpcs://m-new.example:1"});
  const std::string other_mirror = MirrorPlaintext(mirror2_, {"grpcs://m2.example:1"}, -3 * kHour);
  ResolvedLedger resolved = Resolve({Value(older), Value(mirror_newer), Value(other_mirror),
                                     Value(newer), Value(mirror_older)});
  EXPECT_THAT(resolved.urls, ElementsAre("grpcs://new.example:7400", "grpcs://m-new.example:1",
                                         "grpcs://m2.example:1"));
  EXPECT_THAT(resolved.records, SizeIs(3));
  EXPECT_THAT(resolved.dropped,
              ElementsAre("value 0: locator: seq: a newer record of its key exists",
                          "value 4: locator: seq: a newer record of its key exists"));
}

TEST_F(LocatorTest, KeepsEveryRecordOfOneKeyWithTheSameSeqInByteOrder) {
  const std::string first = HostPlaintext({"grpcs://a.example:7400", "grpcs://c.example:7400"});
  const std::string second = HostPlaintext({"grpcs://b.example:7400", "grpcs://a.example:7400"});
  const bool first_lower = first < second;
  const std::string& low = first_lower ? first : second;
  const std::string& high = first_lower ? second : first;
  for (const std::vector<std::string>& values :
       {std::vector<std::string>{Value(high), Value(low)},
        std::vector<std::string>{Value(low), Value(high)}}) {
    ResolvedLedger resolved = Resolve(values);
    ASSERT_THAT(resolved.records, SizeIs(2));
    EXPECT_EQ(resolved.records[0].urls, ParseJson(low)->at("urls").get<std::vector<std::string>>());
    std::vector<std::string> expected;
    for (const std::string& plaintext : {low, high}) {
      const Json json = *ParseJson(plaintext);
      for (const std::string& url : json.at("urls").get<std::vector<std::string>>()) {
        if (std::find(expected.begin(), expected.end(), url) == expected.end()) {
          expected.push_back(url);
        }
      }
    }
    EXPECT_EQ(resolved.urls, expected);
    EXPECT_THAT(resolved.urls, SizeIs(3));
  }
}

TEST_F(LocatorTest, CountsIdenticalValueDataOnce) {
  const std::string data = Value(HostPlaintext({"grpcs://h1.example:7400"}));
  ResolvedLedger resolved = Resolve({data, data});
  EXPECT_THAT(resolved.records, SizeIs(1));
  EXPECT_THAT(resolved.dropped, ElementsAre("value 1: the same plaintext as value 0"));
  // So does the same record sealed with another nonce.
  resolved = Resolve({data, Value(HostPlaintext({"grpcs://h1.example:7400"}))});
  EXPECT_THAT(resolved.records, SizeIs(1));
}

TEST_F(LocatorTest, OrdersHostRecordsFirstThenMirrorsByDescendingSeq) {
  const std::string host_record = HostPlaintext({"grpcs://h.example:1", "https://h.example/"},
                                                -3 * kHour);
  const std::string mirror_new = MirrorPlaintext(mirror_, {"grpcs://m1.example:1",
                                                           "grpcs://h.example:1"});
  const std::string mirror_old = MirrorPlaintext(mirror2_, {"https://m2.example/read"}, -kHour);
  const SigningKey mirror3 = KeyFromSeed(0x4f);
  const std::string mirror_same_a = MirrorPlaintext(mirror3, {"grpc://m3.example:1"}, -kHour);
  ResolvedLedger resolved = Resolve({Value(mirror_old), Value(mirror_same_a), Value(mirror_new),
                                     Value(host_record)});
  EXPECT_THAT(resolved.dropped, IsEmpty());
  ASSERT_THAT(resolved.records, SizeIs(4));
  EXPECT_EQ(resolved.records[0].role, LocatorRole::kHost);
  EXPECT_EQ(resolved.records[1].key, mirror_.public_key_text());
  // mirror2_ and mirror3 have one seq: ascending byte order of the plaintexts.
  const bool two_first = mirror_old < mirror_same_a;
  EXPECT_EQ(resolved.records[2].key,
            two_first ? mirror2_.public_key_text() : mirror3.public_key_text());
  EXPECT_EQ(resolved.records[3].key,
            two_first ? mirror3.public_key_text() : mirror2_.public_key_text());
  std::vector<std::string> expected = {"grpcs://h.example:1", "https://h.example/",
                                       "grpcs://m1.example:1"};
  for (const char* url : two_first ? std::vector<const char*>{"https://m2.example/read",
                                                              "grpc://m3.example:1"}
                                   : std::vector<const char*>{"grpc://m3.example:1",
                                                              "https://m2.example/read"}) {
    expected.push_back(url);
  }
  EXPECT_EQ(resolved.urls, expected);
}

// --- Evidence. ---

TEST_F(LocatorTest, KeepsValidEvidenceOfTheLedgerOnce) {
  const std::string first = BlocksEvidence(chain_, "alice", "mallory");
  const std::string second = BlocksEvidence(chain_, "bob", "eve");
  ResolvedLedger resolved = Resolve({Value(first), Value(HostPlaintext({"grpc://h:1"})),
                                     Value(second), Value(first)});
  EXPECT_THAT(resolved.evidence, ElementsAre(first, second));
  EXPECT_THAT(resolved.urls, ElementsAre("grpc://h:1"));
  EXPECT_THAT(resolved.dropped, ElementsAre("value 3: the same plaintext as value 0"));
}

TEST_F(LocatorTest, DropsEvidenceOfAnotherLedger) {
  const std::string evidence = BlocksEvidence(other_chain_, "alice", "mallory");
  EXPECT_EQ(DropReason(evidence), "value 0: evidence: of another ledger");
  EXPECT_THAT(ResolveLocatorValues(other_ledger(), {*EncryptValueData(other_ledger(), evidence)},
                                   now_)
                  .evidence,
              ElementsAre(evidence));
}

TEST_F(LocatorTest, DropsInvalidEvidence) {
  Json evidence = *ParseJson(BlocksEvidence(chain_, "alice", "mallory"));
  std::swap(evidence["a"], evidence["b"]);
  EXPECT_THAT(DropReason(CanonicalJson(evidence)), StartsWith("value 0: evidence: order:"));
  EXPECT_THAT(DropReason(R"({"evidence":"microledger-equivocation-v1"})"),
              StartsWith("value 0: evidence: members:"));
  // An object with both members is evidence, and not valid evidence.
  evidence = *ParseJson(BlocksEvidence(chain_, "alice", "mallory"));
  evidence["locator"] = "microledger-locator-v1";
  EXPECT_THAT(DropReason(CanonicalJson(evidence)), StartsWith("value 0: evidence: members:"));
}

TEST_F(LocatorTest, ANonLedgerIdDropsEverything) {
  ResolvedLedger resolved =
      ResolveLocatorValues("jlinx:nope", {Value(HostPlaintext({"grpc://h:1"}))}, now_);
  EXPECT_THAT(resolved.records, IsEmpty());
  EXPECT_THAT(resolved.dropped, ElementsAre("value 0: the ledger id is not a ledger id"));
}

// The message of VerifyLocatorPlaintext's rejection ("" if accepted).
std::string Rejection(absl::string_view ledger, absl::string_view plaintext, int64_t now) {
  absl::StatusOr<LocatorRecord> record = VerifyLocatorPlaintext(ledger, plaintext, now);
  if (record.ok()) return "";
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(record.status().message());
}

TEST_F(LocatorTest, VerifyLocatorPlaintextAppliesThePlaintextRules) {
  const std::string plaintext = HostPlaintext({"grpc://h:1"});
  EXPECT_TRUE(VerifyLocatorPlaintext(ledger(), plaintext, now_).ok());
  EXPECT_THAT(Rejection(ledger(), plaintext + "x", now_),
              StartsWith("locator: plaintext: not JSON"));
  EXPECT_THAT(Rejection(other_ledger(), plaintext, now_),
              StartsWith("locator: ledger:"));
  EXPECT_THAT(Rejection(ledger(), plaintext, now_ + 25 * kHour),
              StartsWith("locator: expires: expired"));
  EXPECT_THAT(Rejection(ledger(), R"({"hello":"world"})", now_),
              StartsWith("locator: members:"));
}

}  // namespace
}  // namespace microledger
