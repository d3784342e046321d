// The storage engine end to end, on the ML-serving data set (examples/model-serving/scrape_data.h),
// through the public API only (Db::Open, NewAppender, Append, Commit, Stats, CompactAll):
//
//   --mode=ingest  durable ingest throughput: samples/s, CPU per sample, commit latency
//   --mode=bytes   bytes per sample on disk after CompactAll(), split by column family
//   --mode=memory  memory per active series (RSS growth and the head's own estimate)
//   --mode=reopen  Db::Open after a SIGKILL with every series active and a full log tail
//   --mode=all     all four, one after the other
//
// Prints a table of figures; docs/performance.md has the commands, the machine and the results.
// The defaults are the full-size runs (each a few minutes on 2 cores); CI runs a small version
// (.ci/run), a few seconds:
//
//   storage_macro_bench --mode=all --targets=10 --hours=1 --dir=$(mktemp -d)
//
// A missed target is only reported. The exit status is 1 when the engine loses or miscounts
// samples (acknowledged samples missing after the crash, Stats().samples off), so CI fails then.
//
// Time: the database clock is injected and follows the data (the newest timestamp appended),
// so hours of data load in seconds while head_idle_ms, max_future_ms and the background
// checkpoints see the time a live server would. The data starts at --start_ms, a partition
// (day) boundary, so a 24 h run fills exactly one partition: one day of retention.
//
// The only RocksDB call here is the table-properties read behind the bytes breakdown: Db does
// not expose per-family sizes, and sst_dump is not packaged.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "ember/db.h"
#include "ember/options.h"
#include "examples/model-serving/scrape_data.h"
#include "gflags/gflags.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_reader.h"
#include "rocksdb/table_properties.h"
#include "util/status_macros.h"

DEFINE_string(mode, "all", "ingest, bytes, memory, reopen or all");
DEFINE_string(dir, "", "Parent of the data directories (default: /tmp/ember-macro-<pid>)");
DEFINE_bool(keep, false, "Keep the data directories");
DEFINE_int32(targets, 0,
             "Targets of 131 series each; 0: the mode's default (ingest and bytes 100, ~13.1k "
             "series; memory and reopen 8000, ~1.05 M series)");
DEFINE_double(hours, 24, "bytes: hours of data at a 15 s scrape interval");
DEFINE_int32(rounds, 0,
             "Scrape rounds (every target once) to ingest; 0: the mode's default (ingest 480 = "
             "2 h; memory and reopen 60 = 15 min)");
DEFINE_string(batch_scrapes, "20",
              "Whole scrapes (131 samples) per Commit; ingest takes a comma-separated list");
DEFINE_string(writers, "1",
              "Concurrent appenders, each owning a disjoint share of the targets; ingest takes "
              "a comma-separated list");
DEFINE_string(sync, "group", "Sync policy: group (kGroupCommit), each (kSyncEachCommit), none");
DEFINE_int64(group_commit_interval_ms, 0,
             "Options::group_commit_interval_ms; 0 keeps the Options default");
DEFINE_int32(checkpoint_every, 5,
             "reopen: the victim checkpoints every this many rounds and is killed just before "
             "the next checkpoint, so this many rounds are in the log (5 rounds of 1 M series "
             "are ~63 MB: the most the default checkpoint_log_bytes = 64 MB lets accumulate)");
DEFINE_int64(start_ms, 1'699'920'000'000, "First scrape slot (2023-11-14T00:00:00Z)");
DEFINE_int32(ready_fd, -1, "Internal: the reopen victim reports on this descriptor");

namespace ember {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void Die(const absl::Status& s, const std::string& what) {
  std::fprintf(stderr, "storage_macro_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

std::vector<int> IntList(const std::string& flag) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(flag, ',', absl::SkipEmpty())) {
    int v;
    if (!absl::SimpleAtoi(part, &v) || v <= 0) {
      Die(absl::InvalidArgumentError(absl::StrCat("bad list element '", part, "'")), flag);
    }
    out.push_back(v);
  }
  if (out.empty()) Die(absl::InvalidArgumentError("empty list"), flag);
  return out;
}

SyncPolicy PolicyFlag() {
  if (FLAGS_sync == "group") return SyncPolicy::kGroupCommit;
  if (FLAGS_sync == "each") return SyncPolicy::kSyncEachCommit;
  if (FLAGS_sync == "none") return SyncPolicy::kNoSync;
  Die(absl::InvalidArgumentError(FLAGS_sync), "--sync must be group, each or none");
}

// ---- Process measurements. ------------------------------------------------------------------

struct ProcMem {
  int64_t rss = 0;   // VmRSS, bytes.
  int64_t hwm = 0;   // VmHWM, bytes.
  int64_t heap = 0;  // malloc'd and not freed (mallinfo2: arenas + mmapped chunks).
};

ProcMem ReadProcMem() {
  ProcMem m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    int64_t kb = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %" SCNd64 " kB", &kb) == 1) m.rss = kb << 10;
    if (std::sscanf(line.c_str(), "VmHWM: %" SCNd64 " kB", &kb) == 1) m.hwm = kb << 10;
  }
  const struct mallinfo2 mi = mallinfo2();
  m.heap = static_cast<int64_t>(mi.uordblks + mi.hblkhd);
  return m;
}

