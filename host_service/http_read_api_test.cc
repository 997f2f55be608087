// The HTTP read API (ledger_store/http_read_api.h) over a real LedgerHost and
// a real HttpServer on loopback: tiles equal the nodes of the tree the format
// library computes, for every size; proofs computed from tiles alone verify
// against the checkpoint; block bundles hold the stored blocks; caching, CORS,
// ETags, limits; reads under appends stay consistent.
#include "ledger_store/http_read_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "common/tile_path.h"
#include "gtest/gtest.h"
#include "host_service/ledger_host_fixture.h"
#include "httplib.h"

namespace microledger {
namespace {

// The tree of a ledger as a client sees it through tiles alone: any node is
// hashed up from the tile that holds its descendants at the tile level
// below it. Tiles are fetched once each.
class TileNodeReader : public MerkleNodeReader {
 public:
  TileNodeReader(httplib::Client* client, std::string prefix, uint64_t tree_size)
      : client_(client), prefix_(std::move(prefix)), tree_size_(tree_size) {}

  absl::StatusOr<MerkleHash> ReadNode(int level, uint64_t index) const override {
    const int tile_level = level / kTileHeight;
    const int below = level % kTileHeight;
    const uint64_t first = index << below;  // Hashes of the tile level.
    const uint64_t count = uint64_t{1} << below;
    std::vector<MerkleHash> hashes;
    for (uint64_t i = first; i < first + count; ++i) {
      absl::StatusOr<MerkleHash> hash = TileHash(tile_level, i);
      if (!hash.ok()) return hash.status();
      hashes.push_back(*hash);
    }
    while (hashes.size() > 1) {
      std::vector<MerkleHash> up;
      for (size_t i = 0; i < hashes.size(); i += 2) {
        up.push_back(HashMerkleChildren(hashes[i], hashes[i + 1]));
      }
      hashes = std::move(up);
    }
    return hashes[0];
  }

  int fetches() const { return static_cast<int>(tiles_.size()); }

 private:
  // Hash `i` of tile level `tile_level`, from the tile the tree of tree_size_
  // has: full where it is complete, else the partial one of its width.
  absl::StatusOr<MerkleHash> TileHash(int tile_level, uint64_t i) const {
    const uint64_t hashes_at_level = tree_size_ >> (tile_level * kTileHeight);
    if (i >= hashes_at_level) return absl::NotFoundError("past the tree");
    TileIndex tile{i / kTileWidth, kTileWidth};
    if ((tile.index + 1) * kTileWidth > hashes_at_level) {
      tile.width = static_cast<int>(hashes_at_level % kTileWidth);
    }
    const std::string path = absl::StrCat(prefix_, TilePath(tile_level, tile));
    auto cached = tiles_.find(path);
    if (cached == tiles_.end()) {
      httplib::Result got = client_->Get(path);
      if (!got || got->status != 200) return absl::UnavailableError(path);
      if (got->body.size() != static_cast<size_t>(tile.width) * 32) {
        return absl::DataLossError("tile of the wrong size: " + path);
      }
      cached = tiles_.emplace(path, got->body).first;
    }
    return MerkleHashFromBytes(cached->second.substr((i % kTileWidth) * 32, 32));
  }

  httplib::Client* const client_;
  const std::string prefix_;
  const uint64_t tree_size_;
  mutable std::map<std::string, std::string> tiles_;
};

// The raw answer (status line, headers, body) to a GET of `path`, as sent:
// httplib's client decodes header values, which would hide their encoding.
std::string RawGet(int port, const std::string& path) {
  std::string raw;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return raw;
  }
  const std::string ask = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, ask.data(), ask.size()) == static_cast<ssize_t>(ask.size())) {
    char buffer[4096];
    for (int reads = 0; reads < 1000; ++reads) {
      const ssize_t got = read(fd, buffer, sizeof buffer);
      if (got <= 0) break;
      raw.append(buffer, static_cast<size_t>(got));
    }
  }
  close(fd);
  return raw;
}

