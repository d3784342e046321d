// Crash safety: no acknowledged sample is lost when the writing process is SIGKILLed at a random
// moment (mid-Append, mid-Commit, mid-checkpoint, mid-recovery, mid-creation of the database).
//
// Each iteration starts tests/crash_writer.cc on the same directory, lets it run for a random
// time, kills it with SIGKILL and reopens the directory with Db::Open, checking that:
//   - every sample of every batch the writer acknowledged reads back with the same value bits;
//   - nothing else is there, except the batch the writer was committing when it died, which is
//     all there or not there at all (a batch is stored atomically), and once seen must stay;
//   - nothing reads back twice or out of order.
// Every other iteration verifies a copy of the directory instead, so the next writer itself
// recovers what the killed one left (and may be killed in that recovery).
//
// Seeds are fixed and printed; EMBER_CRASH_SEED=<n> reruns every test with another one, and
// EMBER_CRASH_ITERATIONS=<n> / EMBER_CRASH_BUDGET_S=<s> make a longer soak of the mode tests.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ember/db.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"
#include "util/status_macros.h"

// The writer's batch generator and options: one definition for the writer and the checker.
#include "tests/crash_batches.h"

extern char** environ;

namespace ember {
namespace {

using Clock = std::chrono::steady_clock;
using crash::BatchSample;
using crash::Checkpoints;

constexpr char kWriterPath[] = EMBER_BINARY_DIR "/crash_writer";

int64_t ElapsedMs(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The writer's time origin: ~30 min before the clock, 2 s before a partition boundary (crossed
// within the first 200 batches). A test writes well under an hour of data time, so the newest
// sample stays within max_future_ms of the clock.
int64_t BaseMs() {
  const int64_t start = WallNowMs() - 30 * crash::kMinuteMs;
  return start - start % crash::kPartitionMs + crash::kPartitionMs - 2000;
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  uint64_t out = 0;
  return v != nullptr && absl::SimpleAtoi(v, &out) ? out : fallback;
}

std::string Bits(double v) { return absl::StrFormat("0x%016x", std::bit_cast<uint64_t>(v)); }

// What one writer process did before it was killed.
struct ChildRun {
  bool ready = false;         // Db::Open had returned.
  std::vector<int64_t> acks;  // Acknowledged batches, in order.
};

// Reads `fd` into `*out` until EOF (returns true) or `deadline` (returns false).
bool ReadUntil(int fd, Clock::time_point deadline, std::string* out) {
  char buf[1 << 16];
  while (true) {
    const int64_t left_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(std::max<int64_t>(left_ms, 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return false;
    const ssize_t r = read(fd, buf, sizeof(buf));
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) return true;  // EOF (or an error, which no more reading would fix).
    out->append(buf, static_cast<size_t>(r));
  }
}

// Runs crash_writer from the first batch not yet acknowledged, SIGKILLs it after a given delay,
// and checks each directory it leaves behind against everything acknowledged so far.
class CrashHarness {
 public:
  CrashHarness(std::string dir, std::string mode, uint64_t seed)
      : dir_(std::move(dir)),
        mode_(std::move(mode)),
        seed_(seed),
        base_ms_(BaseMs()),
        required_(crash::kNumSeries) {}

  // Starts the writer, kills it with SIGKILL after `delay_ms`, reaps it and records the batches
  // it acknowledged. An error when it died any other way or printed something unexpected.
  absl::StatusOr<ChildRun> RunAndKill(int64_t delay_ms, Checkpoints checkpoints) {
    if (access(kWriterPath, X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(kWriterPath, " is missing: build the crash_writer target"));
    }
    const std::vector<std::string> args = {
        kWriterPath,
        dir_,
        absl::StrCat(seed_),
        mode_,
        absl::StrCat(base_ms_),
        absl::StrCat(next_batch_),
        checkpoints == Checkpoints::kFrequent ? "frequent" : "none"};
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // dup2 clears FD_CLOEXEC on the child's stdout; the read end closes at exec.
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, kWriterPath, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      return absl::InternalError(absl::StrCat("posix_spawn ", kWriterPath, ": errno ", rc));
    }

    std::string out;
    const Clock::time_point start = Clock::now();
    const bool died_early = ReadUntil(fds[0], start + std::chrono::milliseconds(delay_ms), &out);
    kill(pid, SIGKILL);  // Not reaped yet, so `pid` is still our child even if it exited.
    const bool eof = died_early || ReadUntil(fds[0], Clock::now() + std::chrono::seconds(10), &out);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ++kills_;
    if (!eof) return absl::InternalError("the writer's stdout stayed open 10 s after SIGKILL");
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
      return absl::InternalError(absl::StrFormat(
          "crash_writer died on its own after %dms (%s %d; its stderr is above); args: %s",
          ElapsedMs(start), WIFEXITED(status) ? "exit status" : "signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), absl::StrJoin(args, " ")));
    }

    ChildRun run;
    std::vector<absl::string_view> lines = absl::StrSplit(out, '\n');
    lines.pop_back();  // Empty, or a line the kill cut short: not an acknowledgement.
    for (size_t i = 0; i < lines.size(); ++i) {
      int64_t batch = 0;
      if (i == 0 && lines[i] == "ready") {
        run.ready = true;
      } else if (i > 0 && absl::ConsumePrefix(&lines[i], "ack ") &&
                 absl::SimpleAtoi(lines[i], &batch) && batch == next_batch_) {
        run.acks.push_back(batch);
        Acknowledge(batch);
      } else {
        return absl::InternalError(
            absl::StrFormat("unexpected line %d from crash_writer: '%s' (expected ack %d)", i + 1,
                            lines[i], next_batch_));
      }
    }
    if (!run.ready) ++kills_before_ready_;
    return run;
  }

  // Opens the directory (or, with `on_copy`, a copy of it, leaving the original for the next
  // writer to recover), checks it holds exactly the acknowledged samples (see the file comment)
  // and closes it.
  absl::Status Verify(bool on_copy) {
    ++verifications_;
    std::string dir = dir_;
    if (on_copy) {
      ++verifications_on_copy_;
      dir = absl::StrCat(dir_, "-copy");
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      std::filesystem::copy(dir_, dir, std::filesystem::copy_options::recursive, ec);
      if (ec) return absl::InternalError(absl::StrCat("copy ", dir_, ": ", ec.message()));
    }
    absl::Status s = VerifyDir(dir);
    if (on_copy) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
    return s;
  }

  std::string Summary() const {
    return absl::StrFormat(
        "kills=%d (%d before Db::Open returned), acknowledged batches=%d, acknowledged samples "
        "verified=%d at the last check (%d sample checks over %d reopens, %d of them of a "
        "copy), unacknowledged batch found stored whole %d times and absent %d times",
        kills_, kills_before_ready_, next_batch_, last_verified_, samples_verified_, verifications_,
        verifications_on_copy_, maybe_stored_, maybe_absent_);
  }

  int64_t acked_batches() const { return next_batch_; }
  // How far the next batch is from the newest time the writer may append (max_future_ms past
  // the clock). One run writes at most a few minutes of data time.
  int64_t data_time_left_ms() const {
    return WallNowMs() + Options().max_future_ms - (base_ms_ + next_batch_ * crash::kStepMs);
  }
  int64_t last_verified() const { return last_verified_; }
  int kills_before_ready() const { return kills_before_ready_; }

 private:
  void Acknowledge(int64_t batch) {
    for (const BatchSample& s : crash::CrashBatch(seed_, base_ms_, batch)) {
      required_[s.series].push_back({s.t, s.v});
    }
    next_batch_ = batch + 1;
  }

  // Sorts each series' required samples by time and drops repeats (equal bits by
  // construction: a value is a function of series and time).
  static void Normalize(std::vector<Sample>* samples) {
    std::stable_sort(samples->begin(), samples->end(),
                     [](const Sample& a, const Sample& b) { return a.t < b.t; });
    samples->erase(std::unique(samples->begin(), samples->end(),
                               [](const Sample& a, const Sample& b) { return a.t == b.t; }),
                   samples->end());
  }

  // The batch whose slot `t` is in: the batch that appended it, or (a late sample) one that
  // a batch up to kMaxLookbackBatches later went back to.
  int64_t SlotOf(int series, int64_t t) const {
    return (t - base_ms_ - crash::SeriesOffsetMs(series)) / crash::kStepMs;
  }

  // For messages: "series 3 t=... (slot of batch 140, in-order)".
  std::string Describe(int series, int64_t t) const {
    const int64_t rel = t - base_ms_ - crash::SeriesOffsetMs(series);
    return absl::StrFormat("series %d t=%d (slot of batch %d, %s)", series, t, SlotOf(series, t),
                           rel % crash::kStepMs < crash::kHalfStepMs ? "in-order" : "late");
  }

  absl::Status VerifyDir(const std::string& dir) {
    // The batch the writer may have been committing when it died: next_batch_.
    std::vector<std::vector<Sample>> maybe(crash::kNumSeries);
    for (const BatchSample& s : crash::CrashBatch(seed_, base_ms_, next_batch_)) {
      maybe[s.series].push_back({s.t, s.v});
    }
    Options options = crash::CrashOptions(*crash::ParseMode(mode_), Checkpoints::kFrequent);
    options.background_interval_ms = 0;
    absl::StatusOr<std::unique_ptr<Db>> db = Db::Open(options, dir);
    if (!db.ok()) return Annotate(db.status(), "reopen after SIGKILL");
    absl::StatusOr<std::vector<Series>> series = (*db)->Select(
        {{Matcher::Op::kEqual, "job", "crash"}}, 0, std::numeric_limits<int64_t>::max());
    if (!series.ok()) return Annotate(series.status(), "select");

    std::vector<std::vector<Sample>> got(crash::kNumSeries);
    std::vector<bool> seen(crash::kNumSeries, false);
    for (Series& s : *series) {
      int i = -1;
      if (!absl::SimpleAtoi(std::string(GetLabelValue(s.labels, "series")), &i) || i < 0 ||
          i >= crash::kNumSeries || seen[i] || s.labels != crash::SeriesLabels(i)) {
        return absl::DataLossError(
            absl::StrCat("unexpected or repeated series ", LabelsToString(s.labels)));
      }
      seen[i] = true;
      while (s.samples->Next()) got[i].push_back(s.samples->At());
      if (!s.samples->status().ok()) {
        return Annotate(s.samples->status(), absl::StrCat("read series ", i));
      }
    }

    std::vector<std::string> problems;
    auto problem = [&](std::string p) {
      if (problems.size() < 20) problems.push_back(std::move(p));
    };
    int64_t missing = 0, unexpected = 0, maybe_total = 0, maybe_present = 0, verified = 0;
    int64_t first_lost_slot = std::numeric_limits<int64_t>::max(), last_lost_slot = -1;
    auto lost = [&](int series, const Sample& want, const Sample* got) {
      ++missing;
      first_lost_slot = std::min(first_lost_slot, SlotOf(series, want.t));
      last_lost_slot = std::max(last_lost_slot, SlotOf(series, want.t));
      problem(got == nullptr ? absl::StrCat("LOST acknowledged ", Describe(series, want.t),
                                            " value ", Bits(want.v))
                             : absl::StrCat("WRONG VALUE at ", Describe(series, want.t), ": got ",
                                            Bits(got->v), ", acknowledged ", Bits(want.v)));
    };
    for (int i = 0; i < crash::kNumSeries; ++i) {
      std::vector<Sample>& want = required_[i];
      Normalize(&want);
      Normalize(&maybe[i]);
      std::vector<Sample> maybe_new;  // Of the maybe-batch, what no acknowledged batch holds.
      for (const Sample& m : maybe[i]) {
        auto it = std::lower_bound(want.begin(), want.end(), m.t,
                                   [](const Sample& a, int64_t t) { return a.t < t; });
        if (it == want.end() || it->t != m.t) maybe_new.push_back(m);
      }
      maybe_total += static_cast<int64_t>(maybe_new.size());
      // Merge the samples read (ascending) with the acknowledged ones (sorted).
      size_t w = 0;
      for (size_t g = 0; g < got[i].size(); ++g) {
        const Sample& x = got[i][g];
        if (g > 0 && x.t <= got[i][g - 1].t) {
          ++unexpected;
          problem(absl::StrCat("NOT ASCENDING ", Describe(i, x.t), " after t=", got[i][g - 1].t));
          continue;
        }
        for (; w < want.size() && want[w].t < x.t; ++w) lost(i, want[w], nullptr);
        if (w < want.size() && want[w].t == x.t) {
          if (SameSample(want[w], x)) {
            ++verified;
          } else {
            lost(i, want[w], &x);
          }
          ++w;
          continue;
        }
        auto m = std::lower_bound(maybe_new.begin(), maybe_new.end(), x.t,
                                  [](const Sample& a, int64_t t) { return a.t < t; });
        if (m != maybe_new.end() && SameSample(*m, x)) {
          ++maybe_present;
        } else {
          ++unexpected;
          problem(absl::StrCat("NEVER APPENDED ", Describe(i, x.t), " value ", Bits(x.v)));
        }
      }
      for (; w < want.size(); ++w) lost(i, want[w], nullptr);
    }
    if (maybe_present > 0 && maybe_present < maybe_total) {
      problem(absl::StrFormat("PARTLY STORED unacknowledged batch %d: %d of its %d new samples",
                              next_batch_, maybe_present, maybe_total));
    }
    if (absl::Status s = (*db)->Close(); !s.ok()) return Annotate(s, "close after verifying");
    if (!problems.empty()) {
      return absl::DataLossError(absl::StrFormat(
          "%s: mode=%s seed=%d base_ms=%d, acknowledged batches [0, %d): %d lost or wrong "
          "(in the slots of batches %d..%d), %d unexpected, %d verified; first problems:\n  %s",
          dir, mode_, seed_, base_ms_, next_batch_, missing, missing > 0 ? first_lost_slot : -1,
          last_lost_slot, unexpected, verified, absl::StrJoin(problems, "\n  ")));
    }
    // Seen whole: that batch is durable now and must never disappear.
    if (maybe_total > 0 && maybe_present == maybe_total) {
      ++maybe_stored_;
      for (int i = 0; i < crash::kNumSeries; ++i) {
        required_[i].insert(required_[i].end(), maybe[i].begin(), maybe[i].end());
      }
    } else if (maybe_present == 0) {
      ++maybe_absent_;
    }
    samples_verified_ += verified;
    last_verified_ = verified;
    return absl::OkStatus();
  }

  const std::string dir_;
  const std::string mode_;
  const uint64_t seed_;
  const int64_t base_ms_;
  // Per series: every sample that must be stored (acknowledged, or seen whole once).
  std::vector<std::vector<Sample>> required_;
  int64_t next_batch_ = 0;  // The first batch not acknowledged.
  int kills_ = 0;
  int kills_before_ready_ = 0;
  int verifications_ = 0;
  int verifications_on_copy_ = 0;
  int maybe_stored_ = 0;  // Verifications that found the unacknowledged batch stored whole.
  int maybe_absent_ = 0;
  int64_t samples_verified_ = 0;
  int64_t last_verified_ = 0;
};

uint64_t TestSeed(uint64_t fallback) {
  const uint64_t seed = EnvOr("EMBER_CRASH_SEED", fallback);
  std::printf("[   seed   ] %" PRIu64 " (EMBER_CRASH_SEED=%" PRIu64 " repeats this test)\n", seed,
              seed);
  return seed;
}

void Report(const std::string& what, const CrashHarness& h, Clock::time_point start) {
  std::printf("[  crash   ] %s: %s in %.1fs\n", what.c_str(), h.Summary().c_str(),
              double(ElapsedMs(start)) / 1000);
  std::fflush(stdout);
}

class CrashTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CrashTest, NoAcknowledgedSampleIsLostAfterSigkillAtRandomMoments) {
  const std::string mode = GetParam();
  const uint64_t seed = TestSeed(mode == "sync" ? 101 : mode == "group" ? 202 : 303);
  const int iterations = static_cast<int>(EnvOr("EMBER_CRASH_ITERATIONS", 16));
  const auto budget = std::chrono::seconds(EnvOr("EMBER_CRASH_BUDGET_S", 15));
  std::mt19937_64 rng(seed);
  testutil::TempDir tmp;
  CrashHarness h(tmp.Sub("db"), mode, seed);
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < iterations && Clock::now() - start < budget; ++i) {
    // A long soak stops before the writer's timeline gets max_future_ms ahead of the clock.
    if (h.data_time_left_ms() < 10 * crash::kMinuteMs) break;
    const int64_t delay_ms = 50 + static_cast<int64_t>(rng() % 751);
    absl::StatusOr<ChildRun> run = h.RunAndKill(delay_ms, Checkpoints::kFrequent);
    ASSERT_TRUE(run.ok()) << "iteration " << i << ": " << run.status();
    // Odd iterations leave the recovery to the next writer.
    absl::Status s = h.Verify(/*on_copy=*/i % 2 == 1 && i + 1 < iterations);
    ASSERT_TRUE(s.ok()) << "iteration " << i << " (killed after " << delay_ms << "ms, "
                        << run->acks.size() << " acks): " << s;
  }
  Report(absl::StrCat("mode=", mode, " seed=", seed), h, start);
  EXPECT_GT(h.acked_batches(), 0) << "the writer never got to commit: nothing was tested";
  RecordProperty("acked_batches", static_cast<int>(h.acked_batches()));
  RecordProperty("samples_verified_last", static_cast<int>(h.last_verified()));
}

INSTANTIATE_TEST_SUITE_P(SyncPolicies, CrashTest, ::testing::Values("sync", "group", "nosync"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

TEST(CrashOpenTest, KillsDuringTheFirstOpenLeaveADatabaseThatOpensAndAcceptsWrites) {
  const uint64_t seed = TestSeed(404);
  std::mt19937_64 rng(seed);
  testutil::TempDir tmp;
  CrashHarness h(tmp.Sub("db"), "sync", seed);
  const Clock::time_point start = Clock::now();
  // Creating a database takes ~100-200 ms (column families, OPTIONS files): half the kills land
  // in its first 20 ms, the rest anywhere in it. Nothing opens the directory in between.
  for (int i = 0; i < 12; ++i) {
    const int64_t delay_ms = static_cast<int64_t>(i < 6 ? rng() % 21 : 20 + rng() % 231);
    absl::StatusOr<ChildRun> run = h.RunAndKill(delay_ms, Checkpoints::kFrequent);
    ASSERT_TRUE(run.ok()) << "kill " << i << ": " << run.status();
  }
  absl::Status s = h.Verify(/*on_copy=*/false);
  ASSERT_TRUE(s.ok()) << s;
  // And the database still takes writes that survive a kill.
  absl::StatusOr<ChildRun> run = h.RunAndKill(1500, Checkpoints::kFrequent);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->ready);
  s = h.Verify(/*on_copy=*/false);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_GT(h.acked_batches(), 0);
  EXPECT_GT(h.kills_before_ready(), 0) << "no kill landed before Db::Open returned";
  Report(absl::StrCat("first open, seed=", seed), h, start);
}

TEST(CrashOpenTest, KillsDuringLogReplayLoseNothing) {
  const uint64_t seed = TestSeed(505);
  std::mt19937_64 rng(seed);
  testutil::TempDir tmp;
  CrashHarness h(tmp.Sub("db"), "nosync", seed);
  const Clock::time_point start = Clock::now();
  // Without background checkpoints the log holds every batch: ~1 s of writing takes the next
  // open a few hundred ms to replay, and that is where these kills land. A writer that does
  // finish its recovery folds the log into a checkpoint and starts a new log.
  absl::StatusOr<ChildRun> run = h.RunAndKill(1200, Checkpoints::kNone);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->ready);
  for (int i = 0; i < 10; ++i) {
    const int64_t delay_ms = 30 + static_cast<int64_t>(rng() % 371);
    run = h.RunAndKill(delay_ms, Checkpoints::kNone);
    ASSERT_TRUE(run.ok()) << "kill " << i << ": " << run.status();
  }
  absl::Status s = h.Verify(/*on_copy=*/false);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_GT(h.kills_before_ready(), 0) << "no kill landed before Db::Open returned";
  Report(absl::StrCat("log replay, seed=", seed), h, start);
}

}  // namespace
}  // namespace ember