// User + system CPU of the whole process (every thread: appenders, RocksDB's, the sync thread).
double ProcessCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

std::string MiB(int64_t bytes) { return absl::StrFormat("%.1f MiB", double(bytes) / (1 << 20)); }

// ---- The figures table. ---------------------------------------------------------------------

struct Row {
  std::string figure;
  std::string value;
  std::string target;  // Empty when the figure has none.
  std::string verdict;
};
// Rows by section, 'a' to 'd', printed in that order whatever order the modes ran in.
std::map<char, std::vector<Row>> rows;
char section = 'a';
// Set when the engine lost or miscounted samples: the binary then exits 1, so CI fails on a
// correctness bug (a missed performance target only shows in the table).
bool data_lost = false;

void Figure(std::string figure, std::string value) {
  rows[section].push_back({std::move(figure), std::move(value), "", ""});
}
// A figure with a target; `ok` says whether it is met.
void Target(std::string figure, std::string value, std::string target, bool ok) {
  rows[section].push_back(
      {std::move(figure), std::move(value), std::move(target), ok ? "MET" : "MISSED"});
}

void PrintTable() {
  std::printf("\n| figure | value | target | |\n| --- | --- | --- | --- |\n");
  for (const auto& [name, section_rows] : rows) {
    for (const Row& r : section_rows) {
      std::printf("| %s | %s | %s | %s |\n", r.figure.c_str(), r.value.c_str(), r.target.c_str(),
                  r.verdict.c_str());
    }
  }
  std::fflush(stdout);
}

void Progress(const std::string& msg) {
  const std::time_t now = std::time(nullptr);
  char stamp[16];
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", std::gmtime(&now));
  std::fprintf(stderr, "[%s] %s\n", stamp, msg.c_str());
}

// ---- Loading data. --------------------------------------------------------------------------

// The database's clock: the newest timestamp handed to an appender.
struct SimClock {
  std::atomic<int64_t> now{0};
  void AdvanceTo(int64_t t) {
    int64_t cur = now.load(std::memory_order_relaxed);
    while (t > cur && !now.compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
    }
  }
};

Options MakeOptions(SimClock* clock) {
  Options o;
  o.sync_policy = PolicyFlag();
  if (FLAGS_group_commit_interval_ms > 0) {
    o.group_commit_interval_ms = FLAGS_group_commit_interval_ms;
  }
  o.retention_ms = 0;  // The data is historical: keep all of it.
  o.clock = [clock] { return clock->now.load(std::memory_order_relaxed); };
  // Everything else as shipped: group commit every 10 ms, background checkpoints (64 MB of log
  // or 5 min), 32 MiB block cache.
  return o;
}

std::unique_ptr<Db> OpenOrDie(const Options& o, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(o, dir);
  if (!db.ok()) Die(db.status(), "Db::Open " + dir);
  return std::move(*db);
}

DbStats StatsOrDie(Db* db) {
  absl::StatusOr<DbStats> st = db->Stats();
  if (!st.ok()) Die(st.status(), "Db::Stats");
  return *st;
}

struct Scrape {
  int target = 0;
  int64_t t = 0;
  std::vector<double> values;
};

struct WriterResult {
  int64_t samples = 0;
  int64_t commits = 0;
  double append_s = 0;      // Wall time inside Append().
  double commit_s = 0;      // Wall time inside Commit() (waiting for durability included).
  double thread_cpu_s = 0;  // CPU of the writer thread during the timed part.
  std::vector<double> commit_ms;
};

struct IngestResult {
  int64_t samples = 0;
  int64_t commits = 0;
  double wall_s = 0;         // From the start barrier to the last writer's end.
  double process_cpu_s = 0;  // Every thread of the process over wall_s.
  double append_s = 0;       // Summed over writers.
  double commit_s = 0;
  double writer_cpu_s = 0;
  std::vector<double> commit_ms;