HttpReadApiOptions Unlimited() {
  HttpReadApiOptions options;
  options.client_requests.per_second = 0;
  return options;
}

class HttpReadApiTest : public LedgerHostTest {
 protected:
  // Unlimited requests unless `options` say otherwise.
  void StartApi(HttpReadApiOptions options = Unlimited()) {
    std::vector<StaticFile> page = {{"/index.html", "text/html; charset=utf-8", "<p>page</p>"},
                                    {"/verifier.js", "text/javascript", "export {};"}};
    api_ = std::make_unique<HttpReadApi>(&host_->reader(), page, options);
    server_ = std::make_unique<HttpServer>(HttpServerOptions{4});
    api_->Register(*server_);
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
  }

  httplib::Result Get(const std::string& path, const httplib::Headers& headers = {}) {
    return client_->Get(path, headers);
  }

  // Appends `count` blocks and keeps their leaves in `tree_`.
  void Grow(OwnerChain& chain, int count) {
    for (int i = 0; i < count; ++i) {
      absl::StatusOr<AppendResult> result = Send(chain, chain.Next());
      ASSERT_TRUE(result.ok()) << result.status();
      absl::StatusOr<std::string> leaf = DecodeDigest(chain.blocks().back().fingerprint);
      ASSERT_TRUE(leaf.ok());
      tree_.AppendLeaf(*leaf);
    }
  }

  // The expected bytes of tile `tile` of `level` from the reference tree.
  std::string ExpectedTile(int level, const TileIndex& tile) {
    std::string bytes;
    for (int i = 0; i < tile.width; ++i) {
      absl::StatusOr<MerkleHash> node =
          tree_.ReadNode(level * kTileHeight, tile.index * kTileWidth + i);
      EXPECT_TRUE(node.ok()) << node.status();
      if (node.ok()) bytes += MerkleHashBytes(*node);
    }
    return bytes;
  }

  std::unique_ptr<HttpReadApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
  MemoryMerkleTree tree_;
};

TEST_P(HttpReadApiTest, TilesEqualTheReferenceTreeAtEverySize) {
  StartApi();
  OwnerChain chain = NewChain();
  const std::string prefix = "/" + chain.ledger_id() + "/";
  Grow(chain, 300);
  // At 300 blocks: level 0 has one full tile and a partial one of 44; level 1
  // a partial one of 1. Nothing beyond is served yet.
  EXPECT_EQ(Get(prefix + "tile/0/001")->status, 404);
  EXPECT_EQ(Get(prefix + "tile/0/001.p/44")->status, 200);
  EXPECT_EQ(Get(prefix + "tile/0/001.p/45")->status, 404);
  EXPECT_EQ(Get(prefix + "tile/1/000.p/1")->status, 200);
  EXPECT_EQ(Get(prefix + "tile/1/000.p/2")->status, 404);
  EXPECT_EQ(Get(prefix + "tile/2/000.p/1")->status, 404);
  EXPECT_EQ(Get(prefix + "blocks/001.p/44")->status, 200);
  EXPECT_EQ(Get(prefix + "blocks/001.p/45")->status, 404);
  Grow(chain, 2600 - 300);
  const uint64_t size = tree_.size();

  // Every full tile once, then the partial tiles every size 1..size needs.
  for (uint64_t index = 0; (index + 1) * kTileWidth <= size; ++index) {
    httplib::Result full = Get(prefix + TilePath(0, {index, kTileWidth}));
    ASSERT_TRUE(full);
    ASSERT_EQ(full->status, 200) << index;
    EXPECT_EQ(full->body.size(), 8192u);
    EXPECT_EQ(full->body, ExpectedTile(0, {index, kTileWidth})) << index;
  }
  int partial_tiles = 0;
  for (uint64_t s = 1; s <= size; ++s) {
    for (int level = 0; level < 2; ++level) {
      const uint64_t hashes = s >> (level * kTileHeight);
      if (hashes % kTileWidth == 0) continue;
      const TileIndex tile{hashes / kTileWidth, static_cast<int>(hashes % kTileWidth)};
      httplib::Result got = Get(prefix + TilePath(level, tile));
      ASSERT_TRUE(got);
      ASSERT_EQ(got->status, 200) << TilePath(level, tile) << " at size " << s;
      ASSERT_EQ(got->body, ExpectedTile(level, tile)) << TilePath(level, tile);
      ++partial_tiles;
    }
  }
  EXPECT_GT(partial_tiles, 2600);
  EXPECT_EQ(Get(prefix + "tile/1/000.p/11")->status, 404);  // 2600 / 256 = 10.
  EXPECT_EQ(Get(prefix + "tile/1/000")->status, 404);
}

