// Retention (see db_testing.h): whole partitions dropped by age from the wall clock or by size,
// and never because of one sample far in the future.
#include "storage/db_testing.h"

namespace ember {
namespace {

TEST_F(DbTest, RetentionDropsWholePartitionsCountedFromTheWallClock) {
  Options o = TestOptions(&clock_);
  o.retention_ms = 2 * kDay;
  ASSERT_NO_FATAL_FAILURE(Open(o));
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
  ASSERT_NO_FATAL_FAILURE(Open(o));
  AppendAll(L({{"__name__", "m"}}), {{clock_.now - kHour, 1}});
  auto app = db_->NewAppender();
  EXPECT_FALSE(app->Append(L({{"__name__", "m"}}), clock_.now + 10LL * 365 * kDay, 2).ok());
  ASSERT_TRUE(db_->ApplyRetention().ok());
  EXPECT_EQ(Read(db_.get(), "m").size(), 1u);
}

TEST_F(DbTest, RetentionBySizeDropsOldestPartitionsButNotToday) {
  Options o = TestOptions(&clock_);
  o.retention_bytes = 1;  // Everything is too much: only the current partition may stay.
  ASSERT_NO_FATAL_FAILURE(Open(o));
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

}  // namespace
}  // namespace ember
