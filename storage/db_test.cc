// Behaviour of the storage engine through the public embedding API (ember/db.h).
#include "ember/db.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace ember {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kT0 = 1'700'000'000'000 - 1'700'000'000'000 % kDay;  // A day boundary.

struct FakeClock {
  int64_t now = kT0 + 10 * kDay;
};

Options TestOptions(FakeClock* clock) {
  Options o;
  o.sync_policy = SyncPolicy::kNoSync;
  o.background_interval_ms = 0;  // Tests call Checkpoint() and ApplyRetention() themselves.
  o.retention_ms = 0;
  o.clock = [clock] { return clock->now; };
  return o;
}

Labels L(std::vector<std::pair<std::string, std::string>> pairs) {
  Labels ls;
  for (auto& [n, v] : pairs) ls.push_back({n, v});
  return ls;
}

std::vector<Sample> Drain(SampleIterator* it) {
  std::vector<Sample> out;
  while (it->Next()) out.push_back(it->At());
  EXPECT_TRUE(it->status().ok()) << it->status();
  return out;
}

// All samples of the single series matching __name__=name in [mint, maxt].
std::vector<Sample> Read(Db* db, const std::string& name, int64_t mint = 0,
                         int64_t maxt = std::numeric_limits<int64_t>::max()) {
  auto series = db->Select({{Matcher::Op::kEqual, "__name__", name}}, mint, maxt);
  EXPECT_TRUE(series.ok()) << series.status();
  if (!series.ok() || series->empty()) return {};
  EXPECT_EQ(series->size(), 1u);
  return Drain((*series)[0].samples.get());
}

bool BitsEqual(const std::vector<Sample>& a, const std::vector<Sample>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameSample(a[i], b[i])) return false;
  }
  return true;
}

class DbTest : public ::testing::Test {
 protected:
  virtual Options MakeOptions() { return TestOptions(&clock_); }
  void Open() {
    db_.reset();
    auto db = Db::Open(MakeOptions(), dir_.path());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void SetUp() override { Open(); }

  CommitResult AppendAll(const Labels& ls, const std::vector<Sample>& samples) {
    auto app = db_->NewAppender();
    for (const Sample& s : samples) EXPECT_TRUE(app->Append(ls, s.t, s.v).ok());
    auto r = app->Commit();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommitResult{};
  }

  static std::vector<Sample> Ramp(int n, int64_t start = kT0, int64_t step = 15'000) {
    std::vector<Sample> out;
    for (int i = 0; i < n; ++i) out.push_back({start + i * step, double(i) * 1.5});
    return out;
  }

  // Runs `body` in a child process that then exits with body's result without running any
  // destructor (no Close(), no checkpoint): a crash after the last Commit() returned. Returns the
  // child's exit status, or -1 when it did not exit normally.
  int RunInChildThatExitsWithoutClosing(const std::function<int()>& body) {
    db_.reset();  // The directory is locked while open.
    const pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) _exit(body());
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
  }

  FakeClock clock_;
  testutil::TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(DbTest, AppendedSamplesReadBackAcrossChunkCuts) {
  const auto samples = Ramp(1000);  // 8+ chunks of 120.
  AppendAll(L({{"__name__", "requests_total"}, {"job", "api"}}), samples);
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "requests_total"), samples));
}

TEST_F(DbTest, SamplesSurviveCloseAndReopen) {
  const auto samples = Ramp(500);
  AppendAll(L({{"__name__", "m"}}), samples);
  ASSERT_TRUE(db_->Close().ok());
  Open();
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "m"), samples));
}

TEST_F(DbTest, CommittedSamplesSurviveAProcessThatExitsWithoutClosing) {
  // A child process checkpoints, commits more, and exits without any destructor running; the
  // reopen must replay the log written after the checkpoint. (tests/crash_test.cc does the
  // same with SIGKILL at random moments.)
  const auto samples = Ramp(300);
  ASSERT_EQ(RunInChildThatExitsWithoutClosing([&] {
              auto db = Db::Open(TestOptions(&clock_), dir_.path());
              if (!db.ok()) return 2;
              auto app = (*db)->NewAppender();
              for (int i = 0; i < 100; ++i) {
                app->Append(L({{"__name__", "m"}}), samples[i].t, samples[i].v).IgnoreError();
              }
              if (!app->Commit().ok() || !(*db)->Checkpoint().ok()) return 3;
              for (int i = 100; i < 300; ++i) {
                app->Append(L({{"__name__", "m"}}), samples[i].t, samples[i].v).IgnoreError();
              }
              return app->Commit().ok() ? 0 : 4;
            }),
            0);
  Open();
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "m"), samples));
  EXPECT_EQ(db_->Stats()->samples, 300);
}

