// The real `ember serve` binary as a child process on 127.0.0.1, for tests that talk to it over
// HTTP (promtool, Prometheus side by side), and the remote write request they send it.
// Header-only (inline). Not thread-safe: one thread starts and stops an EmberProcess; any
// thread may use its port().
#ifndef EMBER_TESTS_TESTUTIL_EMBER_PROCESS_H_
#define EMBER_TESTS_TESTUTIL_EMBER_PROCESS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ingest/batch.h"
#include "ingest/remote_write.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/http_client.h"

namespace ember::testutil {

class EmberProcess {
 public:
  // `binary`: the path of the `ember` executable.
  explicit EmberProcess(std::string binary) : binary_(std::move(binary)) {}

  // Starts `ember serve` over `data_dir` on a free port (without self-scraping, so the data is
  // only what the test writes) and waits up to `ready_timeout_ms` for /-/ready to answer 200.
  // Retries with another port when the child dies first (the port was taken meanwhile). The
  // child's output is appended to `log_path`.
  absl::Status Start(const std::string& data_dir, const std::string& log_path,
                     int64_t ready_timeout_ms = 60'000,
                     const std::vector<std::string>& extra_args = {}) {
    absl::Status last = absl::UnknownError("not started");
    for (int attempt = 0; attempt < 3; ++attempt) {
      absl::StatusOr<int> port = PickFreePort();
      if (!port.ok()) return port.status();
      port_ = *port;
      const std::vector<std::string> argv = {
          binary_, "serve", absl::StrCat("--listen_address=127.0.0.1:", port_),
          absl::StrCat("--data_dir=", data_dir), "--self_scrape_interval=0s"};
      std::vector<std::string> all = argv;
      all.insert(all.end(), extra_args.begin(), extra_args.end());
      if (absl::Status s = process_.Start(all, log_path); !s.ok()) return s;
      HttpClient client(port_, 2'000);
      bool ready = false;
      WaitFor(
          [&] {
            if (!process_.running()) return true;
            absl::StatusOr<HttpResult> r = client.Get("/-/ready");
            ready = r.ok() && r->status == 200;
            return ready;
          },
          ready_timeout_ms, 50);
      if (ready) return absl::OkStatus();
      if (process_.running()) {
        process_.Kill();
        return absl::DeadlineExceededError(absl::StrCat("ember serve on port ", port_,
                                                        " not ready after ", ready_timeout_ms,
                                                        " ms; its log:\n", FileTail(log_path)));
      }
      last = absl::UnavailableError(absl::StrCat(
          "ember serve on port ", port_, " ended before it was ready (",
          DescribeWaitStatus(process_.exit_status()), "); its log:\n", FileTail(log_path)));
    }
    return last;
  }

  int port() const { return port_; }
  ChildProcess& process() { return process_; }

 private:
  std::string binary_;
  int port_ = 0;
  ChildProcess process_;
};

// POSTs `batch` to /api/v1/write as remote write 1.0 (snappy + protobuf, with the headers
// Prometheus sends). The HTTP status, or the transport error.
inline absl::StatusOr<HttpResult> PostRemoteWriteV1(HttpClient* client,
                                                    const ingest::DecodedBatch& batch) {
  return client->Request("POST", "/api/v1/write", ingest::EncodeRemoteWriteV1(batch),
                         {{"Content-Encoding", "snappy"},
                          {"Content-Type", "application/x-protobuf"},
                          {"X-Prometheus-Remote-Write-Version", "0.1.0"}});
}

}  // namespace ember::testutil

#endif  // EMBER_TESTS_TESTUTIL_EMBER_PROCESS_H_
