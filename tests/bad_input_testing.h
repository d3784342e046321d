// Shared by the bad_input_*_test.cc files (one of them per test binary): the hand-made bodies
// they share, the cases and how an answer is checked, and the BadInputTest fixture that starts
// `ember serve` and writes the good data. Each binary includes this header exactly once.
//
// Hostile and malformed input against the real `ember serve` binary, door by door: the query API
// (parameters and PromQL text), remote write 1.0 and 2.0, the text import, the Influx line
// protocol, raw HTTP framing on a TCP socket, and a few odd paths. The server is started once on
// a free 127.0.0.1 port with a 16 MiB body limit and a fixed set of good data is written first;
// each TEST is one door, table-driven, and after each the server must still answer /-/healthy
// and read the good data back exactly.
//
// What every answer must be: a 4xx (the specific code where the spec is clear; where it allows a
// choice, the case accepts the set and says so), never a 5xx other than a query's 503 timeout,
// never a hang (every request has a 10 s client timeout, every loop is bounded), and where the
// input has a name (a parameter, a line, a label) the message names it.
//
// Many cases describe behaviour being implemented now; they fail against older binaries by
// design. Do not weaken a case to make it pass.
#ifndef EMBER_TESTS_BAD_INPUT_TESTING_H_
#define EMBER_TESTS_BAD_INPUT_TESTING_H_

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ember/labels.h"
#include "ember/sample.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/batch.h"
#include "ingest/remote_write.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/ember_process.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/json_value.h"
#include "tests/testutil/raw_http.h"
#include "tests/testutil/temp_dir.h"