TEST_F(DbTest, PlainAppendsToOpenChunksAreDurableBeforeAnyCheckpoint) {
  // Regression: a commit that only extends open chunks (no new series, no cut) must still
  // write its log record. Three one-sample commits, then exit without closing.
  ASSERT_EQ(RunInChildThatExitsWithoutClosing([&] {
              Options o = TestOptions(&clock_);
              o.sync_policy = SyncPolicy::kSyncEachCommit;
              auto db = Db::Open(o, dir_.path());
              if (!db.ok()) return 2;
              for (int i = 0; i < 3; ++i) {
                auto app = (*db)->NewAppender();
                if (!app->Append(L({{"__name__", "m"}}), kT0 + i * 1000, i).ok()) return 3;
                auto r = app->Commit();
                if (!r.ok() || r->samples_stored != 1) return 4;
              }
              return 0;
            }),
            0);
  Open();
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "m"), {{kT0, 0}, {kT0 + 1000, 1}, {kT0 + 2000, 2}}));
}

TEST_F(DbTest, SpecialValuesRoundTripBitExactlyThroughHeadDiskAndReopen) {
  const double values[] = {StaleNaN(),
                           std::bit_cast<double>(0x7ff8000000000001ULL),
                           std::bit_cast<double>(0xfff0000000000123ULL),
                           std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           -0.0,
                           0.0,
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::max(),
                           -std::numeric_limits<double>::max(),
                           1.0};
  std::vector<Sample> samples;
  for (int rep = 0; rep < 30; ++rep) {
    for (double v : values) samples.push_back({kT0 + int64_t(samples.size()) * 1000, v});
  }
  AppendAll(L({{"__name__", "weird"}}), samples);
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "weird"), samples)) << "from the head";
  ASSERT_TRUE(db_->CompactAll().ok());
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "weird"), samples)) << "from sealed chunks";
  ASSERT_TRUE(db_->Close().ok());
  Open();
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "weird"), samples)) << "after reopen";
}

TEST_F(DbTest, SelectAppliesAllMatcherKinds) {
  for (const char* job : {"api", "web", "db"}) {
    for (const char* code : {"200", "500"}) {
      AppendAll(L({{"__name__", "http_requests_total"}, {"job", job}, {"code", code}}), {{kT0, 1}});
    }
  }
  AppendAll(L({{"__name__", "up"}, {"job", "api"}}), {{kT0, 1}});
  auto count = [&](std::vector<Matcher> ms) -> int {
    auto r = db_->Select(ms, kT0, kT0);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? int(r->size()) : -1;
  };
  using Op = Matcher::Op;
  EXPECT_EQ(count({{Op::kEqual, "__name__", "http_requests_total"}}), 6);
  EXPECT_EQ(count({{Op::kEqual, "job", "api"}}), 3);
  EXPECT_EQ(count({{Op::kEqual, "__name__", "http_requests_total"}, {Op::kNotEqual, "job", "api"}}),
            4);
  EXPECT_EQ(count({{Op::kRegexMatch, "job", "a.*|d."}}), 5);
  EXPECT_EQ(count({{Op::kRegexMatch, "job", "p"}}), 0) << "regexes are fully anchored";
  EXPECT_EQ(count({{Op::kRegexMatch, "__name__", ".+"}, {Op::kRegexNoMatch, "code", "5.."}}), 4);
  EXPECT_EQ(count({{Op::kEqual, "job", "api"}, {Op::kEqual, "code", ""}}), 1)
      << "an absent label matches the empty string";
}

