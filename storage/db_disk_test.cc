// What the database leaves on disk (see db_testing.h): the RocksDB WAL and the head log do not
// outlive the checkpoint that covers them, nor a clean close.
#include <filesystem>

#include "storage/db_testing.h"

namespace ember {
namespace {

// Bytes of the regular files in `dir` whose name ends with `suffix` ("" for all). RocksDB may
// delete a file while this runs: such a file counts as gone.
int64_t FileBytes(const std::string& dir, const std::string& suffix) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::error_code size_ec;
    const auto n = std::filesystem::file_size(it->path(), size_ec);
    if (!size_ec) total += static_cast<int64_t>(n);
  }
  return total;
}

// A small remote-write-like load: 100 series scraped together every 15 s for 3 hours, one
// commit per scrape, so most samples are in sealed chunks and the rest in open ones.
class DbDiskTest : public DbTest {
 protected:
  static constexpr int kSeries = 100;
  static constexpr int kRounds = 720;

  static void Ingest(Db* db) {
    for (int r = 0; r < kRounds; ++r) {
      auto app = db->NewAppender();
      for (int s = 0; s < kSeries; ++s) {
        const Labels ls = L({{"__name__", "m"}, {"i", std::to_string(s)}});
        ASSERT_TRUE(app->Append(ls, kT0 + r * 15'000, double(r * (s % 7))).ok());
      }
      ASSERT_TRUE(app->Commit().ok());
    }
  }
  int64_t WalBytes() { return FileBytes(dir_.path(), ".log"); }

  // The same load, fully compacted, in a directory of its own.
  int64_t CompactedBytes() {
    testutil::TempDir other;
    auto db = Db::Open(TestOptions(&clock_), other.path());
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return 0;
    Ingest(db->get());
    EXPECT_TRUE((*db)->CompactAll().ok());
    EXPECT_TRUE((*db)->Close().ok());
    return FileBytes(other.path(), "");
  }

  // Polls `done` every 50 ms for at most 10 s.
  static bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 200; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }
};

// The background thread's checkpoints, as in a running server once ingest stops.
class DbDiskBackgroundTest : public DbDiskTest {
 protected:
  Options MakeOptions() override {
    Options o = TestOptions(&clock_);
    o.background_interval_ms = 20;
    o.checkpoint_log_bytes = 1;  // A checkpoint at every background round with new log.
    return o;
  }
};

TEST_F(DbDiskBackgroundTest, CheckpointsReleaseTheWal) {
  Ingest(db_.get());
  // ~72,000 samples: ~800 KB of log and more of chunks went through the WAL.
  EXPECT_TRUE(Eventually([&] { return WalBytes() < (16 << 10); })) << WalBytes() << " B of WAL";
}

TEST_F(DbDiskBackgroundTest, SettledDirectoryIsNearItsCompactedSize) {
  const int64_t compacted = CompactedBytes();
  Ingest(db_.get());
  int64_t live = 0;
  EXPECT_TRUE(Eventually([&] {
    live = FileBytes(dir_.path(), "");
    return double(live) <= 1.5 * double(compacted);
  })) << "live "
      << live << " B, compacted " << compacted << " B";
  RecordProperty("live_bytes", std::to_string(live));
  RecordProperty("compacted_bytes", std::to_string(compacted));
}

TEST_F(DbDiskTest, CleanCloseLeavesNoWalAndKeepsEverySample) {
  Ingest(db_.get());
  ASSERT_GT(WalBytes(), 500'000) << "the load is in the WAL before Close";
  ASSERT_TRUE(db_->Close().ok());
  EXPECT_LT(WalBytes(), 16 << 10);
  Open();
  auto st = db_->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->samples, int64_t(kSeries) * kRounds);
  auto series = db_->Select({{Matcher::Op::kEqual, "i", "3"}}, 0, INT64_MAX);
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 1u);
  const std::vector<Sample> got = Drain((*series)[0].samples.get());
  ASSERT_EQ(got.size(), size_t(kRounds));
  EXPECT_EQ(got.back().t, kT0 + (kRounds - 1) * 15'000);
  EXPECT_EQ(got.back().v, double((kRounds - 1) * 3));
}

}  // namespace
}  // namespace ember
