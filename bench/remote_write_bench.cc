// Remote write decoding and encoding (ingest/remote_write.h): items/s are samples. The requests
// hold series of the ML-serving data set (examples/model-serving/scrape_data.h) with the five
// target labels a Kubernetes scrape adds (cluster, namespace, node, pod, container), 10-12 labels
// per series, labels sorted as Prometheus sends them. Args: series per request, samples per series.
// 2000 x 1 is Prometheus's default shard batch (max_samples_per_send = 2000) of live data;
// 500 x 20 is a sender catching up after an outage. Decoding starts from an empty DecodedBatch
// each time, so the figures include building it.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ember/labels.h"
#include "examples/model-serving/scrape_data.h"
#include "ingest/batch.h"
#include "ingest/remote_write.h"

namespace ember::ingest {
namespace {

DecodedBatch MakeBatch(int num_series, int samples_per_series) {
  model_serving::ScrapeDataOptions options;
  options.seed = 42;
  options.targets = 1;
  while (true) {
    model_serving::ScrapeData probe(options);
    if (probe.series().size() >= static_cast<size_t>(num_series)) break;
    ++options.targets;
  }
  model_serving::ScrapeData data(options);

  DecodedBatch batch;
  batch.kind = PositionKind::kTimeseries;
  batch.series.resize(num_series);
  for (int target = 0; target < data.num_targets(); ++target) {
    const auto [first, last] = data.target_series(target);
    for (size_t i = first; i < last && i < static_cast<size_t>(num_series); ++i) {
      Labels labels = data.series()[i];
      labels.push_back({"cluster", "eu-west-1-prod"});
      labels.push_back({"namespace", "ml-serving"});
      labels.push_back(
          {"node", absl::StrCat("ip-10-0-", target, "-17.eu-west-1.compute.internal")});
      labels.push_back({"pod", absl::StrCat("model-server-7f9c8d6b5-", 10000 + target)});
      labels.push_back({"container", "model-server"});
      std::sort(labels.begin(), labels.end());
      batch.series[i].labels = std::move(labels);
      batch.series[i].position = static_cast<uint32_t>(i);
    }
    std::vector<double> values;
    for (int k = 0; k < samples_per_series; ++k) {
      int64_t t = 0;
      data.NextScrape(target, &t, &values);
      for (size_t i = first; i < last && i < static_cast<size_t>(num_series); ++i) {
        batch.series[i].samples.push_back({t, values[i - first]});
      }
    }
  }
  return batch;
}

size_t NumSamples(const DecodedBatch& batch) {
  size_t n = 0;
  for (const DecodedSeries& s : batch.series) n += s.samples.size();
  return n;
}

size_t NumLabels(const DecodedBatch& batch) {
  size_t n = 0;
  for (const DecodedSeries& s : batch.series) n += s.labels.size();
  return n;
}

template <absl::Status (*Decode)(std::string_view, DecodedBatch*),
          std::string (*Encode)(const DecodedBatch&)>
void BM_Decode(benchmark::State& state) {
  const DecodedBatch batch =
      MakeBatch(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const std::string body = Encode(batch);
  const size_t samples = NumSamples(batch);
  for (auto _ : state) {
    DecodedBatch out;
    const absl::Status s = Decode(body, &out);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(out.series.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(samples));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["body_bytes_per_sample"] =
      static_cast<double>(body.size()) / static_cast<double>(samples);
  state.counters["labels_per_series"] =
      static_cast<double>(NumLabels(batch)) / static_cast<double>(batch.series.size());
}

template <std::string (*Encode)(const DecodedBatch&)>
void BM_Encode(benchmark::State& state) {
  const DecodedBatch batch =
      MakeBatch(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string body = Encode(batch);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(NumSamples(batch)));
  state.counters["body_bytes_per_sample"] =
      static_cast<double>(bytes) / static_cast<double>(NumSamples(batch));
}

void BM_DecodeRemoteWriteV1(benchmark::State& state) {
  BM_Decode<DecodeRemoteWriteV1, EncodeRemoteWriteV1>(state);
}
void BM_DecodeRemoteWriteV2(benchmark::State& state) {
  BM_Decode<DecodeRemoteWriteV2, EncodeRemoteWriteV2>(state);
}
void BM_EncodeRemoteWriteV1(benchmark::State& state) { BM_Encode<EncodeRemoteWriteV1>(state); }
void BM_EncodeRemoteWriteV2(benchmark::State& state) { BM_Encode<EncodeRemoteWriteV2>(state); }

BENCHMARK(BM_DecodeRemoteWriteV1)
    ->ArgNames({"series", "samples"})
    ->Args({2000, 1})
    ->Args({500, 20});
BENCHMARK(BM_DecodeRemoteWriteV2)
    ->ArgNames({"series", "samples"})
    ->Args({2000, 1})
    ->Args({500, 20});
BENCHMARK(BM_EncodeRemoteWriteV1)
    ->ArgNames({"series", "samples"})
    ->Args({2000, 1})
    ->Args({500, 20});
BENCHMARK(BM_EncodeRemoteWriteV2)
    ->ArgNames({"series", "samples"})
    ->Args({2000, 1})
    ->Args({500, 20});

}  // namespace
}  // namespace ember::ingest

BENCHMARK_MAIN();
