// Chunk encoding benchmarks over the ML-serving scrape data set
// (examples/model-serving/scrape_data.h): sealed chunk encode and decode, head chunk appends, the
// bytes a sample costs in each value mode, and what RocksDB's zstd would make of a partition's
// chunk blocks.
//
//   chunk_bench --benchmark_min_time=0.2 [--targets=10] [--scrapes=360]
//
// Counters: items/s are samples; bytes_per_sample is raw chunk bytes (before RocksDB's
// compression) over samples. The zstd figures need libzstd.so.1 at run time (it is loaded with
// dlopen, so the build does not depend on it); without it BM_ZstdBlocks reports an error.
#include <dlfcn.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "ember/sample.h"
#include "examples/model-serving/scrape_data.h"
#include "gflags/gflags.h"
#include "storage/chunk.h"
#include "storage/head_chunk.h"
#include "util/coding.h"

DEFINE_int32(targets, 10, "Scrape targets in the data set (about 120 series each)");
DEFINE_int32(scrapes, 360, "Scrapes of every series; chunks hold kMaxSamplesPerChunk of them");

namespace ember::storage {
namespace {

// Every series' samples cut into chunks of kMaxSamplesPerChunk, in key order (series ref, then
// chunk start): series of one target are adjacent, as their refs are.
struct DataSet {
  std::vector<std::vector<Sample>> chunks;
  std::vector<uint64_t> refs;  // Per chunk.
  int64_t samples = 0;
};

const DataSet& Data() {
  static const DataSet* data = [] {
    auto* d = new DataSet;
    model_serving::ScrapeDataOptions options;
    options.targets = FLAGS_targets;
    const auto series = model_serving::GenerateSeriesSamples(options, FLAGS_scrapes);
    for (size_t ref = 0; ref < series.size(); ++ref) {
      const std::vector<Sample>& s = series[ref];
      for (size_t start = 0; start < s.size(); start += kMaxSamplesPerChunk) {
        const size_t end = std::min(s.size(), start + kMaxSamplesPerChunk);
        d->chunks.emplace_back(s.begin() + start, s.begin() + end);
        d->refs.push_back(ref);
        d->samples += static_cast<int64_t>(end - start);
      }
    }
    return d;
  }();
  return *data;
}

const std::vector<std::string>& EncodedData() {
  static const std::vector<std::string>* encoded = [] {
    auto* e = new std::vector<std::string>;
    for (const std::vector<Sample>& c : Data().chunks) e->push_back(EncodeChunk(c));
    return e;
  }();
  return *encoded;
}

void BM_EncodeChunk(benchmark::State& state) {
  const DataSet& data = Data();
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    for (const std::vector<Sample>& c : data.chunks) {
      const std::string chunk = EncodeChunk(c);
      bytes += chunk.size();
      benchmark::DoNotOptimize(chunk.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * data.samples);
  state.counters["bytes_per_sample"] = static_cast<double>(bytes) / data.samples;
}
BENCHMARK(BM_EncodeChunk);

void BM_DecodeChunk(benchmark::State& state) {
  const std::vector<std::string>& encoded = EncodedData();
  std::vector<Sample> out;
  out.reserve(kMaxSamplesPerChunk);
  for (auto _ : state) {
    for (const std::string& chunk : encoded) {
      out.clear();
      if (!DecodeChunk(chunk, &out).ok()) state.SkipWithError("decode failed");
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * Data().samples);
}
BENCHMARK(BM_DecodeChunk);

void BM_ReadChunkMeta(benchmark::State& state) {
  const std::vector<std::string>& encoded = EncodedData();
  for (auto _ : state) {
    for (const std::string& chunk : encoded) benchmark::DoNotOptimize(ReadChunkMeta(chunk));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(encoded.size()));
}
BENCHMARK(BM_ReadChunkMeta);

// Appends one chunk's worth of samples to a fresh HeadChunk per series, as the head does.
void BM_HeadChunkAppend(benchmark::State& state) {
  const DataSet& data = Data();
  size_t heap = 0;
  size_t stream = 0;
  for (auto _ : state) {
    heap = 0;
    stream = 0;
    for (const std::vector<Sample>& c : data.chunks) {
      HeadChunk chunk;
      for (const Sample& s : c) chunk.Append(s.t, s.v);
      heap += chunk.HeapBytes();
      benchmark::DoNotOptimize(chunk);
    }
  }
  for (const std::vector<Sample>& c : data.chunks) {
    HeadChunk chunk;
    for (const Sample& s : c) chunk.Append(s.t, s.v);
    stream += chunk.Serialize().size();
  }
  state.SetItemsProcessed(state.iterations() * data.samples);
  state.counters["heap_bytes_per_sample"] = static_cast<double>(heap) / data.samples;
  state.counters["stream_bytes_per_sample"] = static_cast<double>(stream) / data.samples;
  state.counters["sizeof"] = sizeof(HeadChunk);
}
BENCHMARK(BM_HeadChunkAppend);

void BM_HeadChunkDecode(benchmark::State& state) {
  std::vector<HeadChunk> chunks;
  for (const std::vector<Sample>& c : Data().chunks) {
    HeadChunk& chunk = chunks.emplace_back();
    for (const Sample& s : c) chunk.Append(s.t, s.v);
  }
  std::vector<Sample> out;
  out.reserve(kMaxSamplesPerChunk);
  for (auto _ : state) {
    for (const HeadChunk& chunk : chunks) {
      out.clear();
      if (!chunk.Decode(&out).ok()) state.SkipWithError("decode failed");
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * Data().samples);
}
BENCHMARK(BM_HeadChunkDecode);

// Where the value stream starts, and the name of its mode ("int_" or "dec_" before a scaled
// mode's name, for k = 0 or k > 0), read from docs/format/chunk.md's layout.
std::pair<size_t, std::string> ValueStream(std::string_view chunk) {
  static constexpr const char* kNames[] = {"?", "const", "delta", "dod", "runs", "xor"};
  std::string_view in = chunk.substr(1);
  uint64_t n = 0, min_t = 0, span = 0, ts_len = 0;
  GetVarint64(&in, &n);
  GetVarint64(&in, &min_t);
  GetVarint64(&in, &span);
  GetVarint64(&in, &ts_len);
  const size_t start = chunk.size() - in.size() + ts_len;
  const int mode = static_cast<uint8_t>(chunk[start]);
  std::string name = mode >= 1 && mode <= 5 ? kNames[mode] : "?";
  if (mode >= 2 && mode <= 4) name = (chunk[start + 1] == 0 ? "int_" : "dec_") + name;
  return {start, name};
}

// Not a timing: how chunks split between value modes and what each costs. Counters per mode:
// share of samples, value-stream bytes per sample; plus header and timestamp bytes per sample.
void BM_ChunkBytesByMode(benchmark::State& state) {
  const std::vector<std::string>& encoded = EncodedData();
  const DataSet& data = Data();
  for (auto _ : state) benchmark::DoNotOptimize(encoded.size());
  std::map<std::string, std::pair<int64_t, int64_t>> by_mode;  // name -> (samples, value bytes)
  int64_t prefix_bytes = 0;
  for (size_t i = 0; i < encoded.size(); ++i) {
    const auto [start, name] = ValueStream(encoded[i]);
    prefix_bytes += static_cast<int64_t>(start);
    auto& [samples, bytes] = by_mode[name];
    samples += static_cast<int64_t>(data.chunks[i].size());
    bytes += static_cast<int64_t>(encoded[i].size() - start);
  }
  state.counters["ts_bytes_per_sample"] = static_cast<double>(prefix_bytes) / data.samples;
  for (const auto& [name, sb] : by_mode) {
    state.counters[name + "_share"] = static_cast<double>(sb.first) / data.samples;
    state.counters[name + "_value_bytes_per_sample"] =
        static_cast<double>(sb.second) / static_cast<double>(sb.first);
  }
}
BENCHMARK(BM_ChunkBytesByMode)->Iterations(1);

// libzstd's one-shot API, looked up at run time.
struct Zstd {
  using CompressFn = size_t (*)(void*, size_t, const void*, size_t, int);
  using BoundFn = size_t (*)(size_t);
  using IsErrorFn = unsigned (*)(size_t);
  CompressFn compress = nullptr;
  BoundFn bound = nullptr;
  IsErrorFn is_error = nullptr;

  static const Zstd* Load() {
    static const Zstd* zstd = []() -> const Zstd* {
      void* lib = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
      if (lib == nullptr) return nullptr;
      auto* z = new Zstd;
      z->compress = reinterpret_cast<CompressFn>(dlsym(lib, "ZSTD_compress"));
      z->bound = reinterpret_cast<BoundFn>(dlsym(lib, "ZSTD_compressBound"));
      z->is_error = reinterpret_cast<IsErrorFn>(dlsym(lib, "ZSTD_isError"));
      if (z->compress == nullptr || z->bound == nullptr || z->is_error == nullptr) return nullptr;
      return z;
    }();
    return zstd;
  }
};

// What zstd (level 3, RocksDB's default) makes of the chunk column family's data blocks: the
// key (series ref BE | chunk start BE) and value of each chunk, in key order, cut into blocks of
// `state.range(0)` bytes, each compressed alone. Timestamp streams of a target's series repeat
// within a block, so this shows the cross-series gain the byte-aligned layout is for.
void BM_ZstdBlocks(benchmark::State& state) {
  const Zstd* zstd = Zstd::Load();
  if (zstd == nullptr) {
    state.SkipWithError("libzstd.so.1 not found");
    return;
  }
  const size_t block_size = static_cast<size_t>(state.range(0));
  const std::vector<std::string>& encoded = EncodedData();
  const DataSet& data = Data();
  std::vector<std::string> blocks(1);
  size_t raw = 0;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (blocks.back().size() >= block_size) blocks.emplace_back();
    PutFixed64BE(&blocks.back(), data.refs[i]);
    PutTimestampBE(&blocks.back(), data.chunks[i].front().t);
    blocks.back() += encoded[i];
    raw += 16 + encoded[i].size();
  }
  std::string out;
  size_t compressed = 0;
  for (auto _ : state) {
    compressed = 0;
    for (const std::string& block : blocks) {
      out.resize(zstd->bound(block.size()));
      const size_t n = zstd->compress(out.data(), out.size(), block.data(), block.size(), 3);
      if (zstd->is_error(n)) state.SkipWithError("ZSTD_compress failed");
      compressed += n;
    }
  }
  state.SetItemsProcessed(state.iterations() * data.samples);
  state.counters["raw_bytes_per_sample"] = static_cast<double>(raw) / data.samples;
  state.counters["zstd_bytes_per_sample"] = static_cast<double>(compressed) / data.samples;
}
BENCHMARK(BM_ZstdBlocks)->Arg(16 << 10)->Arg(64 << 10);

}  // namespace
}  // namespace ember::storage

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