TEST_F(DbTest, SelectRejectsMatchersThatAllMatchEmpty) {
  auto r = db_->Select({{Matcher::Op::kRegexMatch, "job", ".*"}}, 0, kT0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DbTest, InvalidRegexIsInvalidArgument) {
  auto r = db_->Select({{Matcher::Op::kRegexMatch, "job", "("}}, 0, kT0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("job"));
}

TEST_F(DbTest, BadLabelsAreRejectedWithTheReason) {
  auto app = db_->NewAppender();
  struct Case {
    std::string name;
    Labels labels;
    std::string want;
  };
  const Case cases[] = {
      {"no labels", {}, ""},
      {"empty name", L({{"__name__", "m"}, {"", "x"}}), ""},
      {"duplicate name", L({{"__name__", "m"}, {"a", "1"}, {"a", "2"}}), "a"},
      {"invalid utf-8 value", L({{"__name__", "m"}, {"a", "\xff\xfe"}}), "a"},
      {"invalid utf-8 name", L({{"__name__", "m"}, {"\xc3\x28", "x"}}), ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::Status s = app->Append(c.labels, kT0, 1);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.want));
  }
  EXPECT_EQ(app->pending(), 0u);
}

TEST_F(DbTest, Utf8NamesAndValuesReadBackExactly) {
  const Labels ls = L({{"__name__", "température.celsius"}, {"pièce", "salle 1 ✓"}});
  AppendAll(ls, {{kT0, 21.5}});
  auto r = db_->Select({{Matcher::Op::kEqual, "pièce", "salle 1 ✓"}}, kT0, kT0);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  Labels want = ls;
  CanonicalizeLabels(&want);
  EXPECT_EQ((*r)[0].labels, want);
}

TEST_F(DbTest, OutOfOrderSampleIsRejectedByDefaultWithReason) {
  AppendAll(L({{"__name__", "m"}}), {{kT0 + 60'000, 1}});
  CommitResult r = AppendAll(L({{"__name__", "m"}}), {{kT0, 2}, {kT0 + 120'000, 3}});
  EXPECT_EQ(r.samples_stored, 1);
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].index, 0u);
  EXPECT_EQ(r.rejected[0].status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(r.rejected[0].status.message()), HasSubstr("out_of_order_window_ms=0"));
  EXPECT_THAT(Read(db_.get(), "m").size(), 2u);
}

TEST_F(DbTest, DuplicateWithSameValueIsAcceptedAndDifferentValueRejected) {
  AppendAll(L({{"__name__", "m"}}), {{kT0, 1}, {kT0 + 1000, 2}});
  CommitResult same = AppendAll(L({{"__name__", "m"}}), {{kT0 + 1000, 2}});
  EXPECT_EQ(same.samples_stored, 1);
  EXPECT_TRUE(same.rejected.empty());
  CommitResult differ = AppendAll(L({{"__name__", "m"}}), {{kT0 + 1000, 5}});
  ASSERT_EQ(differ.rejected.size(), 1u);
  EXPECT_EQ(differ.rejected[0].status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(differ.rejected[0].status.message()), HasSubstr("duplicate sample"));
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "m"), {{kT0, 1}, {kT0 + 1000, 2}}));
}

class DbOutOfOrderTest : public DbTest {
 protected:
  Options MakeOptions() override {
    Options o = TestOptions(&clock_);
    o.out_of_order_window_ms = 2 * kHour;
    return o;
  }
};

TEST_F(DbOutOfOrderTest, SamplesWithinWindowAreMergedIntoHeadAndSealedChunks) {
  // 400 samples every 15 s, every third one held back and sent afterwards in reverse.
  std::vector<Sample> all = Ramp(400), in_order, late;
  for (size_t i = 0; i < all.size(); ++i) (i % 3 == 1 ? late : in_order).push_back(all[i]);
  std::reverse(late.begin(), late.end());
  AppendAll(L({{"__name__", "m"}}), in_order);
  CommitResult r = AppendAll(L({{"__name__", "m"}}), late);
  EXPECT_EQ(r.samples_stored, int64_t(late.size()));
  EXPECT_TRUE(r.rejected.empty()) << r.rejected[0].status;
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "m"), all));
  // The merge is durable and duplicates are still detected afterwards.
  Open();
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "m"), all));
  CommitResult dup = AppendAll(L({{"__name__", "m"}}), {{late[5].t, late[5].v + 1}});
  ASSERT_EQ(dup.rejected.size(), 1u);
  EXPECT_EQ(dup.rejected[0].status.code(), absl::StatusCode::kAlreadyExists)
      << dup.rejected[0].status;
}

