// Which sample timestamps a Db accepts (see db_testing.h): out of order, duplicates, the
// out-of-order window, and timestamps too far in the future or extreme.
#include "storage/db_testing.h"

namespace ember {
namespace {

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

TEST_F(DbOutOfOrderTest, EveryRangeReadsExactlyItsSamplesAroundTheOpenChunk) {
  // 200 samples: one sealed chunk of 120, an open chunk from sample 120. Then late samples
  // into the sealed chunk (older than the open chunk) and into the open one.
  std::vector<Sample> all = Ramp(200);
  AppendAll(L({{"__name__", "m"}}), all);
  const std::vector<Sample> late = {{kT0 + 50 * 15'000 + 7'000, -1},
                                    {kT0 + 119 * 15'000 + 7'000, -2},
                                    {kT0 + 150 * 15'000 + 7'000, -3}};
  CommitResult r = AppendAll(L({{"__name__", "m"}}), late);
  ASSERT_EQ(r.samples_stored, 3);
  all.insert(all.end(), late.begin(), late.end());
  std::sort(all.begin(), all.end(), [](const Sample& a, const Sample& b) { return a.t < b.t; });
  const int64_t open_start = kT0 + 120 * 15'000;
  for (int64_t mint : {kT0, late[0].t, late[1].t, open_start - 1, open_start, open_start + 1,
                       late[2].t, kT0 + 199 * 15'000, kT0 + 300 * 15'000}) {
    for (int64_t maxt : {open_start, late[2].t, kT0 + 199 * 15'000}) {
      SCOPED_TRACE(testing::Message() << "[" << mint - kT0 << ", " << maxt - kT0 << "]");
      std::vector<Sample> want;
      for (const Sample& s : all) {
        if (s.t >= mint && s.t <= maxt) want.push_back(s);
      }
      EXPECT_TRUE(BitsEqual(Read(db_.get(), "m", mint, maxt), want));
    }
  }
}

}  // namespace
}  // namespace ember
