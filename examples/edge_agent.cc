// An edge agent embedding Ember: it samples this machine's load and memory every second,
// keeps six hours of history within a disk budget, and answers "what was the peak?" locally.
// It includes only <ember/...> headers and links `ember`.
//
//   edge_agent [DATA_DIR] [SECONDS]      (defaults: ./edge-data, 5)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "ember/db.h"

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double ReadLoad1() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  return load;
}

double ReadMemAvailableBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  double kb = 0;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "./edge-data";
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 5;

  ember::Options options;
  options.retention_ms = 6LL * 3600 * 1000;  // Six hours of history...
  options.retention_bytes = 64LL << 20;      // ...within 64 MiB of flash.
  options.partition_duration_ms = 2LL * 3600 * 1000;
  options.block_cache_bytes = 4LL << 20;  // A small device: a small cache.
  auto db = ember::Db::Open(options, dir);
  if (!db.ok()) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), db.status().ToString().c_str());
    return 1;
  }
  const ember::Labels load = {{"__name__", "node_load1"}, {"device", "edge-01"}};
  const ember::Labels mem = {{"__name__", "node_memory_available_bytes"}, {"device", "edge-01"}};

  const int64_t start = NowMs();
  for (int i = 0; i < seconds; ++i) {
    auto app = (*db)->NewAppender();
    const int64_t t = NowMs();
    if (!app->Append(load, t, ReadLoad1()).ok() ||
        !app->Append(mem, t, ReadMemAvailableBytes()).ok()) {
      std::fprintf(stderr, "append failed\n");
      return 1;
    }
    auto committed = app->Commit();  // Durable when it returns.
    if (!committed.ok()) {
      std::fprintf(stderr, "commit: %s\n", committed.status().ToString().c_str());
      return 1;
    }
    if (i + 1 < seconds) sleep(1);
  }

  auto series = (*db)->Select({{ember::Matcher::Op::kRegexMatch, "__name__", "node_.*"}},
                              start - 6LL * 3600 * 1000, NowMs());
  if (!series.ok()) {
    std::fprintf(stderr, "select: %s\n", series.status().ToString().c_str());
    return 1;
  }
  for (ember::Series& s : *series) {
    double peak = 0;
    int n = 0;
    while (s.samples->Next()) {
      peak = n++ == 0 ? s.samples->At().v : std::max(peak, s.samples->At().v);
    }
    std::printf("%s: %d samples, peak %.2f\n", ember::LabelsToString(s.labels).c_str(), n, peak);
  }
  auto stats = (*db)->Stats();
  if (stats.ok()) {
    std::printf("%lld samples, %lld bytes on disk\n", (long long)stats->samples,
                (long long)stats->bytes_on_disk);
  }
  return (*db)->Close().ok() ? 0 : 1;
}