namespace ember {
namespace {

using ::testing::HasSubstr;
using testutil::EmberProcess;
using testutil::HttpClient;
using testutil::HttpResult;
using testutil::RawConnection;
using testutil::RawResponse;
using testutil::TempDir;
using testutil::UrlEncode;
using Headers = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

constexpr char kEmberPath[] = EMBER_BINARY_DIR "/ember";
constexpr int64_t kClientTimeoutMs = 10'000;
constexpr size_t kBodyLimit = 16 << 20;  // The --max_request_body_bytes the server gets.
constexpr size_t kMiB = 1 << 20;

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t MsSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// Unix seconds with milliseconds, as the API takes them.
std::string Seconds(int64_t t_ms) { return absl::StrFormat("%d.%03d", t_ms / 1000, t_ms % 1000); }

std::string Excerpt(std::string_view s, size_t max = 300) {
  std::string out(s.substr(0, max));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') c = '?';
  }
  return s.size() > max ? absl::StrCat(out, "...(", s.size(), " bytes)") : out;
}

ingest::DecodedSeries Series(Labels labels, std::vector<Sample> samples) {
  ingest::DecodedSeries s;
  s.labels = std::move(labels);
  s.samples = std::move(samples);
  return s;
}

std::string RemoteWriteV1(std::vector<ingest::DecodedSeries> series) {
  ingest::DecodedBatch batch;
  batch.kind = ingest::PositionKind::kTimeseries;
  batch.series = std::move(series);
  return ingest::EncodeRemoteWriteV1(batch);
}

const Headers& V1Headers() {
  static const Headers h = {{"Content-Encoding", "snappy"},
                            {"Content-Type", "application/x-protobuf"},
                            {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  return h;
}

// ---- Cases. ------------------------------------------------------------------------------------

struct Case {
  std::string name;
  std::string method = "GET";
  std::string target;
  std::string body;
  Headers headers;
  std::vector<int> want_status;  // Any of these.
  // A substring of the answer: of the "error" field when `api_error`, else of the raw body.
  std::string want_text;
  // The answer is a Prometheus API error: {"status":"error","errorType":<for the status>,...}.
  bool api_error = false;
};

// The errorType the Prometheus API pairs with a status.
std::string ErrorTypeFor(int status) {
  switch (status) {
    case 400:
      return "bad_data";
    case 404:
      return "not_found";
    case 422:
      return "execution";
    case 503:
      return "timeout";
    default:
      return "?";
  }
}

// Requests the current TEST has checked, reported when it ends.
int g_cases = 0;

std::string Describe(const HttpResult& r) { return absl::StrCat(r.status, " ", Excerpt(r.body)); }

bool Allowed(const std::vector<int>& want, int status) {
  return std::find(want.begin(), want.end(), status) != want.end();
}

// Checks one answer against its case. `elapsed_ms` is how long it took.
void CheckAnswer(const Case& c, const absl::StatusOr<HttpResult>& r, int64_t elapsed_ms) {
  ++g_cases;
  if (!r.ok()) {
    ADD_FAILURE() << "OBSERVED no answer after " << elapsed_ms << " ms: " << r.status();
    return;
  }
  const std::string got = Describe(*r);
  EXPECT_TRUE(Allowed(c.want_status, r->status))
      << "OBSERVED " << got << " (want one of " << absl::StrJoin(c.want_status, ",") << ")";
  if (r->status >= 500 && !Allowed(c.want_status, r->status)) {
    ADD_FAILURE() << "a 5xx for bad input: " << r->status;
  }
  EXPECT_LT(elapsed_ms, kClientTimeoutMs);
  if (!Allowed(c.want_status, r->status)) return;  // The text belongs to the wanted answer.
  if (c.api_error) {
    absl::StatusOr<testutil::JsonValue> j = testutil::ParseJson(r->body);
    ASSERT_TRUE(j.ok()) << "OBSERVED not JSON: " << got;
    EXPECT_EQ((*j)["status"].text, "error") << "OBSERVED " << got;
    if (r->status != 503) {
      EXPECT_EQ((*j)["errorType"].text, ErrorTypeFor(r->status)) << "OBSERVED " << got;
    }
    EXPECT_THAT((*j)["error"].text, HasSubstr(c.want_text)) << "OBSERVED " << got;
  } else if (!c.want_text.empty()) {
    EXPECT_THAT(r->body, HasSubstr(c.want_text)) << "OBSERVED " << got;
  }
}

inline std::string InvalidParam(const std::string& name) {
  return absl::StrCat("invalid parameter \"", name, "\"");
}

// ---- The server and the good data. -------------------------------------------------------------

// What the good data reads back as: labels text ({__name__="bi_good", door="rw", ...}) -> value.
using Readback = std::map<std::string, double>;

struct SuiteState {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<EmberProcess> ember;
  std::string setup_error;
  int64_t base_ms = 0;              // The good data's last timestamp; it is queried at this time.
  Readback good;                    // What the good data must read back as at base_ms.
  std::string header_timeout;       // "--<flag>=<value>" when the binary has a header timeout.
  std::vector<std::string> deaths;  // "group: how the server ended", one per restart.
};

std::string LabelsKey(const testutil::JsonValue& metric) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : metric.members) parts.push_back(absl::StrCat(k, "=\"", v.text, "\""));
  std::sort(parts.begin(), parts.end());
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    state_ = new SuiteState;
    if (!testutil::IsExecutable(kEmberPath)) {
      state_->setup_error = absl::StrCat(kEmberPath, " is missing: build the ember_bin target");
      return;
    }
    state_->header_timeout = HeaderTimeoutFlag();
    state_->dir = std::make_unique<TempDir>();
    if (absl::Status s = StartServer(); !s.ok()) {
      state_->setup_error = std::string(s.message());
      return;
    }
    state_->base_ms = (WallNowMs() / 1000 - 120) * 1000;
    if (absl::Status s = WriteGoodData(); !s.ok()) state_->setup_error = std::string(s.message());
  }

