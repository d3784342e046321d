#include "query/executor.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ember::query {
namespace {

// The reaper wakes at least this often to notice cancel flags set while queries wait.
constexpr absl::Duration kReaperPoll = absl::Milliseconds(50);

void LowerThisThreadsPriority(int nice) {
  if (nice <= 0) return;
  // On Linux, PRIO_PROCESS with a thread id changes that thread alone.
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  if (errno != 0) return;
  // Best effort: a failure leaves the worker at the process's priority.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(tid), std::min(current + nice, 19));
}

}  // namespace

QueryExecutor::QueryExecutor(ExecutorOptions options) : options_(std::move(options)) {
  const int n = std::max(options_.max_concurrency, 1);
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  reaper_ = std::thread([this] { ReaperLoop(); });
}

QueryExecutor::~QueryExecutor() { Stop(); }

void QueryExecutor::Submit(Task task, std::shared_ptr<const std::atomic<bool>> cancel,
                           std::function<void()> done) {
  absl::Status rejection;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      rejection = absl::UnavailableError("query rejected: the server is shutting down");
    } else if (static_cast<int64_t>(queue_.size()) + running_ >=
               int64_t{std::max(options_.max_concurrency, 1)} + options_.max_queued) {
      // Every worker busy or spoken for, and max_queued already waiting.
      rejection = absl::UnavailableError(
          absl::StrCat("query rejected: ", running_,
                       " queries are running (query.max-concurrency=", options_.max_concurrency,
                       ") and ", queue_.size(), " waiting (query.max-queued); try again later"));
    } else {
      queue_.push_back(Queued{std::move(task), std::move(done), std::move(cancel),
                              absl::Now() + absl::Milliseconds(options_.max_queue_wait_ms)});
      return;
    }
  }
  Queued q{std::move(task), std::move(done), nullptr, absl::Time()};
  Reject(&q, rejection);
}

void QueryExecutor::Reject(Queued* q, const absl::Status& why) {
  rejected_.fetch_add(1);
  try {
    q->task(why).IgnoreError();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember query executor: rejected task threw: %s\n", e.what());
  }
  Finish(q->done);
}

void QueryExecutor::Finish(const std::function<void()>& done) {
  if (!done) return;
  try {
    done();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember query executor: completion threw: %s\n", e.what());
  }
}

void QueryExecutor::WorkerLoop() {
  LowerThisThreadsPriority(options_.worker_nice);
  for (;;) {
    Queued q;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &QueryExecutor::HasWorkOrStop));
      if (queue_.empty()) return;  // Stopping, and nothing left.
      q = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    const bool cancelled = q.cancel != nullptr && q.cancel->load();
    if (!cancelled) {
      absl::Status s;
      try {
        s = q.task(absl::OkStatus());
      } catch (const std::exception& e) {
        // Tasks return statuses; an exception (bad_alloc) must not end the worker.
        std::fprintf(stderr, "ember query executor: task threw: %s\n", e.what());
        s = absl::InternalError(e.what());
      }
      Count(s);
    }
    {
      absl::MutexLock lock(&mu_);
      --running_;
    }
    if (cancelled) {
      Reject(&q, absl::CancelledError("query was canceled while it waited for a worker"));
    } else {
      Finish(q.done);
    }
  }
}

void QueryExecutor::ReaperLoop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    std::vector<std::pair<Queued, absl::Status>> rejected;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->cancel != nullptr && it->cancel->load()) {
        rejected.emplace_back(std::move(*it),
                              absl::CancelledError("query was canceled while it waited for a "
                                                   "worker"));
        it = queue_.erase(it);
      } else if (now >= it->deadline) {
        rejected.emplace_back(
            std::move(*it),
            absl::UnavailableError(absl::StrCat(
                "query rejected: it waited ", options_.max_queue_wait_ms, " ms for one of ",
                options_.max_concurrency,
                " busy workers (query.max-concurrency, query.max-queue-wait); try again "
                "later")));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    if (!rejected.empty()) {
      mu_.Unlock();
      for (auto& [q, status] : rejected) Reject(&q, status);
      mu_.Lock();
      continue;
    }
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), kReaperPoll);
  }
}

void QueryExecutor::Count(const absl::Status& s) {
  if (absl::IsCancelled(s)) {
    cancelled_.fetch_add(1);
  } else if (absl::IsDeadlineExceeded(s)) {
    timed_out_.fetch_add(1);
  } else if (absl::IsResourceExhausted(s)) {
    over_limit_.fetch_add(1);
  } else {
    completed_.fetch_add(1);
  }
}

void QueryExecutor::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  std::deque<Queued> left;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    left.swap(queue_);
  }
  for (Queued& q : left) {
    Reject(&q, absl::UnavailableError("query rejected: the server is shutting down"));
  }
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  if (reaper_.joinable()) reaper_.join();
}

ExecutorStats QueryExecutor::stats() const {
  ExecutorStats s;
  {
    absl::MutexLock lock(&mu_);
    s.running = running_;
    s.queued = static_cast<int64_t>(queue_.size());
  }
  s.memory_bytes = memory_in_use_.load();
  s.completed = completed_.load();
  s.cancelled = cancelled_.load();
  s.timed_out = timed_out_.load();
  s.over_limit = over_limit_.load();
  s.rejected = rejected_.load();
  return s;
}

}  // namespace ember::query