TEST_F(DbOutOfOrderTest, SampleOlderThanWindowIsRejected) {
  AppendAll(L({{"__name__", "m"}}), {{kT0 + 3 * kHour, 1}});
  CommitResult r = AppendAll(L({{"__name__", "m"}}), {{kT0 + kHour - 1, 2}, {kT0 + kHour, 3}});
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].index, 0u);
  EXPECT_THAT(std::string(r.rejected[0].status.message()), HasSubstr("older than the newest"));
  EXPECT_TRUE(BitsEqual(Read(db_.get(), "m"), {{kT0 + kHour, 3}, {kT0 + 3 * kHour, 1}}));
}

TEST_F(DbTest, SamplesTooFarInTheFutureAndExtremeTimestampsAreRejected) {
  auto app = db_->NewAppender();
  const Labels ls = L({{"__name__", "m"}});
  for (int64_t t : {clock_.now + 2 * kHour, std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<int64_t>::min(), int64_t{-1}}) {
    SCOPED_TRACE(t);
    absl::Status s = app->Append(ls, t, 1);
    EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
  }
  EXPECT_TRUE(app->Append(ls, clock_.now + kMinute, 1).ok()) << "within max_future_ms";
}

TEST_F(DbTest, RetentionDropsWholePartitionsCountedFromTheWallClock) {
  Options o = TestOptions(&clock_);
  o.retention_ms = 2 * kDay;
  db_.reset();
  auto db = Db::Open(o, dir_.path());
  ASSERT_TRUE(db.ok());
  db_ = std::move(*db);
  // One sample an hour over the last 5 days before now.
  std::vector<Sample> samples;
  for (int64_t t = clock_.now - 5 * kDay + kHour; t <= clock_.now; t += kHour) {
    samples.push_back({t, 1});
  }
  // Older than retention: rejected at Append; the rest is stored.
  auto app = db_->NewAppender();
  int accepted = 0;
  for (const Sample& s : samples) accepted += app->Append(L({{"__name__", "m"}}), s.t, s.v).ok();
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(accepted, 49);  // now - 2 days itself is still inside.
  ASSERT_TRUE(db_->CompactAll().ok());
  auto before = db_->Stats();
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->partitions, 3);  // now is a day boundary: two whole days and one sample.

  clock_.now += kDay + kHour;  // The oldest partition is now wholly older than 2 days.
  ASSERT_TRUE(db_->ApplyRetention().ok());
  auto after = db_->Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->partitions, 2);
  EXPECT_EQ(after->samples, 25);
  const auto left = Read(db_.get(), "m");
  ASSERT_FALSE(left.empty());
  EXPECT_GE(left.front().t, clock_.now - 2 * kDay - kHour);
}

TEST_F(DbTest, OneSampleFarInTheFutureNeverDeletesData) {
  Options o = TestOptions(&clock_);
  o.retention_ms = 2 * kDay;
  db_.reset();
  auto db = Db::Open(o, dir_.path());
  ASSERT_TRUE(db.ok());
  db_ = std::move(*db);
  AppendAll(L({{"__name__", "m"}}), {{clock_.now - kHour, 1}});
  auto app = db_->NewAppender();
  EXPECT_FALSE(app->Append(L({{"__name__", "m"}}), clock_.now + 10LL * 365 * kDay, 2).ok());
  ASSERT_TRUE(db_->ApplyRetention().ok());
  EXPECT_EQ(Read(db_.get(), "m").size(), 1u);
}

TEST_F(DbTest, RetentionBySizeDropsOldestPartitionsButNotToday) {
  Options o = TestOptions(&clock_);
  o.retention_bytes = 1;  // Everything is too much: only the current partition may stay.
  db_.reset();
  auto db = Db::Open(o, dir_.path());
  ASSERT_TRUE(db.ok());
  db_ = std::move(*db);
  std::vector<Sample> samples;
  for (int64_t t = clock_.now - 3 * kDay; t <= clock_.now; t += kHour) samples.push_back({t, 1});
  AppendAll(L({{"__name__", "m"}}), samples);
  ASSERT_TRUE(db_->CompactAll().ok());
  ASSERT_TRUE(db_->ApplyRetention().ok());
  auto st = db_->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->partitions, 1);
  EXPECT_EQ(Read(db_.get(), "m").size(), 1u);  // Only the sample at `now`.
}