  double Percentile(double p) const {
    if (commit_ms.empty()) return 0;
    std::vector<double> v = commit_ms;
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * double(v.size())));
    std::nth_element(v.begin(), v.begin() + k, v.end());
    return v[k];
  }
};

// Ingests `rounds` scrape rounds of every target of `data` through `writers` appenders (writer
// w owns targets w, w + writers, ...; within a round its scrapes go in timestamp order) and
// commits every `batch_scrapes` scrapes. With `pregenerate` the scrapes are generated before
// the clock starts; otherwise each writer generates a round before appending it (the time that
// takes is in wall_s but not in append_s or commit_s).
IngestResult Ingest(Db* db, model_serving::ScrapeData* data, SimClock* clock, int rounds,
                    int batch_scrapes, int writers, bool pregenerate) {
  std::latch start(writers + 1);
  std::vector<WriterResult> results(writers);
  std::vector<absl::Status> errors(writers);
  std::vector<std::thread> threads;
  std::atomic<int64_t> end_ns{0};
  const std::vector<Labels>& series = data->series();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      std::vector<int> targets;
      for (int t = w; t < data->num_targets(); t += writers) targets.push_back(t);
      std::vector<Scrape> scrapes;
      auto generate_round = [&](std::vector<Scrape>* out) {
        const size_t begin = out->size();
        for (int target : targets) {
          Scrape& s = out->emplace_back();
          s.target = target;
          data->NextScrape(target, &s.t, &s.values);
        }
        std::sort(out->begin() + begin, out->end(),
                  [](const Scrape& a, const Scrape& b) { return a.t < b.t; });
      };
      if (pregenerate) {
        scrapes.reserve(static_cast<size_t>(rounds) * targets.size());
        for (int r = 0; r < rounds; ++r) generate_round(&scrapes);
      }
      std::unique_ptr<Appender> app = db->NewAppender();
      WriterResult& res = results[w];
      start.arrive_and_wait();
      const double cpu0 = ThreadCpuSeconds();
      int in_batch = 0;
      auto commit = [&]() -> bool {
        const auto c0 = Clock::now();
        absl::StatusOr<CommitResult> r = app->Commit();
        const auto c1 = Clock::now();
        if (!r.ok()) {
          errors[w] = r.status();
          return false;
        }
        if (!r->rejected.empty()) {
          errors[w] = Annotate(r->rejected[0].status,
                               absl::StrCat(r->rejected.size(), " samples rejected"));
          return false;
        }
        res.commit_s += Seconds(c1 - c0);
        res.commit_ms.push_back(Seconds(c1 - c0) * 1e3);
        ++res.commits;
        in_batch = 0;
        return true;
      };
      for (int r = 0; r < rounds; ++r) {
        const Scrape* first = nullptr;
        const Scrape* last = nullptr;
        if (pregenerate) {
          first = scrapes.data() + static_cast<size_t>(r) * targets.size();
        } else {
          scrapes.clear();
          generate_round(&scrapes);
          first = scrapes.data();
        }
        last = first + targets.size();
        for (const Scrape* s = first; s != last; ++s) {
          clock->AdvanceTo(s->t);
          const size_t base = data->target_series(s->target).first;
          const auto a0 = Clock::now();
          for (size_t k = 0; k < s->values.size(); ++k) {
            absl::Status st = app->Append(series[base + k], s->t, s->values[k]);
            if (!st.ok()) {
              errors[w] = st;
              return;
            }
          }
          res.append_s += Seconds(Clock::now() - a0);
          res.samples += static_cast<int64_t>(s->values.size());
          if (++in_batch == batch_scrapes && !commit()) return;
        }
      }
      if (in_batch > 0 && !commit()) return;
      res.thread_cpu_s = ThreadCpuSeconds() - cpu0;
      int64_t now_ns = Clock::now().time_since_epoch().count();
      int64_t cur = end_ns.load();
      while (now_ns > cur && !end_ns.compare_exchange_weak(cur, now_ns)) {
      }
    });
  }
  start.arrive_and_wait();
  const auto t0 = Clock::now();
  const double cpu0 = ProcessCpuSeconds();
  for (std::thread& t : threads) t.join();
  const double cpu1 = ProcessCpuSeconds();
  for (const absl::Status& s : errors) {
    if (!s.ok()) Die(s, "ingest");
  }
  IngestResult out;
  out.wall_s = Seconds(Clock::duration(end_ns.load()) - t0.time_since_epoch());
  out.process_cpu_s = cpu1 - cpu0;
  for (const WriterResult& r : results) {
    out.samples += r.samples;
    out.commits += r.commits;
    out.append_s += r.append_s;
    out.commit_s += r.commit_s;
    out.writer_cpu_s += r.thread_cpu_s;
    out.commit_ms.insert(out.commit_ms.end(), r.commit_ms.begin(), r.commit_ms.end());
  }
  return out;
}

