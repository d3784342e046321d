// crash_writer: the victim of tests/crash_test.cc. It opens an Ember database, then appends and
// commits deterministic batches until it is killed, printing one line per acknowledged batch:
//
//   crash_writer DIR SEED MODE BASE_MS FIRST_BATCH [CHECKPOINTS]
//
//   MODE         sync | group | nosync (SyncPolicy::kSyncEachCommit, kGroupCommit, kNoSync)
//   BASE_MS      the time origin of every series' timeline (see CrashBatch)
//   FIRST_BATCH  the number of the first batch to write; a resumed run restarts at the first
//                batch not acknowledged before, as a client retries what was not acknowledged
//   CHECKPOINTS  frequent (default: background checkpoints every few hundred ms, so kills land
//                in them) | none (no background work: the log only grows, so the next open
//                has a long replay to be killed in)
//
// stdout carries "ready\n" once Db::Open returns, then "ack <batch>\n" after each Commit()
// that returned OK with nothing rejected, written with write(2) before the next Append(): a
// batch whose line is complete in the pipe was acknowledged; a batch whose line is missing or
// cut short may or may not be stored. Errors go to stderr with a non-zero exit status; the
// parent expects the writer to die only by its SIGKILL.
//
// A batch is a pure function of (SEED, BASE_MS, batch number) (tests/crash_batches.h), so the
// parent regenerates what each acknowledged batch held.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "tests/crash_batches.h"

namespace {

using ::ember::crash::BatchSample;

// Writes all of `line` to stdout, unbuffered: once this returns, the parent can read it even if
// the process dies at the next instruction.
bool WriteLine(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "crash_writer: %s\n", message.c_str());
  return code;
}

int Run(int argc, char** argv) {
  if (argc < 6 || argc > 7) {
    return Fail(2, "usage: crash_writer DIR SEED MODE BASE_MS FIRST_BATCH [frequent|none]");
  }
  const std::string dir = argv[1];
  uint64_t seed = 0;
  int64_t base_ms = 0;
  int64_t first_batch = 0;
  const std::optional<ember::SyncPolicy> policy = ember::crash::ParseMode(argv[3]);
  if (!absl::SimpleAtoi(argv[2], &seed) || !policy || !absl::SimpleAtoi(argv[4], &base_ms) ||
      !absl::SimpleAtoi(argv[5], &first_batch) || first_batch < 0) {
    return Fail(2, absl::StrFormat("bad arguments: seed=%s mode=%s base_ms=%s first_batch=%s",
                                   argv[2], argv[3], argv[4], argv[5]));
  }
  ember::crash::Checkpoints checkpoints = ember::crash::Checkpoints::kFrequent;
  if (argc == 7) {
    const std::string_view c = argv[6];
    if (c == "none") {
      checkpoints = ember::crash::Checkpoints::kNone;
    } else if (c != "frequent") {
      return Fail(2, absl::StrFormat("bad CHECKPOINTS %s: frequent or none", c));
    }
  }

  absl::StatusOr<std::unique_ptr<ember::Db>> db =
      ember::Db::Open(ember::crash::CrashOptions(*policy, checkpoints), dir);
  if (!db.ok()) return Fail(3, absl::StrCat("open ", dir, ": ", db.status().ToString()));
  if (!WriteLine("ready\n")) return Fail(4, "stdout closed");

  std::vector<ember::Labels> labels;
  for (int i = 0; i < ember::crash::kNumSeries; ++i) {
    labels.push_back(ember::crash::SeriesLabels(i));
  }
  std::unique_ptr<ember::Appender> app = (*db)->NewAppender();
  for (int64_t batch = first_batch;; ++batch) {
    const std::vector<BatchSample> samples = ember::crash::CrashBatch(seed, base_ms, batch);
    for (const BatchSample& s : samples) {
      absl::Status st = app->Append(labels[s.series], s.t, s.v);
      if (!st.ok()) {
        return Fail(5, absl::StrFormat("batch %d: append series %d t=%d: %s", batch, s.series, s.t,
                                       st.ToString()));
      }
    }
    absl::StatusOr<ember::CommitResult> r = app->Commit();
    if (!r.ok())
      return Fail(6, absl::StrFormat("batch %d: commit: %s", batch, r.status().ToString()));
    // The batches are built so that everything is stored: a rejection is a bug of the writer
    // or of the engine, and the parent could not tell which samples are missing and why.
    if (!r->rejected.empty() || r->samples_stored != static_cast<int64_t>(samples.size())) {
      std::string why;
      for (const ember::RejectedSample& rej : r->rejected) {
        const BatchSample& s = samples[rej.index];
        absl::StrAppendFormat(&why, "\n  #%d series %d t=%d: %s", rej.index, s.series, s.t,
                              rej.status.ToString());
      }
      return Fail(7, absl::StrFormat("batch %d: %d of %d samples stored, %d rejected:%s", batch,
                                     r->samples_stored, samples.size(), r->rejected.size(), why));
    }
    if (!WriteLine(absl::StrFormat("ack %d\n", batch))) return Fail(4, "stdout closed");
  }
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