TEST_F(DbTest, RecentWindowDoesNotReturnSeriesThatStoppedLongAgo) {
  AppendAll(L({{"__name__", "pod_cpu"}, {"pod", "old"}}), {{kT0, 1}});
  AppendAll(L({{"__name__", "pod_cpu"}, {"pod", "new"}}), {{kT0 + 3 * kDay, 1}});
  auto r = db_->Select({{Matcher::Op::kEqual, "__name__", "pod_cpu"}}, kT0 + 3 * kDay - kHour,
                       kT0 + 3 * kDay);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(GetLabelValue((*r)[0].labels, "pod"), "new");
  auto values = db_->LabelValues("pod", kT0 + 3 * kDay - kHour, kT0 + 3 * kDay);
  ASSERT_TRUE(values.ok());
  EXPECT_THAT(*values, ElementsAre("new"));
  auto all = db_->LabelValues("pod", 0, kT0 + 3 * kDay);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ElementsAre("new", "old"));
}

TEST_F(DbTest, LabelNamesAndValuesHonourMatchers) {
  AppendAll(L({{"__name__", "a"}, {"job", "x"}, {"zone", "eu"}}), {{kT0, 1}});
  AppendAll(L({{"__name__", "b"}, {"job", "y"}}), {{kT0, 1}});
  auto names = db_->LabelNames(0, kT0);
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("__name__", "job", "zone"));
  auto only_b = db_->LabelNames(0, kT0, {{Matcher::Op::kEqual, "__name__", "b"}});
  ASSERT_TRUE(only_b.ok());
  EXPECT_THAT(*only_b, ElementsAre("__name__", "job"));
  auto jobs = db_->LabelValues("job", 0, kT0, {{Matcher::Op::kEqual, "zone", "eu"}});
  ASSERT_TRUE(jobs.ok());
  EXPECT_THAT(*jobs, ElementsAre("x"));
}

TEST_F(DbTest, IteratorSeekSkipsAheadAndNeverGoesBack) {
  const auto samples = Ramp(1000);
  AppendAll(L({{"__name__", "m"}}), samples);
  ASSERT_TRUE(db_->CompactAll().ok());
  auto r = db_->Select({{Matcher::Op::kEqual, "__name__", "m"}}, 0, kT0 + 1000 * 15'000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  SampleIterator* it = (*r)[0].samples.get();
  ASSERT_TRUE(it->Seek(samples[700].t - 1));
  EXPECT_EQ(it->At().t, samples[700].t);
  ASSERT_TRUE(it->Seek(samples[10].t));  // Backwards: stays put.
  EXPECT_EQ(it->At().t, samples[700].t);
  ASSERT_TRUE(it->Next());
  EXPECT_EQ(it->At().t, samples[701].t);
  EXPECT_FALSE(it->Seek(samples.back().t + 1));
}

TEST_F(DbTest, SelectHonoursTimeRangeInclusively) {
  const auto samples = Ramp(100);
  AppendAll(L({{"__name__", "m"}}), samples);
  const auto got = Read(db_.get(), "m", samples[10].t, samples[20].t);
  ASSERT_EQ(got.size(), 11u);
  EXPECT_EQ(got.front().t, samples[10].t);
  EXPECT_EQ(got.back().t, samples[20].t);
  EXPECT_TRUE(Read(db_.get(), "m", samples.back().t + 1, samples.back().t + kHour).empty());
}

TEST_F(DbTest, IdleSeriesLeaveTheHeadAndContinueWhenTheyComeBack) {
  const Labels ls = L({{"__name__", "m"}});
  AppendAll(ls, Ramp(50));
  clock_.now = kT0 + 50 * 15'000 + 2 * kHour;  // Idle past head_idle_ms.
  ASSERT_TRUE(db_->Checkpoint().ok());
  auto st = db_->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->head_series, 0);
  // Coming back: older samples are still out of order, newer ones continue the series.
  CommitResult r = AppendAll(ls, {{kT0, 9}, {kT0 + 2 * kHour, 7}});
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].index, 0u);
  EXPECT_EQ(Read(db_.get(), "m").size(), 51u);
  EXPECT_EQ(db_->Stats()->series, 1) << "the series kept its ref";
}