model_serving::ScrapeData MakeData(int targets) {
  return model_serving::ScrapeData(
      model_serving::ScrapeDataOptions{.targets = targets, .start_ms = FLAGS_start_ms});
}

int TargetsFor(int mode_default) { return FLAGS_targets > 0 ? FLAGS_targets : mode_default; }
int RoundsFor(int mode_default) { return FLAGS_rounds > 0 ? FLAGS_rounds : mode_default; }

std::string Fresh(const std::string& base, const std::string& name) {
  const std::string dir = base + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

void Cleanup(const std::string& dir) {
  if (FLAGS_keep) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// ---- (a) Ingest. ----------------------------------------------------------------------------

void RunIngest(const std::string& base) {
  section = 'a';
  const int targets = TargetsFor(100);
  const int rounds = RoundsFor(480);
  for (int writers : IntList(FLAGS_writers)) {
    for (int batch : IntList(FLAGS_batch_scrapes)) {
      const std::string dir = Fresh(base, "ingest");
      model_serving::ScrapeData data = MakeData(targets);
      SimClock clock;
      std::unique_ptr<Db> db = OpenOrDie(MakeOptions(&clock), dir);
      // Round 1 creates the series; the figure is the steady state after it.
      const IngestResult create = Ingest(db.get(), &data, &clock, 1, batch, writers, true);
      Progress(absl::StrFormat("ingest: %d targets, %d rounds, %d writers, %d scrapes/commit",
                               targets, rounds, writers, batch));
      const IngestResult r = Ingest(db.get(), &data, &clock, rounds, batch, writers, true);
      std::string config = absl::StrFormat("%d series, %d writer%s, %d samples/commit, --sync=%s",
                                           data.series().size(), writers, writers > 1 ? "s" : "",
                                           batch * data.series().size() / targets, FLAGS_sync);
      if (FLAGS_group_commit_interval_ms > 0) {
        absl::StrAppend(&config, ", group_commit_interval_ms=", FLAGS_group_commit_interval_ms);
      }
      // A writer owns targets / writers targets: a bigger batch holds several samples of a series
      // (fewer lookups per sample than remote write, where shards split many more series).
      const double per_series = double(batch) / (double(targets) / writers);
      if (per_series > 1)
        absl::StrAppend(&config, absl::StrFormat(", %.1f samples/series/commit", per_series));
      const double rate = double(r.samples) / r.wall_s;
      Target(absl::StrCat("(a) ingest [", config, "]"), absl::StrFormat("%.0f samples/s", rate),
             ">= 1 M samples/s", rate >= 1e6);
      Figure("    samples per CPU-second (all threads)",
             absl::StrFormat("%.0f (process CPU %.2f s for %d samples: %.2f cores busy)",
                             double(r.samples) / r.process_cpu_s, r.process_cpu_s, r.samples,
                             r.process_cpu_s / r.wall_s));
      Figure("    per sample: Append / Commit (wall, summed over writers)",
             absl::StrFormat("%.0f ns / %.0f ns; writer threads' CPU %.0f ns",
                             r.append_s / double(r.samples) * 1e9,
                             r.commit_s / double(r.samples) * 1e9,
                             r.writer_cpu_s / double(r.samples) * 1e9));
      Figure("    Commit latency p50 / p99 / max",
             absl::StrFormat("%.2f / %.2f / %.2f ms (%d commits)", r.Percentile(0.5),
                             r.Percentile(0.99), r.Percentile(1.0), r.commits));
      Figure("    first round (creates the series)",
             absl::StrFormat("%.0f samples/s", double(create.samples) / create.wall_s));
      if (absl::Status s = db->Close(); !s.ok()) Die(s, "Close");
      db.reset();
      Cleanup(dir);
    }
  }
}

// ---- (b) Bytes per sample. ------------------------------------------------------------------

struct FamilyBytes {
  int64_t files = 0;
  int64_t file_bytes = 0;
  int64_t entries = 0;
  int64_t data = 0;
  int64_t index = 0;
  int64_t filter = 0;
  int64_t raw_keys = 0;
  int64_t raw_values = 0;
};

// Groups the files of `dir` by what they hold: SSTs by column family kind (their table
// properties name the family), then the WAL, MANIFEST, OPTIONS and info LOG files.
std::map<std::string, FamilyBytes> BreakDown(const std::string& dir) {
  std::map<std::string, FamilyBytes> out;
  rocksdb::Options options;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    const int64_t size = static_cast<int64_t>(entry.file_size());
    std::string kind;
    if (entry.path().extension() == ".sst") {
      rocksdb::SstFileReader reader(options);
      if (reader.Open(entry.path().string()).ok()) {
        std::shared_ptr<const rocksdb::TableProperties> p = reader.GetTableProperties();
        std::string family = p->column_family_name;
        // chunks-<start> and postings-<start>: one kind each, whatever the partition.
        kind = "sst " + family.substr(0, family.find('-'));
        FamilyBytes& f = out[kind];
        f.entries += static_cast<int64_t>(p->num_entries);
        f.data += static_cast<int64_t>(p->data_size);
        f.index += static_cast<int64_t>(p->index_size);
        f.filter += static_cast<int64_t>(p->filter_size);
        f.raw_keys += static_cast<int64_t>(p->raw_key_size);
        f.raw_values += static_cast<int64_t>(p->raw_value_size);
      } else {
        kind = "sst (unreadable)";
      }
    } else if (entry.path().extension() == ".log") {
      kind = "WAL (*.log)";
    } else if (name.rfind("MANIFEST", 0) == 0) {
      kind = "MANIFEST";
    } else if (name.rfind("OPTIONS", 0) == 0) {
      kind = "OPTIONS";
    } else if (name.rfind("LOG", 0) == 0) {
      kind = "info LOG";
    } else {
      kind = "other (" + name + ")";
    }
    FamilyBytes& f = out[kind];
    ++f.files;
    f.file_bytes += size;
  }
  return out;
}

void RunBytes(const std::string& base) {
  section = 'b';
  const int targets = TargetsFor(100);
  const int rounds = static_cast<int>(FLAGS_hours * 3600 / 15 + 0.5);
  const int batch = IntList(FLAGS_batch_scrapes)[0];
  const int writers = IntList(FLAGS_writers)[0];
  const std::string dir = Fresh(base, "bytes");
  model_serving::ScrapeData data = MakeData(targets);
  SimClock clock;
  std::unique_ptr<Db> db = OpenOrDie(MakeOptions(&clock), dir);
  Progress(absl::StrFormat("bytes: %d targets (%d series), %d rounds (%.1f h)", targets,
                           data.series().size(), rounds, FLAGS_hours));
  const IngestResult r = Ingest(db.get(), &data, &clock, rounds, batch, writers, false);
  const DbStats before = StatsOrDie(db.get());
  Progress("bytes: CompactAll");
  const auto c0 = Clock::now();
  if (absl::Status s = db->CompactAll(); !s.ok()) Die(s, "CompactAll");
  const double compact_s = Seconds(Clock::now() - c0);
  const DbStats after = StatsOrDie(db.get());
  const std::map<std::string, FamilyBytes> parts = BreakDown(dir);

  const std::string config = absl::StrFormat("%d series x %.0f h at 15 s, %d samples",
                                             data.series().size(), FLAGS_hours, after.samples);
  Target(absl::StrCat("(b) bytes/sample after CompactAll [", config, "]"),
         absl::StrFormat("%.3f", after.bytes_per_sample), "<= 1.5 (goal <= 1.0)",
         after.bytes_per_sample <= 1.5);
  if (after.samples != r.samples) {
    data_lost = true;
    Figure("    ERROR: Stats().samples differs from the samples ingested",
           absl::StrFormat("%d vs %d", after.samples, r.samples));
  }
  Figure("    before CompactAll (head open, log and memtables live)",
         absl::StrFormat("%.3f bytes/sample (%s)", before.bytes_per_sample,
                         MiB(before.bytes_on_disk)));
  Figure("    after CompactAll: bytes_on_disk / partitions / series",
         absl::StrFormat("%s / %d / %d (CompactAll took %.1f s)", MiB(after.bytes_on_disk),
                         after.partitions, after.series, compact_s));
  int64_t listed = 0;
  for (const auto& [kind, f] : parts) {
    listed += f.file_bytes;
    std::string detail = absl::StrFormat("%d file%s", f.files, f.files == 1 ? "" : "s");
    if (f.entries > 0) {
      detail += absl::StrFormat(
          ", %d entries (%.1f B each); data blocks %s, index %s, filter %s; raw keys %s, "
          "raw values %s",
          f.entries, double(f.file_bytes) / double(f.entries), MiB(f.data), MiB(f.index),
          MiB(f.filter), MiB(f.raw_keys), MiB(f.raw_values));
    }
    Figure(absl::StrCat("    ", kind),
           absl::StrFormat("%.3f bytes/sample, %s (%.1f%%); %s",
                           double(f.file_bytes) / double(after.samples), MiB(f.file_bytes),
                           100.0 * double(f.file_bytes) / double(after.bytes_on_disk), detail));
    if (kind == "sst chunks" && f.entries > 0) {
      Figure("    chunks: samples per chunk, bytes per chunk value",
             absl::StrFormat("%.1f, %.1f (key 16 B)", double(after.samples) / double(f.entries),
                             double(f.raw_values) / double(f.entries)));
    }
    if ((kind == "sst postings" || kind == "sst series") && after.series > 0) {
      Figure(absl::StrCat("    ", kind.substr(4), " per series (per partition)"),
             absl::StrFormat("%.1f bytes", double(f.file_bytes) / double(after.series) /
                                               double(std::max<int64_t>(1, after.partitions))));
    }
  }
  if (listed != after.bytes_on_disk) {
    Figure("    (directory changed between Stats and the breakdown)",
           absl::StrFormat("%d vs %d bytes", listed, after.bytes_on_disk));
  }
  if (absl::Status s = db->Close(); !s.ok()) Die(s, "Close");
  db.reset();
  Cleanup(dir);
}

// ---- (c) Memory per active series. ----------------------------------------------------------

void RunMemory(const std::string& base) {
  section = 'c';
  const int targets = TargetsFor(8000);
  const int rounds = RoundsFor(60);
  const int batch = IntList(FLAGS_batch_scrapes)[0];
  const int writers = IntList(FLAGS_writers)[0];
  const std::string dir = Fresh(base, "memory");
  model_serving::ScrapeData data = MakeData(targets);
  SimClock clock;
  // The generator's own scratch (one round of values per writer) is allocated before the
  // baseline by generating nothing: its size is a few KB, negligible.
  const ProcMem m0 = ReadProcMem();
  std::unique_ptr<Db> db = OpenOrDie(MakeOptions(&clock), dir);
  const ProcMem m_open = ReadProcMem();
  Progress(absl::StrFormat("memory: %d targets (%d series), %d rounds", targets,
                           data.series().size(), rounds));
  const IngestResult first = Ingest(db.get(), &data, &clock, 1, batch, writers, false);
  const ProcMem m1 = ReadProcMem();
  const IngestResult rest = Ingest(db.get(), &data, &clock, rounds - 1, batch, writers, false);
  const ProcMem m2 = ReadProcMem();
  const DbStats st = StatsOrDie(db.get());
  const double series = double(st.head_series);

  const double per_series = double(m2.rss - m0.rss) / series;
  Target(absl::StrFormat("(c) RSS growth per active series [%d series x %d scrapes]",
                         st.head_series, rounds),
         absl::StrFormat("%.0f bytes (%s)", per_series, MiB(m2.rss - m0.rss)), "<= 1 KB",
         per_series <= 1024);
  if (st.head_series < 100'000) {
    Figure("    (small run: RocksDB's fixed memory, memtables and block cache, dominates)", "");
  }
  Figure("    head_memory_bytes / head_series (the engine's estimate)",
         absl::StrFormat("%.0f bytes (%s)", double(st.head_memory_bytes) / series,
                         MiB(st.head_memory_bytes)));
  Figure("    malloc'd heap growth per series (mallinfo2)",
         absl::StrFormat("%.0f bytes (%s)", double(m2.heap - m0.heap) / series,
                         MiB(m2.heap - m0.heap)));
  Figure("    RSS: baseline (data set labels) / +Open / +round 1 / +rounds 2..N",
         absl::StrFormat("%s / +%s / +%s / +%s", MiB(m0.rss), MiB(m_open.rss - m0.rss),
                         MiB(m1.rss - m_open.rss), MiB(m2.rss - m1.rss)));
  Figure("    VmHWM growth per series (peak over the run)",
         absl::StrFormat("%.0f bytes (VmHWM %s)", double(m2.hwm - m0.rss) / series, MiB(m2.hwm)));
  // Generation runs on the writer threads between appends: rate over the time writers spent
  // in Append() and Commit(), averaged over the writers.
  auto rate = [writers](const IngestResult& r) {
    return double(r.samples) / ((r.append_s + r.commit_s) / writers);
  };
  Figure(absl::StrFormat("    ingest at %d series: round 1 (creates them) / rounds 2..N",
                         st.head_series),
         absl::StrFormat("%.0f / %.0f samples/s of Append+Commit time (data generation "
                         "excluded)",
                         rate(first), rate(rest)));
  // A checkpoint writes every dirty series' open chunk in one batch: what it costs at this
  // scale, in time and in transient memory.
  const auto c0 = Clock::now();
  if (absl::Status s = db->Checkpoint(); !s.ok()) Die(s, "Checkpoint");
  const double checkpoint_s = Seconds(Clock::now() - c0);
  const ProcMem m3 = ReadProcMem();
  Figure("    Checkpoint() of the whole head: time / VmHWM before and after it",
         absl::StrFormat("%.2f s / %s and %s (+%s over the RSS before it)", checkpoint_s,
                         MiB(m2.hwm), MiB(m3.hwm), MiB(std::max<int64_t>(0, m3.hwm - m2.rss))));
  if (absl::Status s = db->Close(); !s.ok()) Die(s, "Close");
  db.reset();
  Cleanup(dir);
}

// ---- (d) Reopen after a crash. --------------------------------------------------------------

// The victim: ingests, checkpointing every --checkpoint_every rounds but not after the last,
// reports on --ready_fd and waits to be killed.
int RunReopenChild() {
  const int targets = TargetsFor(8000);
  const int rounds = RoundsFor(60);
  const int batch = IntList(FLAGS_batch_scrapes)[0];
  const int writers = IntList(FLAGS_writers)[0];
  model_serving::ScrapeData data = MakeData(targets);
  SimClock clock;
  Options o = MakeOptions(&clock);
  o.background_interval_ms = 0;  // Checkpoints come from the schedule below.
  std::unique_ptr<Db> db = OpenOrDie(o, FLAGS_dir);
  const auto t0 = Clock::now();
  int64_t samples = 0;
  int64_t tail = 0;
  double checkpoint_s = 0;
  for (int done = 0; done < rounds;) {
    const int n = std::min(FLAGS_checkpoint_every, rounds - done);
    tail = Ingest(db.get(), &data, &clock, n, batch, writers, false).samples;
    samples += tail;
    done += n;
    if (done < rounds) {
      const auto c0 = Clock::now();
      if (absl::Status s = db->Checkpoint(); !s.ok()) Die(s, "Checkpoint");
      checkpoint_s = Seconds(Clock::now() - c0);
    }
  }
  const DbStats st = StatsOrDie(db.get());
  const std::string report =
      absl::StrFormat("READY %d %d %d %d %.3f %.3f %d\n", clock.now.load(), samples, tail,
                      st.head_series, Seconds(Clock::now() - t0), checkpoint_s, ReadProcMem().rss);
  if (write(FLAGS_ready_fd, report.data(), report.size()) != ssize_t(report.size())) return 1;
  close(FLAGS_ready_fd);
  // Waits for SIGKILL without closing: the Db is never closed or checkpointed again.
  while (true) pause();
}

void RunReopen(const std::string& base, const char* argv0) {
  section = 'd';
  const int targets = TargetsFor(8000);
  const int rounds = RoundsFor(60);
  const std::string dir = Fresh(base, "reopen");
  int fds[2];
  if (pipe(fds) != 0) Die(absl::InternalError(std::strerror(errno)), "pipe");
  Progress(absl::StrFormat("reopen: victim ingests %d targets x %d rounds, checkpoint every %d",
                           targets, rounds, FLAGS_checkpoint_every));
  // A fresh image for the victim (fork, then exec of this binary): the parent may run RocksDB
  // threads, which fork() does not copy. Everything exec needs is built before the fork.
  std::vector<std::string> args = {argv0,
                                   "--mode=reopen_child",
                                   "--dir=" + dir,
                                   absl::StrCat("--targets=", targets),
                                   absl::StrCat("--rounds=", rounds),
                                   "--batch_scrapes=" + FLAGS_batch_scrapes,
                                   "--writers=" + FLAGS_writers,
                                   "--sync=" + FLAGS_sync,
                                   absl::StrCat("--checkpoint_every=", FLAGS_checkpoint_every),
                                   absl::StrCat("--start_ms=", FLAGS_start_ms),
                                   absl::StrCat("--ready_fd=", fds[1])};
  std::vector<char*> cargs;
  for (std::string& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    execv("/proc/self/exe", cargs.data());
    _exit(127);
  }
  close(fds[1]);
  std::string report;
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) report.append(buf, size_t(n));
  close(fds[0]);
  int64_t last_t = 0, samples = 0, tail = 0, head_series = 0, child_rss = 0;
  double child_s = 0, checkpoint_s = 0;
  if (std::sscanf(report.c_str(),
                  "READY %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %lf %lf %" SCNd64, &last_t,
                  &samples, &tail, &head_series, &child_s, &checkpoint_s, &child_rss) != 7) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    Die(absl::InternalError("victim did not report: '" + report + "'"), "reopen");
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  int64_t dir_bytes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) dir_bytes += static_cast<int64_t>(e.file_size());
  }

  SimClock clock;
  clock.now = last_t;
  const ProcMem m0 = ReadProcMem();
  Progress("reopen: Db::Open after SIGKILL");
  const auto o0 = Clock::now();
  std::unique_ptr<Db> db = OpenOrDie(MakeOptions(&clock), dir);
  const double open_s = Seconds(Clock::now() - o0);
  const ProcMem m1 = ReadProcMem();
  const DbStats st = StatsOrDie(db.get());
  Target(absl::StrFormat("(d) Db::Open after SIGKILL [%d active series, %d samples in the log]",
                         st.head_series, tail),
         absl::StrFormat("%.2f s", open_s), "< 10 s", open_s < 10 && killed);
  // Every Commit() of the victim returned OK, so every sample must be back: read the `up`
  // series of every target (one sample per round each) and compare the counters.
  int64_t up_samples = 0;
  {
    absl::StatusOr<std::vector<Series>> up =
        db->Select({{Matcher::Op::kEqual, std::string(kMetricNameLabel), "up"}}, 0, INT64_MAX);
    if (!up.ok()) Die(up.status(), "Select up");
    for (Series& s : *up) {
      while (s.samples->Next()) ++up_samples;
      if (!s.samples->status().ok()) Die(s.samples->status(), "read up");
    }
  }
  const int64_t up_want = int64_t{targets} * rounds;
  const bool all_back =
      up_samples == up_want && st.samples == samples && st.head_series == head_series;
  if (!all_back) data_lost = true;
  Target("(d) acknowledged samples back after the crash",
         absl::StrFormat("up: %d of %d; Stats().samples %d of %d; head_series %d of %d", up_samples,
                         up_want, st.samples, samples, st.head_series, head_series),
         "all", all_back);
  Figure("    victim: ingest time, last Checkpoint(), RSS at the kill",
         absl::StrFormat("%.1f s, %.2f s, %s; killed by SIGKILL: %s; data dir %s", child_s,
                         checkpoint_s, MiB(child_rss), killed ? "yes" : "NO", MiB(dir_bytes)));
  Figure("    RSS growth of the reopened process per series",
         absl::StrFormat("%.0f bytes", double(m1.rss - m0.rss) / double(st.head_series)));
  const auto c0 = Clock::now();
  if (absl::Status s = db->Close(); !s.ok()) Die(s, "Close");
  db.reset();
  const double close_s = Seconds(Clock::now() - c0);
  const auto r0 = Clock::now();
  db = OpenOrDie(MakeOptions(&clock), dir);
  const double clean_open_s = Seconds(Clock::now() - r0);
  Figure("    Close() after the reopen / clean Db::Open (empty log)",
         absl::StrFormat("%.2f s / %.2f s", close_s, clean_open_s));
  if (absl::Status s = db->Close(); !s.ok()) Die(s, "Close");
  db.reset();
  Cleanup(dir);
}

}  // namespace
}  // namespace ember

int main(int argc, char** argv) {
  gflags::SetUsageMessage("storage_macro_bench --mode=ingest|bytes|memory|reopen|all [flags]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (FLAGS_mode == "reopen_child") return ember::RunReopenChild();

  std::string base = FLAGS_dir;
  const bool own_base = base.empty();
  if (own_base) base = absl::StrCat("/tmp/ember-macro-", getpid());
  std::filesystem::create_directories(base);

  const std::string& mode = FLAGS_mode;
  const bool all = mode == "all";
  if (!all && mode != "ingest" && mode != "bytes" && mode != "memory" && mode != "reopen") {
    ember::Die(absl::InvalidArgumentError(mode), "--mode");
  }
  // Memory first: it measures RSS growth, which the heap the other modes free would blur.
  if (all || mode == "memory") ember::RunMemory(base);
  if (all || mode == "ingest") ember::RunIngest(base);
  if (all || mode == "bytes") ember::RunBytes(base);
  if (all || mode == "reopen") ember::RunReopen(base, argv[0]);
  ember::PrintTable();
  if (own_base && !FLAGS_keep) {
    std::error_code ec;
    std::filesystem::remove_all(base, ec);
  }
  return ember::data_lost ? 1 : 0;
}
