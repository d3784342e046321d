// Shared by the db_*_test.cc files: a fake clock and test options, labels and samples read back,
// and the DbTest fixture that opens a Db in a temporary directory.
//
#ifndef EMBER_STORAGE_DB_TESTING_H_
#define EMBER_STORAGE_DB_TESTING_H_

// Behaviour of the storage engine through the public embedding API (ember/db.h).
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

#include "ember/db.h"
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

inline Options TestOptions(FakeClock* clock) {
  Options o;
  o.sync_policy = SyncPolicy::kNoSync;
  o.background_interval_ms = 0;  // Tests call Checkpoint() and ApplyRetention() themselves.
  o.retention_ms = 0;
  o.clock = [clock] { return clock->now; };
  return o;
}

inline Labels L(std::vector<std::pair<std::string, std::string>> pairs) {
  Labels ls;
  for (auto& [n, v] : pairs) ls.push_back({n, v});
  return ls;
}

inline std::vector<Sample> Drain(SampleIterator* it) {
  std::vector<Sample> out;
  while (it->Next()) out.push_back(it->At());
  EXPECT_TRUE(it->status().ok()) << it->status();
  return out;
}

// All samples of the single series matching __name__=name in [mint, maxt].
inline std::vector<Sample> Read(Db* db, const std::string& name, int64_t mint = 0,
                                int64_t maxt = std::numeric_limits<int64_t>::max()) {
  auto series = db->Select({{Matcher::Op::kEqual, "__name__", name}}, mint, maxt);
  EXPECT_TRUE(series.ok()) << series.status();
  if (!series.ok() || series->empty()) return {};
  EXPECT_EQ(series->size(), 1u);
  return Drain((*series)[0].samples.get());
}

inline bool BitsEqual(const std::vector<Sample>& a, const std::vector<Sample>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameSample(a[i], b[i])) return false;
  }
  return true;
}

class DbTest : public ::testing::Test {
 protected:
  virtual Options MakeOptions() { return TestOptions(&clock_); }
  // (Re)opens db_ on dir_ with `o`; the default is MakeOptions().
  void Open(const Options& o) {
    db_.reset();
    auto db = Db::Open(o, dir_.path());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  void Open() { Open(MakeOptions()); }
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

}  // namespace
}  // namespace ember

#endif  // EMBER_STORAGE_DB_TESTING_H_
