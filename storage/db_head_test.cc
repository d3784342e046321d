// The head (see db_testing.h): idle series leaving and coming back, stats, and concurrent
// appenders and readers.
#include "storage/db_testing.h"

namespace ember {
namespace {

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

}  // namespace
}  // namespace ember