TEST_P(HttpReadApiTest, ProofsComputedFromTilesVerifyAgainstTheCheckpoint) {
  StartApi();
  OwnerChain chain = NewChain();
  const std::string prefix = "/" + chain.ledger_id() + "/";
  Grow(chain, 777);
  httplib::Result note = Get(prefix + "checkpoint");
  ASSERT_TRUE(note);
  ASSERT_EQ(note->status, 200);
  absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(note->body, chain.ledger_id());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  ASSERT_EQ(checkpoint->tree_size, 777u);
  const MerkleHash root = checkpoint->root_hash;

  TileNodeReader tiles(client_.get(), prefix, checkpoint->tree_size);
  absl::StatusOr<MerkleHash> computed = MerkleRootAt(tiles, checkpoint->tree_size);
  ASSERT_TRUE(computed.ok()) << computed.status();
  EXPECT_EQ(*computed, root);
  for (uint64_t leaf : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{511},
                        uint64_t{700}, uint64_t{776}}) {
    absl::StatusOr<std::vector<MerkleHash>> proof =
        MerkleInclusionProof(tiles, leaf, checkpoint->tree_size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    absl::StatusOr<std::string> leaf_data = DecodeDigest(chain.blocks()[leaf].fingerprint);
    ASSERT_TRUE(leaf_data.ok());
    EXPECT_TRUE(VerifyMerkleInclusion(HashMerkleLeaf(*leaf_data), leaf, checkpoint->tree_size,
                                      *proof, root)
                    .ok())
        << leaf;
  }
  for (uint64_t old_size : {uint64_t{1}, uint64_t{256}, uint64_t{300}, uint64_t{776}}) {
    absl::StatusOr<std::vector<MerkleHash>> proof =
        MerkleConsistencyProof(tiles, old_size, checkpoint->tree_size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    absl::StatusOr<MerkleHash> old_root = MerkleRootAt(tree_, old_size);
    ASSERT_TRUE(old_root.ok());
    EXPECT_TRUE(
        VerifyMerkleConsistency(old_size, checkpoint->tree_size, *old_root, root, *proof).ok())
        << old_size;
  }
  EXPECT_LT(tiles.fetches(), 10);
}

TEST_P(HttpReadApiTest, BlockBundlesHoldTheStoredBlocksAsBundleLines) {
  StartApi();
  OwnerChain chain = NewChain();
  const std::string prefix = "/" + chain.ledger_id() + "/";
  Grow(chain, 600);
  for (const TileIndex& bundle :
       {TileIndex{0, 256}, TileIndex{1, 256}, TileIndex{2, 88}, TileIndex{2, 1}}) {
    httplib::Result got = Get(prefix + BlockBundlePath(bundle));
    ASSERT_TRUE(got);
    ASSERT_EQ(got->status, 200) << BlockBundlePath(bundle);
    EXPECT_EQ(got->get_header_value("Content-Type"), "application/jsonl");
    std::vector<std::string> lines = absl::StrSplit(got->body, '\n');
    ASSERT_EQ(lines.size(), static_cast<size_t>(bundle.width) + 1);
    EXPECT_EQ(lines.back(), "");
    for (int i = 0; i < bundle.width; ++i) {
      const Block& block = chain.blocks()[bundle.index * kTileWidth + i];
      EXPECT_EQ(lines[i], absl::StrCat("{\"block\":", SerializeBlock(block), "}"));
    }
  }
  EXPECT_EQ(Get(prefix + "blocks/002")->status, 404);
  EXPECT_EQ(Get(prefix + "blocks/002.p/89")->status, 404);
  EXPECT_EQ(Get(prefix + "blocks/x001/000")->status, 404);
  EXPECT_EQ(Get(prefix + "blocks/02")->status, 404);
}

// Bundles are offered gzip-encoded (tlog-tiles: entry bundles should be
// compressed): a separate representation with its own entity tag.
TEST_P(HttpReadApiTest, BlockBundlesAreGzippedForClientsThatAcceptIt) {
  StartApi();
  OwnerChain chain = NewChain();
  const std::string prefix = "/" + chain.ledger_id() + "/";
  Grow(chain, 300);
  for (const std::string path : {"blocks/000", "blocks/001.p/44"}) {
    const std::string plain = RawGet(server_->port(), prefix + path);
    EXPECT_EQ(plain.find("Content-Encoding"), std::string::npos) << path;
    EXPECT_NE(plain.find("\r\nVary: Accept-Encoding\r\n"), std::string::npos) << path;
    EXPECT_NE(plain.find("{\"block\":"), std::string::npos) << path;

    client_->set_decompress(false);
    httplib::Result gzipped = Get(prefix + path, {{"Accept-Encoding", "gzip"}});
    client_->set_decompress(true);
    ASSERT_TRUE(gzipped);
    EXPECT_EQ(gzipped->get_header_value("Content-Encoding"), "gzip") << path;
    ASSERT_GE(gzipped->body.size(), 2u);
    EXPECT_EQ(static_cast<unsigned char>(gzipped->body[0]), 0x1f) << path;
    const std::string tag = gzipped->get_header_value("ETag");
    EXPECT_NE(tag.find("-gzip\""), std::string::npos) << tag;

    httplib::Result decoded = Get(prefix + path, {{"Accept-Encoding", "gzip"}});
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->body, plain.substr(plain.find("\r\n\r\n") + 4)) << path;
    EXPECT_LT(gzipped->body.size(), decoded->body.size() / 2) << path;
    EXPECT_EQ(Get(prefix + path, {{"Accept-Encoding", "gzip"}, {"If-None-Match", tag}})->status,
              304);
    client_->set_decompress(false);
    EXPECT_EQ(Get(prefix + path, {{"Accept-Encoding", "identity"}, {"If-None-Match", tag}})
                  ->status,
              200);
    client_->set_decompress(true);
  }
}