  static void TearDownTestSuite() {
    if (state_->ember != nullptr) state_->ember->process().Stop(10'000);
    delete state_;
    state_ = nullptr;
  }

  void SetUp() override {
    if (!state_->setup_error.empty()) GTEST_SKIP() << state_->setup_error;
    // A group that crashed the server must not take the later groups down with it: restart on
    // the same data directory (acknowledged data must survive that too).
    if (!state_->ember->process().running()) {
      const std::string how = testutil::DescribeWaitStatus(state_->ember->process().exit_status());
      state_->deaths.push_back(absl::StrCat(
          "before ", ::testing::UnitTest::GetInstance()->current_test_info()->name(), ": ", how));
      ASSERT_TRUE(StartServer().ok()) << "could not restart ember serve";
    }
  }

  // Between groups: the server is alive and the good data reads back exactly.
  void TearDown() override {
    RecordProperty("cases", g_cases);
    std::printf("[ cases    ] %d hostile requests checked\n", g_cases);
    g_cases = 0;
    if (!state_->setup_error.empty() || IsSkipped()) return;
    CheckAliveAndGoodData();
  }

  static int port() { return state_->ember->port(); }
  static int64_t base_ms() { return state_->base_ms; }

  // Sends `c` on a fresh connection and checks the answer. The answer, for more checks.
  static absl::StatusOr<HttpResult> Check(const Case& c) {
    HttpClient client(port(), kClientTimeoutMs);
    const auto t0 = Clock::now();
    absl::StatusOr<HttpResult> r = client.Request(c.method, c.target, c.body, c.headers);
    CheckAnswer(c, r, MsSince(t0));
    return r;
  }
  // Check() for a case whose answer needs no further look.
  static void Run(const Case& c) { Check(c).IgnoreError(); }

  static void RunAll(const std::vector<Case>& cases, int64_t budget_ms = 30'000) {
    const auto t0 = Clock::now();
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name);
      Run(c);
      if (MsSince(t0) > budget_ms) {
        ADD_FAILURE() << "group over its " << budget_ms << " ms budget; stopped before the rest";
        return;
      }
    }
  }

  // An instant query at base_ms (or `time_ms`); the result array, or an error naming the answer.
  static absl::StatusOr<testutil::JsonValue> InstantResult(const std::string& q,
                                                           int64_t time_ms = 0) {
    HttpClient client(port(), kClientTimeoutMs);
    absl::StatusOr<HttpResult> r = client.PostForm(
        "/api/v1/query",
        absl::StrCat("query=", UrlEncode(q), "&time=", Seconds(time_ms ? time_ms : base_ms())));
    if (!r.ok()) return r.status();
    if (r->status != 200) return absl::InternalError(absl::StrCat(q, ": ", Describe(*r)));
    absl::StatusOr<testutil::JsonValue> j = testutil::ParseJson(r->body);
    if (!j.ok()) return j.status();
    return (*j)["data"]["result"];
  }

  static absl::StatusOr<Readback> ReadGoodData() {
    absl::StatusOr<testutil::JsonValue> result = InstantResult("{__name__=~\"bi_good|bi_import\"}");
    if (!result.ok()) return result.status();
    Readback got;
    for (const testutil::JsonValue& s : result->items) {
      got[LabelsKey(s["metric"])] = std::strtod(s["value"].items.at(1).text.c_str(), nullptr);
    }
    return got;
  }

  static void CheckAliveAndGoodData() {
    ASSERT_TRUE(state_->ember->process().running())
        << "ember serve ended: "
        << testutil::DescribeWaitStatus(state_->ember->process().exit_status()) << "\nlog:\n"
        << testutil::FileTail(state_->ember->process().log_path());
    HttpClient client(port(), kClientTimeoutMs);
    absl::StatusOr<HttpResult> h = client.Get("/-/healthy");
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_EQ(h->status, 200) << Describe(*h);
    absl::StatusOr<Readback> got = ReadGoodData();
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, state_->good) << "the good data written first no longer reads back";
  }

  // Series whose label `evil` (what each group tags its refused writes with) starts with
  // `group` ("" for every group), that exist now.
  static std::vector<std::string> EvilSeries(const std::string& group = "") {
    HttpClient client(port(), kClientTimeoutMs);
    absl::StatusOr<HttpResult> r = client.Get(absl::StrCat(
        "/api/v1/series?match[]=", UrlEncode(absl::StrCat("{evil=~\"", group, ".+\"}")),
        "&start=0&end=", Seconds(base_ms() + 400LL * 86'400'000)));
    if (!r.ok() || r->status != 200)
      return {absl::StrCat("series query failed: ", r.ok() ? Describe(*r) : r.status().ToString())};
    absl::StatusOr<testutil::JsonValue> j = testutil::ParseJson(r->body);
    if (!j.ok()) return {"series answer is not JSON"};
    std::vector<std::string> out;
    for (const testutil::JsonValue& s : (*j)["data"].items)
      out.push_back(Excerpt(LabelsKey(s), 120));
    return out;
  }

  static SuiteState* state_;

 private:
  // "--<name>=2s" for a flag of `ember` that bounds how long a request head may take to arrive,
  // or "" when the binary has none (read from --helpfull, so the test follows its name).
  static std::string HeaderTimeoutFlag() {
    absl::StatusOr<testutil::CommandResult> r = testutil::RunCommand({kEmberPath, "--helpfull"});
    if (!r.ok()) return "";
    // One entry per flag: "-name (help) type: T default: D", possibly wrapped over lines.
    const std::string help = r->out + r->err;
    for (absl::string_view entry : absl::StrSplit(help, "\n    -")) {
      const std::string name(entry.substr(0, entry.find(' ')));
      if (!absl::StrContains(name, "header") || !absl::StrContains(name, "timeout")) continue;
      if (absl::StrContains(entry, "type: string")) return absl::StrCat("--", name, "=2s");
      return absl::StrCat("--", name, absl::EndsWith(name, "_ms") ? "=2000" : "=2");
    }
    return "";
  }

  static absl::Status StartServer() {
    state_->ember = std::make_unique<EmberProcess>(kEmberPath);
    std::vector<std::string> args = {absl::StrCat("--max_request_body_bytes=", kBodyLimit),
                                     "--query_timeout=8s"};  // A backstop; cases ask for 2s.
    if (!state_->header_timeout.empty()) args.push_back(state_->header_timeout);
    return state_->ember->Start(state_->dir->Sub("data"), state_->dir->Sub("ember.log"), 60'000,
                                args);
  }

  static absl::Status WriteGoodData() {
    const int64_t t = state_->base_ms;
    const double values[] = {1.5, -2.25, 1e300, 0.1, 123456789.125};
    std::vector<ingest::DecodedSeries> series;
    for (int i = 0; i < 5; ++i) {
      Labels labels = {{"__name__", "bi_good"}, {"door", "rw"}, {"i", absl::StrCat(i)}};
      series.push_back(Series(labels, {{t - 60'000, -1}, {t - 30'000, 7}, {t, values[i]}}));
      state_->good[absl::StrFormat("{__name__=\"bi_good\", door=\"rw\", i=\"%d\"}", i)] = values[i];
    }
    HttpClient client(port(), kClientTimeoutMs);
    absl::StatusOr<HttpResult> r =
        client.Request("POST", "/api/v1/write", RemoteWriteV1(series), V1Headers());
    if (!r.ok()) return r.status();
    if (r->status != 204) return absl::InternalError("good remote write: " + Describe(*r));
    r = client.Request("POST", "/api/v1/import/prometheus",
                       absl::StrFormat("# TYPE bi_import gauge\n"
                                       "bi_import{door=\"text\",k=\"a\"} 3.25 %d\n"
                                       "bi_import{door=\"text\",k=\"b\"} -0.5 %d\n",
                                       t, t));
    if (!r.ok()) return r.status();
    if (r->status != 204) return absl::InternalError("good text import: " + Describe(*r));
    state_->good["{__name__=\"bi_import\", door=\"text\", k=\"a\"}"] = 3.25;
    state_->good["{__name__=\"bi_import\", door=\"text\", k=\"b\"}"] = -0.5;
    absl::StatusOr<Readback> got = ReadGoodData();
    if (!got.ok()) return got.status();
    if (*got != state_->good) return absl::InternalError("good data does not read back at first");
    return absl::OkStatus();
  }
};

SuiteState* BadInputTest::state_ = nullptr;

}  // namespace
}  // namespace ember

#endif  // EMBER_TESTS_BAD_INPUT_TESTING_H_
