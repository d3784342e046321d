#include "query/executor.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ember::query {
namespace {

using ::testing::HasSubstr;

// A task that blocks its worker until released, then reports how it was admitted.
class Gate {
 public:
  QueryExecutor::Task Task(absl::Status* admission) {
    return [this, admission](const absl::Status& a) -> absl::Status {
      {
        absl::MutexLock lock(&mu_);
        *admission = a;
        ++entered_;
        if (!a.ok()) return a;
        mu_.Await(absl::Condition(&open_));
      }
      return absl::OkStatus();
    };
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  // Waits (bounded) until `n` tasks ran their first line.
  bool WaitEntered(int n) {
    absl::MutexLock lock(&mu_);
    want_ = n;
    return mu_.AwaitWithTimeout(absl::Condition(this, &Gate::Reached), absl::Seconds(10));
  }

 private:
  bool Reached() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return entered_ >= want_; }

  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
  int want_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(QueryExecutorTest, RunsAtMostMaxConcurrencyAtOnce) {
  ExecutorOptions o;
  o.max_concurrency = 2;
  QueryExecutor executor(o);
  Gate gate;
  absl::Status a[3];
  for (absl::Status& s : a) executor.Submit(gate.Task(&s));
  ASSERT_TRUE(gate.WaitEntered(2));
  ExecutorStats st = executor.stats();
  EXPECT_EQ(st.running, 2);
  EXPECT_EQ(st.queued, 1);
  gate.Open();
  ASSERT_TRUE(gate.WaitEntered(3));
  executor.Stop();
  for (const absl::Status& s : a) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(executor.stats().completed, 3);
}

TEST(QueryExecutorTest, FullQueueRejectsAtOnceWithUnavailable) {
  ExecutorOptions o;
  o.max_concurrency = 1;
  o.max_queued = 1;
  QueryExecutor executor(o);
  Gate gate;
  absl::Status running, waiting, refused;
  executor.Submit(gate.Task(&running));
  ASSERT_TRUE(gate.WaitEntered(1));
  executor.Submit(gate.Task(&waiting));
  executor.Submit(gate.Task(&refused));  // Rejected on this thread, before Submit returns.
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.message(), HasSubstr("query.max-queued"));
  gate.Open();
  // Entered so far: running and refused; the queued one runs once the worker frees up.
  ASSERT_TRUE(gate.WaitEntered(3));
  executor.Stop();
  EXPECT_TRUE(waiting.ok());
  EXPECT_EQ(executor.stats().rejected, 1);
}

TEST(QueryExecutorTest, WaitingPastTheLimitIsRejected) {
  ExecutorOptions o;
  o.max_concurrency = 1;
  o.max_queue_wait_ms = 50;
  QueryExecutor executor(o);
  Gate gate;
  absl::Status running, waiting;
  executor.Submit(gate.Task(&running));
  ASSERT_TRUE(gate.WaitEntered(1));
  executor.Submit(gate.Task(&waiting));
  ASSERT_TRUE(gate.WaitEntered(2));  // The reaper hands it its rejection.
  EXPECT_EQ(waiting.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(waiting.message(), HasSubstr("waited 50 ms"));
  gate.Open();
  executor.Stop();
}

TEST(QueryExecutorTest, CancelledWhileQueuedNeverRuns) {
  ExecutorOptions o;
  o.max_concurrency = 1;
  QueryExecutor executor(o);
  Gate gate;
  absl::Status running, waiting;
  executor.Submit(gate.Task(&running));
  ASSERT_TRUE(gate.WaitEntered(1));
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  executor.Submit(gate.Task(&waiting), cancel);
  cancel->store(true);
  ASSERT_TRUE(gate.WaitEntered(2));
  EXPECT_EQ(waiting.code(), absl::StatusCode::kCancelled);
  gate.Open();
  executor.Stop();
}

TEST(QueryExecutorTest, RunReturnsTheResultFromAWorker) {
  QueryExecutor executor(ExecutorOptions{});
  const std::thread::id caller = std::this_thread::get_id();
  absl::StatusOr<bool> other_thread = executor.Run<bool>(
      [caller]() -> absl::StatusOr<bool> { return std::this_thread::get_id() != caller; });
  ASSERT_TRUE(other_thread.ok());
  EXPECT_TRUE(*other_thread);
  absl::StatusOr<int> failed = executor.Run<int>(
      []() -> absl::StatusOr<int> { return absl::DeadlineExceededError("too slow"); });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kDeadlineExceeded);
  // Counted once the task returns, just after Run() was woken.
  for (int i = 0; i < 1000 && executor.stats().timed_out == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(executor.stats().timed_out, 1);
}

TEST(QueryExecutorTest, StopRejectsWhatWaitsAndLaterSubmits) {
  ExecutorOptions o;
  o.max_concurrency = 1;
  QueryExecutor executor(o);
  Gate gate;
  absl::Status running, waiting, late;
  executor.Submit(gate.Task(&running));
  ASSERT_TRUE(gate.WaitEntered(1));
  executor.Submit(gate.Task(&waiting));
  std::thread stopper([&] { executor.Stop(); });
  ASSERT_TRUE(gate.WaitEntered(2));  // Rejected by Stop().
  EXPECT_EQ(waiting.code(), absl::StatusCode::kUnavailable);
  gate.Open();
  stopper.join();
  EXPECT_TRUE(running.ok());
  executor.Submit(gate.Task(&late));
  EXPECT_EQ(late.code(), absl::StatusCode::kUnavailable);
}

TEST(QueryExecutorTest, WithoutAQueueAnIdleWorkerStillTakesAQuery) {
  ExecutorOptions o;
  o.max_concurrency = 1;
  o.max_queued = 0;
  QueryExecutor executor(o);
  absl::StatusOr<int> r = executor.Run<int>([]() -> absl::StatusOr<int> { return 7; });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 7);
}

TEST(QueryExecutorTest, RunReportsAThrowingFunctionAsInternalAndKeepsServing) {
  QueryExecutor executor(ExecutorOptions{});
  absl::StatusOr<int> r =
      executor.Run<int>([]() -> absl::StatusOr<int> { throw std::bad_alloc(); });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  absl::StatusOr<int> next = executor.Run<int>([]() -> absl::StatusOr<int> { return 1; });
  ASSERT_TRUE(next.ok());
}

TEST(QueryExecutorTest, ThrowingCompletionDoesNotEndTheWorker) {
  ExecutorOptions o;
  o.max_concurrency = 1;
  QueryExecutor executor(o);
  executor.Submit([](const absl::Status&) { return absl::OkStatus(); }, nullptr,
                  [] { throw std::runtime_error("reply failed"); });
  // The only worker still runs the next query.
  absl::StatusOr<int> next = executor.Run<int>([]() -> absl::StatusOr<int> { return 2; });
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 2);
}

}  // namespace
}  // namespace ember::query