TEST_F(DbTest, StatsCountSeriesSamplesAndBytes) {
  AppendAll(L({{"__name__", "a"}}), Ramp(200));
  AppendAll(L({{"__name__", "b"}}), Ramp(100));
  ASSERT_TRUE(db_->CompactAll().ok());
  auto st = db_->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->series, 2);
  EXPECT_EQ(st->samples, 300);
  EXPECT_GT(st->bytes_on_disk, 0);
  EXPECT_DOUBLE_EQ(st->bytes_per_sample, double(st->bytes_on_disk) / 300);
  Open();
  EXPECT_EQ(db_->Stats()->samples, 300) << "counts survive reopen";
}

TEST_F(DbTest, ConcurrentAppendersAndReadersSeeConsistentSeries) {
  constexpr int kWriters = 3, kBatches = 40, kSeriesPerWriter = 20, kPerBatch = 5;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto app = db_->NewAppender();
      for (int b = 0; b < kBatches; ++b) {
        for (int s = 0; s < kSeriesPerWriter; ++s) {
          for (int i = 0; i < kPerBatch; ++i) {
            const int64_t t = kT0 + (int64_t(b) * kPerBatch + i) * 1000;
            ASSERT_TRUE(
                app->Append(
                       L({{"__name__", "c"}, {"w", std::to_string(w)}, {"s", std::to_string(s)}}),
                       t, double(t))
                    .ok());
          }
        }
        auto r = app->Commit();
        ASSERT_TRUE(r.ok()) << r.status();
        ASSERT_TRUE(r->rejected.empty());
      }
    });
  }
  std::thread reader([&] {
    while (!done.load()) {
      auto r = db_->Select({{Matcher::Op::kEqual, "__name__", "c"}}, 0, kT0 + kHour);
      ASSERT_TRUE(r.ok()) << r.status();
      for (Series& s : *r) {
        int64_t prev = -1;
        while (s.samples->Next()) {
          // Every sample's value is its timestamp, and time only moves forward.
          ASSERT_EQ(s.samples->At().v, double(s.samples->At().t));
          ASSERT_GT(s.samples->At().t, prev);
          prev = s.samples->At().t;
        }
      }
      ++reads;
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  auto r = db_->Select({{Matcher::Op::kEqual, "__name__", "c"}}, 0, kT0 + kHour);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), size_t(kWriters * kSeriesPerWriter));
  for (Series& s : *r) EXPECT_EQ(Drain(s.samples.get()).size(), size_t(kBatches * kPerBatch));
}

TEST(DbOpenTest, MissingDirectoryWithoutCreateIsNotFound) {
  testutil::TempDir dir;
  Options o;
  o.create_if_missing = false;
  o.background_interval_ms = 0;
  auto db = Db::Open(o, dir.Sub("absent"));
  EXPECT_EQ(db.status().code(), absl::StatusCode::kNotFound);
}

TEST(DbOpenTest, SecondOpenOfTheSameDirectoryFails) {
  testutil::TempDir dir;
  Options o;
  o.background_interval_ms = 0;
  auto first = Db::Open(o, dir.path());
  ASSERT_TRUE(first.ok());
  auto second = Db::Open(o, dir.path());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
}

TEST(DbOpenTest, BadOptionsAreInvalidArgument) {
  testutil::TempDir dir;
  Options o;
  o.partition_duration_ms = 3 * kHour;  // Not a multiple of the 2h chunk range.
  auto db = Db::Open(o, dir.path());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(db.status().message()), HasSubstr("partition_duration_ms"));
}

TEST(DbSyncTest, EverySyncPolicyAcknowledgesDurableCommits) {
  for (SyncPolicy p :
       {SyncPolicy::kSyncEachCommit, SyncPolicy::kGroupCommit, SyncPolicy::kNoSync}) {
    SCOPED_TRACE(int(p));
    testutil::TempDir dir;
    Options o;
    o.sync_policy = p;
    o.group_commit_interval_ms = 2;
    o.retention_ms = 0;
    auto db = Db::Open(o, dir.path());
    ASSERT_TRUE(db.ok());
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (int batch = 0; batch < 5; ++batch) {
      auto app = (*db)->NewAppender();
      for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(app->Append(L({{"__name__", "m"}}), now - 100'000 + batch * 10 + i, i).ok());
      }
      auto r = app->Commit();
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->samples_stored, 10);
    }
    ASSERT_TRUE((*db)->Close().ok());
  }
}

}  // namespace
}  // namespace ember