TEST_P(HttpReadApiTest, CachingCorsAndEntityTags) {
  StartApi();
  OwnerChain chain = NewChain();
  const std::string prefix = "/" + chain.ledger_id() + "/";
  Grow(chain, 260);

  httplib::Result full = Get(prefix + "tile/0/000");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(full->get_header_value("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(full->get_header_value("Content-Type"), "application/octet-stream");
  const std::string tag = full->get_header_value("ETag");
  ASSERT_FALSE(tag.empty());
  httplib::Result again = Get(prefix + "tile/0/000", {{"If-None-Match", tag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(Get(prefix + "tile/0/000", {{"If-None-Match", "\"other\""}})->status, 200);

  for (const std::string path : {"tile/0/001.p/4", "blocks/001.p/4", "checkpoint"}) {
    httplib::Result got = Get(prefix + path);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 200) << path;
    EXPECT_EQ(got->get_header_value("Cache-Control"), "public, max-age=2") << path;
    EXPECT_EQ(got->get_header_value("Access-Control-Allow-Origin"), "*") << path;
  }
  EXPECT_EQ(Get(prefix + "blocks/000")->get_header_value("Cache-Control"),
            "public, max-age=31536000, immutable");
  httplib::Result checkpoint = Get(prefix + "checkpoint");
  EXPECT_EQ(checkpoint->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  Grow(chain, 1);
  httplib::Result newer = Get(prefix + "checkpoint",
                              {{"If-None-Match", checkpoint->get_header_value("ETag")}});
  ASSERT_TRUE(newer);
  EXPECT_EQ(newer->status, 200);
  EXPECT_NE(newer->body, checkpoint->body);

  httplib::Result missing = Get("/" + NewChain().ledger_id() + "/checkpoint");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(missing->get_header_value("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(Get("/jlinx:not-a-key/checkpoint")->status, 400);
  EXPECT_EQ(Get(prefix + "nothing")->status, 404);
  EXPECT_EQ(Get(prefix)->status, 404);
    httplib::Result page = Get("/");
  EXPECT_EQ(page->body, "<p>page</p>");
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-cache");
  EXPECT_NE(page->get_header_value("Content-Security-Policy"), "");
  EXPECT_EQ(Get("/verifier.js")->body, "export {};");
}

TEST_P(HttpReadApiTest, AttachmentsAreServedByTheirSeal) {
  StartApi();
  OwnerChain chain = NewChain();
  const std::string prefix = "/" + chain.ledger_id() + "/";
  Grow(chain, 1);
  const std::string data = std::string("report\0\xff bytes", 14);
  const std::string seal = DigestText(data);
  Block sealed = chain.Next(nullptr, std::vector<std::string>{seal});
  ASSERT_TRUE(Send(chain, sealed, {AttachmentInput{"r\xc3\xa9port \"1\".pdf", data}}).ok());

  httplib::Result got = Get(prefix + "attachment/" + seal);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200);
  EXPECT_EQ(got->body, data);
  const std::string raw = RawGet(server_->port(), prefix + "attachment/" + seal);
  EXPECT_NE(raw.find("\r\nContent-Disposition: attachment; "
                      "filename*=UTF-8''r%C3%A9port%20%221%22.pdf\r\n"),
            std::string::npos)
      << raw.substr(0, raw.find("\r\n\r\n"));
  EXPECT_EQ(got->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Get(prefix + "attachment/" + DigestText("other"))->status, 404);
  EXPECT_EQ(Get(prefix + "attachment/not-a-digest")->status, 400);
}

// Full tiles, bundles and attachments are kept in memory once read; a
// forgotten ledger's are never served again.
TEST_P(HttpReadApiTest, KeptAnswersAreNotServedAfterAForget) {
  StartApi();
  OwnerChain chain = NewChain();
  const std::string prefix = "/" + chain.ledger_id() + "/";
  Grow(chain, 300);
  const std::string data = "kept attachment";
  const std::string seal = DigestText(data);
  ASSERT_TRUE(Send(chain, chain.Next(nullptr, std::vector<std::string>{seal}),
                   {AttachmentInput{"a.txt", data}})
                  .ok());
  const std::vector<std::string> kept = {"tile/0/000", "blocks/000", "attachment/" + seal};
  for (const std::string& path : kept) {
    httplib::Result first = Get(prefix + path);
    httplib::Result again = Get(prefix + path);
    ASSERT_TRUE(first && again);
    EXPECT_EQ(first->status, 200) << path;
    EXPECT_EQ(again->body, first->body) << path;
    EXPECT_EQ(again->get_header_value("ETag"), first->get_header_value("ETag")) << path;
    EXPECT_EQ(again->get_header_value("Content-Disposition"),
              first->get_header_value("Content-Disposition"))
        << path;
    EXPECT_EQ(Get(prefix + path, {{"If-None-Match", first->get_header_value("ETag")}})->status,
              304)
        << path;
  }
  ASSERT_TRUE(
      host_->Forget(chain.ledger_id(), chain.state().head_fingerprint, chain.SignForget()).ok());
  for (const std::string& path : kept) {
    httplib::Result gone = Get(prefix + path);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->status, 404) << path;
    EXPECT_EQ(gone->body.find("block"), std::string::npos) << path;
  }
}

TEST_P(HttpReadApiTest, LongPathsAndFastClientsAreRefused) {
  HttpReadApiOptions options;
  options.client_requests = RateLimit{/*per_second=*/0.001, /*burst=*/2};
  StartApi(options);
  EXPECT_EQ(Get("/" + std::string(600, 'a'))->status, 414);
  EXPECT_EQ(Get("/verifier.js")->status, 200);
  EXPECT_EQ(Get("/verifier.js")->status, 200);
  httplib::Result refused = Get("/verifier.js");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
}

// Readers fetch the checkpoint, then the tiles and the last block bundle of
// its size, while a writer appends: the root computed from tiles always
// equals the checkpoint's, and each bundle's fingerprints are the level-0
// tile's leaves.
TEST_P(HttpReadApiTest, ReadsUnderAppendsStayConsistent) {
  StartApi();
  OwnerChain chain = NewChain();
  const std::string ledger_id = chain.ledger_id();
  const std::string prefix = "/" + ledger_id + "/";
  Grow(chain, 1);
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < 1200; ++i) {
      if (!Send(chain, chain.Next()).ok()) break;
    }
    writing = false;
  });
  const uint16_t port = server_->port();
  std::atomic<int> checked{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, port] {
      httplib::Client client("127.0.0.1", port);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      for (int round = 0; round < 2000 && std::chrono::steady_clock::now() < deadline;
           ++round) {
        const bool last_round = !writing;
        httplib::Result note = client.Get(prefix + "checkpoint");
        if (!note || note->status != 200) { ++failures; break; }
        absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(note->body, ledger_id);
        if (!checkpoint.ok()) { ++failures; break; }
        const uint64_t size = checkpoint->tree_size;
        TileNodeReader tiles(&client, prefix, size);
        absl::StatusOr<MerkleHash> root = MerkleRootAt(tiles, size);
        if (!root.ok() || *root != checkpoint->root_hash) { ++failures; break; }
        const TileIndex last{(size - 1) / kTileWidth,
                             static_cast<int>((size - 1) % kTileWidth) + 1};
        httplib::Result bundle = client.Get(prefix + BlockBundlePath(last));
        httplib::Result tile = client.Get(prefix + TilePath(0, last));
        if (!bundle || bundle->status != 200 || !tile || tile->status != 200) {
          ++failures;
          break;
        }
        std::vector<absl::string_view> lines =
            absl::StrSplit(bundle->body, '\n', absl::SkipEmpty());
        if (lines.size() != static_cast<size_t>(last.width)) { ++failures; break; }
        for (size_t i = 0; i < lines.size(); ++i) {
          absl::string_view line = lines[i];
          line.remove_prefix(9);  // {"block":
          line.remove_suffix(1);
          absl::StatusOr<Block> block = ParseBlock(line, SignatureStage::kComplete);
          absl::StatusOr<std::string> leaf =
              block.ok() ? DecodeDigest(block->fingerprint) : block.status();
          if (!leaf.ok() ||
              MerkleHashBytes(HashMerkleLeaf(*leaf)) != tile->body.substr(i * 32, 32)) {
            ++failures;
            break;
          }
        }
        ++checked;
        if (last_round) break;
      }
    });
  }
  writer.join();
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(checked.load(), 2);
  EXPECT_EQ(HeadOf(ledger_id), 1201u);
}

INSTANTIATE_TEST_SUITE_P(Stores, HttpReadApiTest, ::testing::Values("memory", "rocksdb"));

}  // namespace
}  // namespace microledger
