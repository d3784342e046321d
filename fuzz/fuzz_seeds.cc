// Writes the binary seed corpora of fuzz/corpus/ with Ember's own encoders, so the fuzzers
// start from real remote write bodies, chunks and head records rather than from nothing:
//   build-fuzz/fuzz/fuzz_seeds fuzz/corpus
// Deterministic: the same files every run. Text seeds (PromQL, YAML...) are written by hand.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "ember/sample.h"
#include "ingest/batch.h"
#include "ingest/remote_write.h"
#include "snappy.h"
#include "storage/chunk.h"
#include "storage/head_chunk.h"
#include "storage/head_log.h"

namespace {

namespace fs = std::filesystem;
using ember::Sample;
using ember::ingest::DecodedBatch;

void Write(const fs::path& dir, const std::string& name, std::string_view bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(), bytes.size());
}

std::vector<Sample> Scrape(int n, int64_t start_ms, int64_t step_ms) {
  std::vector<Sample> samples;
  for (int i = 0; i < n; ++i) samples.push_back({start_ms + i * step_ms, 100.0 + i * 2.5});
  return samples;
}

// Batches of increasing variety: one series; several with metadata; odd values and labels.
std::vector<DecodedBatch> Batches() {
  std::vector<DecodedBatch> batches;
  DecodedBatch one;
  one.series.push_back(
      {{{"__name__", "up"}, {"job", "api"}, {"instance", "a:9100"}}, {{1'700'000'000'000, 1}}});
  batches.push_back(one);

  DecodedBatch several;
  several.series.push_back({{{"__name__", "http_requests_total"}, {"code", "200"}},
                            Scrape(5, 1'700'000'000'000, 15'000)});
  several.series.push_back({{{"__name__", "http_requests_total"}, {"code", "500"}},
                            Scrape(3, 1'700'000'000'000, 15'000)});
  several.series.push_back({{{"__name__", "queue_depth"}}, {{1'700'000'000'000, -3}}});
  several.metadata.push_back({"http_requests_total", "counter", "Requests served.", ""});
  several.metadata.push_back({"queue_depth", "gauge", "", "items"});
  batches.push_back(several);

  DecodedBatch odd;
  odd.series.push_back({{{"__name__", "weird"}, {"utf8", "\xC3\xA9t\xC3\xA9"}, {"empty", ""}},
                        {{0, ember::StaleNaN()},
                         {1, std::numeric_limits<double>::infinity()},
                         {2, std::nan("")},
                         {3, -0.0}}});
  odd.series.push_back({{{"__name__", "negative_time"}}, {{-1'000, 1e300}}});
  batches.push_back(odd);
  return batches;
}

void RemoteWriteSeeds(const fs::path& corpus) {
  const std::vector<DecodedBatch> batches = Batches();
  for (size_t i = 0; i < batches.size(); ++i) {
    const std::string name = "batch" + std::to_string(i);
    for (int version : {1, 2}) {
      const std::string body = version == 1 ? ember::ingest::EncodeRemoteWriteV1(batches[i])
                                            : ember::ingest::EncodeRemoteWriteV2(batches[i]);
      std::string proto;
      snappy::Uncompress(body.data(), body.size(), &proto);
      const std::string prefix = "remote_write_v" + std::to_string(version);
      Write(corpus / prefix, name, body);
      Write(corpus / (prefix + "_proto"), name, proto);
      // Near-valid: cut off mid-message.
      Write(corpus / prefix, name + "_truncated",
            std::string_view(body).substr(0, body.size() / 2));
      Write(corpus / (prefix + "_proto"), name + "_truncated",
            std::string_view(proto).substr(0, proto.size() * 2 / 3));
    }
  }
}

void ChunkSeeds(const fs::path& corpus) {
  const std::vector<std::vector<Sample>> sets = {
      {{1'700'000'000'000, 1}},
      Scrape(ember::storage::kMaxSamplesPerChunk, 1'700'000'000'000, 15'000),
      {{0, ember::StaleNaN()}, {7, -0.0}, {1'000, 1e-300}, {1'000'000, -1e300}, {1'000'001, 3}},
  };
  for (size_t i = 0; i < sets.size(); ++i) {
    const std::string chunk = ember::storage::EncodeChunk(sets[i]);
    Write(corpus / "chunk", "chunk" + std::to_string(i), chunk);
    Write(corpus / "chunk", "chunk" + std::to_string(i) + "_truncated",
          std::string_view(chunk).substr(0, chunk.size() - 1));
  }
}

void HeadLogSeeds(const fs::path& corpus) {
  const fs::path dir = corpus / "head_log";
  Write(dir, "log_record",
        ember::storage::EncodeLogRecord({{1, 1'700'000'000'000, 1},
                                         {2, 1'700'000'000'000, 0.5},
                                         {1, 1'700'000'015'000, ember::StaleNaN()},
                                         {300, -5, -2}}));
  Write(dir, "log_record_empty", ember::storage::EncodeLogRecord({}));

  ember::storage::HeadChunk chunk;
  for (const Sample& s : Scrape(20, 1'700'000'000'000, 15'000)) chunk.Append(s.t, s.v);
  chunk.Append(1'700'000'400'000, ember::StaleNaN());
  Write(dir, "head_chunk", chunk.Serialize());
  Write(dir, "head_record",
        ember::storage::EncodeHeadRecord({1'700'000'400'000, 19'675, chunk.Serialize()}));
  Write(dir, "head_record_no_chunk", ember::storage::EncodeHeadRecord({5, 0, ""}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <fuzz/corpus directory>\n", argv[0]);
    return 2;
  }
  const fs::path corpus = argv[1];
  RemoteWriteSeeds(corpus);
  ChunkSeeds(corpus);
  HeadLogSeeds(corpus);
  return 0;
}
