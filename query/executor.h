// QueryExecutor: where queries run, apart from the threads that accept requests, ingest samples
// or scrape targets. At most `max_concurrency` queries run at once, on worker threads of lower
// scheduling priority (so a write or a health check is never queued behind a dashboard); the
// others wait in a bounded queue, each for at most `max_queue_wait_ms`. The HTTP API and rule
// evaluation share one executor, so its limits hold for all of them.
//
// Thread-safe. Tasks run on the workers; a rejected task's callback runs on the thread that
// submitted it (queue full, stopped) or on the executor's reaper thread (waited too long,
// cancelled while queued).
#ifndef EMBER_QUERY_EXECUTOR_H_
#define EMBER_QUERY_EXECUTOR_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace ember::query {

struct ExecutorOptions {
  // Queries evaluated at once (Prometheus: --query.max-concurrency, 20).
  int max_concurrency = 20;
  // Queries waiting for a worker while every worker is busy; one more is rejected at once.
  int max_queued = 1000;
  // A query that waited longer for a worker is rejected (Unavailable).
  int64_t max_queue_wait_ms = 30'000;
  // Workers run at this nice value above the process's (Linux, per thread): the HTTP and
  // ingest threads preempt them. 0 keeps the process's priority.
  int worker_nice = 10;
};

// Counters since the start, and gauges now.
struct ExecutorStats {
  int64_t running = 0;       // Gauge: queries on a worker now.
  int64_t queued = 0;        // Gauge: queries waiting for a worker now.
  int64_t memory_bytes = 0;  // Gauge: memory the running queries account for.
  int64_t completed = 0;     // Ran and succeeded, or failed for their own reasons.
  int64_t cancelled = 0;     // Ran and stopped because the client left (Cancelled).
  int64_t timed_out = 0;     // Ran and hit the timeout (DeadlineExceeded).
  int64_t over_limit = 0;    // Ran and hit max_samples or the memory budget.
  int64_t rejected = 0;      // Never ran: queue full, waited too long, stopped or cancelled.
};

class QueryExecutor {
 public:
  // Runs on a worker with `admission` OK and returns the query's own status (for the counters),
  // or runs once with a non-OK `admission` (Unavailable, or Cancelled when the query's cancel
  // flag was set while it waited) when the query will not run; its return is then ignored.
  using Task = std::function<absl::Status(const absl::Status& admission)>;

  explicit QueryExecutor(ExecutorOptions options);
  ~QueryExecutor();  // Stop().
  QueryExecutor(const QueryExecutor&) = delete;
  QueryExecutor& operator=(const QueryExecutor&) = delete;

  // Queues `task`. `cancel`, when set, is polled while the task waits: once true, the task is
  // rejected with Cancelled instead of run. `done`, when set, runs after the task (or its
  // rejection) once its worker is free again: the place to hand an answer over, so a client
  // that sends its next query on receiving it finds the worker free.
  void Submit(Task task, std::shared_ptr<const std::atomic<bool>> cancel = nullptr,
              std::function<void()> done = nullptr);

  // Runs `fn` on a worker and waits for it: for callers with a thread of their own (rule
  // groups). Unavailable when the query was rejected, Cancelled when `cancel` was set while it
  // waited, Internal when `fn` threw.
  template <typename T>
  absl::StatusOr<T> Run(const std::function<absl::StatusOr<T>()>& fn,
                        std::shared_ptr<const std::atomic<bool>> cancel = nullptr);

  // Rejects what is queued, lets running tasks finish and joins the threads. Idempotent; later
  // Submit()s are rejected.
  void Stop();

  ExecutorStats stats() const;
  const ExecutorOptions& options() const { return options_; }
  // Where queries add the memory they hold (EngineOptions::memory_in_use).
  std::atomic<int64_t>* memory_in_use() { return &memory_in_use_; }

 private:
  struct Queued {
    Task task;
    std::function<void()> done;
    std::shared_ptr<const std::atomic<bool>> cancel;
    absl::Time deadline;  // Rejected when still queued then.
  };

  void WorkerLoop();
  // Calls a task with a rejection and then its `done`; an exception is logged, not thrown.
  void Reject(Queued* q, const absl::Status& why);
  // Calls `done` if set; an exception is logged, not thrown (it would end a worker thread).
  static void Finish(const std::function<void()>& done);
  void ReaperLoop();
  void Count(const absl::Status& s);
  bool HasWorkOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  }

  const ExecutorOptions options_;
  absl::Mutex stop_mu_;  // Serializes Stop()s.
  mutable absl::Mutex mu_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> workers_;
  std::thread reaper_;
  std::atomic<int64_t> memory_in_use_{0};
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> cancelled_{0};
  std::atomic<int64_t> timed_out_{0};
  std::atomic<int64_t> over_limit_{0};
  std::atomic<int64_t> rejected_{0};
};

template <typename T>
absl::StatusOr<T> QueryExecutor::Run(const std::function<absl::StatusOr<T>()>& fn,
                                     std::shared_ptr<const std::atomic<bool>> cancel) {
  std::optional<absl::StatusOr<T>> result;
  absl::Notification done;
  Submit(
      [&](const absl::Status& admission) -> absl::Status {
        if (!admission.ok()) {
          result.emplace(admission);
        } else {
          try {
            result.emplace(fn());
          } catch (const std::exception& e) {
            result.emplace(absl::InternalError(e.what()));
          }
        }
        absl::Status s = result->status();
        done.Notify();  // Whatever happened: the caller must never wait forever.
        return s;
      },
      std::move(cancel));
  done.WaitForNotification();
  return *std::move(result);
}

}  // namespace ember::query

#endif  // EMBER_QUERY_EXECUTOR_H_
