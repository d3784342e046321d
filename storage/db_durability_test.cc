// What a Db keeps (see db_testing.h): samples across chunk cuts, a reopen and a process that
// exits without closing, bit-exact special values, every sync policy; and opening a directory.
#include "storage/db_testing.h"

namespace ember {
namespace {

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
              auto opened = Db::Open(TestOptions(&clock_), dir_.path());
              if (!opened.ok()) return 2;
              // Leaked: no destructor may close it, or the child would checkpoint at exit.
              Db* db = opened->release();
              auto app = db->NewAppender();
              for (int i = 0; i < 100; ++i) {
                app->Append(L({{"__name__", "m"}}), samples[i].t, samples[i].v).IgnoreError();
              }
              if (!app->Commit().ok() || !db->Checkpoint().ok()) return 3;
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
              auto opened = Db::Open(o, dir_.path());
              if (!opened.ok()) return 2;
              Db* db = opened->release();  // Leaked, never closed (see above).
              for (int i = 0; i < 3; ++i) {
                auto app = db->NewAppender();
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
