#include "server/api/api.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <optional>
#include <new>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "util/status_macros.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include "ingest/influx.h"
#include "ingest/remote_write.h"
#include "ingest/text_format.h"
#include "ingest/write_path.h"
#include "query/parser/parser.h"
#include "server/http/http_codec.h"
#include "server/http/json.h"
#include "server/api/params.h"
#include "server/api/query_json.h"
#include "server/version.h"

namespace ember::server {
namespace {

// Debian's Abseil keeps its own string_view type: bridge the two.
std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }


int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Prometheus's error types and their HTTP status codes.
enum class ErrorType { kBadData, kExecution, kTimeout, kCanceled, kInternal, kNotFound,
                       kUnavailable };

const char* ErrorTypeName(ErrorType t) {
  switch (t) {
    case ErrorType::kBadData: return "bad_data";
    case ErrorType::kExecution: return "execution";
    case ErrorType::kTimeout: return "timeout";
    case ErrorType::kCanceled: return "canceled";
    case ErrorType::kInternal: return "internal";
    case ErrorType::kNotFound: return "not_found";
    case ErrorType::kUnavailable: return "unavailable";
  }
  return "internal";
}

int ErrorStatus(ErrorType t) {
  switch (t) {
    case ErrorType::kBadData: return 400;
    case ErrorType::kExecution: return 422;
    case ErrorType::kTimeout: return 503;
    case ErrorType::kCanceled: return 503;
    case ErrorType::kInternal: return 500;
    case ErrorType::kNotFound: return 404;
    case ErrorType::kUnavailable: return 503;
  }
  return 500;
}

HttpResponse ApiError(ErrorType type, absl::string_view message) {
  HttpResponse r;
  r.status = ErrorStatus(type);
  r.body = PromErrorBody(ErrorTypeName(type), Std(message));
  return r;
}

HttpResponse BadParam(absl::string_view name, const absl::Status& s) {
  return ApiError(ErrorType::kBadData,
                  absl::StrCat("invalid parameter \"", name, "\": ", s.message()));
}

// {"status":"success","data":<data>[,"warnings":[...]][,"infos":[...]]}.
HttpResponse Success(absl::string_view data_json, const std::vector<std::string>& warnings = {},
                     const std::vector<std::string>& infos = {}) {
  std::string body = absl::StrCat("{\"status\":\"success\",\"data\":", data_json);
  auto add = [&body](absl::string_view key, const std::vector<std::string>& list) {
    if (list.empty()) return;
    JsonWriter w;
    w.BeginArray();
    for (const std::string& s : list) w.String(s);
    w.EndArray();
    absl::StrAppend(&body, ",\"", key, "\":", w.str());
  };
  add("warnings", warnings);
  add("infos", infos);
  body.push_back('}');
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

HttpResponse PlainText(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

// Maps an engine error to Prometheus's error type: what is wrong with the query text or the
// range is bad_data, as Prometheus's API checks those before evaluating.
HttpResponse QueryError(const absl::Status& s) {
  if (absl::IsInvalidArgument(s) &&
      (absl::StrContains(s.message(), "parse error") ||
       absl::StrContains(s.message(), "invalid expression type"))) {
    return ApiError(ErrorType::kBadData,
                    absl::StrCat("invalid parameter \"query\": ", s.message()));
  }
  if (absl::IsDeadlineExceeded(s)) return ApiError(ErrorType::kTimeout, s.message());
  if (absl::IsCancelled(s)) return ApiError(ErrorType::kCanceled, s.message());
  if (absl::IsInvalidArgument(s) || absl::IsResourceExhausted(s) || absl::IsOutOfRange(s)) {
    return ApiError(ErrorType::kExecution, s.message());
  }
  return ApiError(ErrorType::kInternal, s.message());
}

bool IsReadMethod(const HttpRequest& r) { return r.method == "GET" || r.method == "POST"; }

HttpResponse MethodNotAllowed() {
  return PlainText(405, "405 method not allowed\n");
}

// A time parameter, `fallback` when absent or empty.
absl::StatusOr<int64_t> TimeOr(const Params& p, std::string_view name, int64_t fallback) {
  std::optional<std::string> v = p.Get(name);
  if (!v.has_value() || v->empty()) return fallback;
  return ParseTimeParam(*v);
}

// A query's evaluation time: a time parameter within the engine's range (query/ast.h).
absl::StatusOr<int64_t> EvalTime(absl::StatusOr<int64_t> t) {
  if (t.ok() && (*t < -query::kMaxEvalTimeMs || *t > query::kMaxEvalTimeMs)) {
    return absl::InvalidArgumentError(absl::StrCat(
        *t, " ms is out of range: queries are evaluated within +-", query::kMaxEvalTimeMs,
        " ms of the epoch (about 146 million years)"));
  }
  return t;
}

// The paths whose handlers read the database at length: they run on the query executor.
bool RunsOnExecutor(const std::string& path) {
  return path == "/api/v1/query" || path == "/api/v1/query_range" ||
         path == "/api/v1/series" || path == "/api/v1/labels" ||
         path == "/api/v1/status/tsdb" ||
         (absl::StartsWith(path, "/api/v1/label/") && absl::EndsWith(path, "/values"));
}

// Points and label bytes of a result, for the memory its JSON will take.
int64_t ResultJsonBytesEstimate(const query::Value& v) {
  // `[1435781451.781,"0.123456789"]`: about 32 bytes a point; labels as `"name":"value",`.
  constexpr int64_t kPointBytes = 32;
  int64_t bytes = 64;
  auto labels = [](const Labels& ls) {
    int64_t n = 16;
    for (const Label& l : ls) n += static_cast<int64_t>(l.name.size() + l.value.size() + 6);
    return n;
  };
  for (const query::VectorSample& s : v.vector) bytes += labels(s.labels) + kPointBytes;
  for (const query::MatrixSeries& s : v.matrix) {
    bytes += labels(s.labels) + kPointBytes * static_cast<int64_t>(s.points.size());
  }
  return bytes + static_cast<int64_t>(v.str.size());
}

// Matcher sets of every `match[]`: each must be a series selector.
absl::StatusOr<std::vector<std::vector<Matcher>>> MatcherSets(const Params& p) {
  std::vector<std::vector<Matcher>> sets;
  for (const std::string& m : p.GetAll("match[]")) {
    absl::StatusOr<query::ExprPtr> e = query::ParseExpr(m);
    if (!e.ok()) return e.status();
    if ((*e)->kind != query::ExprKind::kVectorSelector) {
      return absl::InvalidArgumentError(
          absl::StrCat("1:1: parse error: expected a series selector, got \"", m, "\""));
    }
    const auto& vs = static_cast<const query::VectorSelector&>(**e);
    bool non_empty = false;
    for (const Matcher& mt : vs.matchers) {
      // Does the matcher reject the empty string?
      if ((mt.op == Matcher::Op::kEqual && !mt.value.empty()) ||
          (mt.op == Matcher::Op::kNotEqual && mt.value.empty()) ||
          mt.op == Matcher::Op::kRegexMatch || mt.op == Matcher::Op::kRegexNoMatch) {
        non_empty = true;
      }
    }
    if (!non_empty) {
      return absl::InvalidArgumentError(
          "match[] must contain at least one non-empty matcher");
    }
    sets.push_back(vs.matchers);
  }
  return sets;
}

// The `limit` parameter: 0 (none) when absent.
absl::StatusOr<int64_t> Limit(const Params& p) {
  std::optional<std::string> v = p.Get("limit");
  if (!v.has_value() || v->empty()) return 0;
  int64_t n = 0;
  if (!absl::SimpleAtoi(*v, &n) || n < 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot parse \"", *v, "\" to a valid limit"));
  }
  return n;
}

constexpr const char* kTruncatedWarning = "results truncated due to limit";

HttpResponse StringList(std::vector<std::string> values, int64_t limit) {
  std::vector<std::string> warnings;
  if (limit > 0 && static_cast<int64_t>(values.size()) > limit) {
    values.resize(static_cast<size_t>(limit));
    warnings.emplace_back(kTruncatedWarning);
  }
  JsonWriter w;
  w.BeginArray();
  for (const std::string& v : values) w.String(v);
  w.EndArray();
  return Success(w.str(), warnings);
}

// The parameters /api/v1/series, /labels and /label/<name>/values share. On an error,
// `error` holds the answer to give.
struct Selection {
  int64_t start = 0;
  int64_t end = 0;
  int64_t limit = 0;
  std::vector<std::vector<Matcher>> sets;  // One per match[]; at least one (empty) for labels.
  std::optional<HttpResponse> error;
};

Selection ParseSelection(const Params& params) {
  Selection sel;
  absl::StatusOr<int64_t> start = TimeOr(params, "start", kMinTimeMs);
  absl::StatusOr<int64_t> end = TimeOr(params, "end", kMaxTimeMs);
  absl::StatusOr<int64_t> limit = Limit(params);
  absl::StatusOr<std::vector<std::vector<Matcher>>> sets = MatcherSets(params);
  if (!start.ok()) {
    sel.error = BadParam("start", start.status());
  } else if (!end.ok()) {
    sel.error = BadParam("end", end.status());
  } else if (!limit.ok()) {
    sel.error = BadParam("limit", limit.status());
  } else if (!sets.ok()) {
    sel.error = BadParam("match[]", sets.status());
  }
  if (sel.error.has_value()) return sel;
  sel.start = *start;
  sel.end = *end;
  sel.limit = *limit;
  sel.sets = std::move(*sets);
  if (sel.sets.empty()) sel.sets.emplace_back();
  return sel;
}

// The sorted union of `list(matchers)` over every matcher set, as a JSON string list.
HttpResponse UnionOfStrings(
    const Selection& sel,
    const std::function<absl::StatusOr<std::vector<std::string>>(const std::vector<Matcher>&)>&
        list) {
  std::set<std::string> all;
  for (const std::vector<Matcher>& set : sel.sets) {
    absl::StatusOr<std::vector<std::string>> r = list(set);
    if (!r.ok()) return ApiError(ErrorType::kExecution, r.status().message());
    all.insert(r->begin(), r->end());
  }
  return StringList(std::vector<std::string>(all.begin(), all.end()), sel.limit);
}

// Prometheus 3.x escapes a UTF-8 label name in a URL path as `U__` + name with `_` doubled
// and other characters as `_<hex>_`.
std::string UnescapeLabelNameInPath(absl::string_view s) {
  if (!absl::StartsWith(s, "U__")) return std::string(s);
  s.remove_prefix(3);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '_') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '_') {
      out.push_back('_');
      ++i;
      continue;
    }
    const size_t end = s.find('_', i + 1);
    uint32_t cp = 0;
    if (end == absl::string_view::npos ||
        !absl::SimpleHexAtoi(s.substr(i + 1, end - i - 1), &cp)) {
      return std::string(s);  // Not valid escaping: take it literally.
    }
    // UTF-8 encode cp.
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    i = end;
  }
  return out;
}

// Process figures from /proc for the process_* metrics.
struct ProcessStats {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
};

ProcessStats ReadProcessStats() {
  ProcessStats s;
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const size_t close = line.rfind(')');
    if (close != std::string::npos) {
      std::vector<absl::string_view> f =
          absl::StrSplit(absl::string_view(line).substr(close + 2), ' ');
      // f[0] is field 3 (state): utime = field 14, stime = 15, vsize = 23, rss = 24.
      double utime = 0, stime = 0, vsize = 0, rss = 0;
      if (f.size() > 21 && absl::SimpleAtod(f[11], &utime) && absl::SimpleAtod(f[12], &stime) &&
          absl::SimpleAtod(f[20], &vsize) && absl::SimpleAtod(f[21], &rss)) {
        const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
        s.cpu_seconds = (utime + stime) / ticks;
        s.virtual_bytes = vsize;
        s.resident_bytes = rss * static_cast<double>(sysconf(_SC_PAGESIZE));
      }
    }
  }
  return s;
}

}  // namespace

Api::~Api() {
  // Its tasks use the members below: they finish (or are rejected) while those still exist.
  if (own_executor_ != nullptr) own_executor_->Stop();
}

Api::Api(Db* db, ApiOptions options, MetricsRegistry* metrics, query::QueryExecutor* executor)
    : db_(db),
      options_(std::move(options)),
      own_executor_(executor == nullptr
                        ? std::make_unique<query::QueryExecutor>(query::ExecutorOptions{})
                        : nullptr),
      executor_(executor != nullptr ? executor : own_executor_.get()),
      metrics_(metrics),
      start_time_ms_(NowMs()) {
  options_.engine.memory_in_use = executor_->memory_in_use();
  CounterFamily* queries_running = metrics_->AddGauge(
      "ember_queries_running", "Queries being evaluated now (API and rules).");
  CounterFamily* queries_queued = metrics_->AddGauge(
      "ember_queries_queued", "Queries waiting for one of the query.max-concurrency workers.");
  CounterFamily* query_memory = metrics_->AddGauge(
      "ember_query_memory_bytes", "Memory the running queries account for (loaded samples, "
                                  "step vectors, subquery buffers).");
  CounterFamily* queries_done = metrics_->AddCounter(
      "ember_queries_total",
      "Queries by outcome: completed, cancelled (the client left), timed_out, over_limit "
      "(max-samples or the memory budget), rejected (queue full or waited too long).",
      {"outcome"});
  metrics_->AddCollector([=, this] {
    const query::ExecutorStats st = executor_->stats();
    queries_running->With({})->Set(static_cast<double>(st.running));
    queries_queued->With({})->Set(static_cast<double>(st.queued));
    query_memory->With({})->Set(static_cast<double>(st.memory_bytes));
    queries_done->With({"completed"})->Set(static_cast<double>(st.completed));
    queries_done->With({"cancelled"})->Set(static_cast<double>(st.cancelled));
    queries_done->With({"timed_out"})->Set(static_cast<double>(st.timed_out));
    queries_done->With({"over_limit"})->Set(static_cast<double>(st.over_limit));
    queries_done->With({"rejected"})->Set(static_cast<double>(st.rejected));
  });
  requests_ = metrics_->AddCounter("ember_http_requests_total",
                                   "HTTP requests served, by handler and status code.",
                                   {"handler", "code"});
  request_duration_ = metrics_->AddHistogram("ember_http_request_duration_seconds",
                                             "Time to answer an HTTP request, by handler.",
                                             {"handler"}, DurationBuckets());
  ingested_ = metrics_->AddCounter("ember_ingested_samples_total",
                                   "Samples stored, by ingest door.", {"door"});
  refused_ = metrics_->AddCounter(
      "ember_rejected_samples_total",
      "Samples refused, by reason (invalid_labels, out_of_bounds, out_of_order, duplicate).",
      {"reason"});
  bad_requests_ = metrics_->AddCounter(
      "ember_ingest_bad_requests_total",
      "Ingest requests answered 4xx because they could not be decoded, by door.", {"door"});
  query_duration_ = metrics_->AddHistogram("ember_query_duration_seconds",
                                           "PromQL evaluation time, by kind (instant, range).",
                                           {"kind"}, DurationBuckets());
  CounterFamily* series = metrics_->AddGauge("ember_head_series",
                                             "Series with an open (head) chunk in memory.");
  CounterFamily* head_chunks =
      metrics_->AddGauge("ember_head_chunks", "Open chunks in memory (one per head series).");
  CounterFamily* all_series =
      metrics_->AddGauge("ember_series", "Series ever created in the database.");
  CounterFamily* samples =
      metrics_->AddGauge("ember_storage_samples", "Samples stored in live partitions.");
  CounterFamily* bytes = metrics_->AddGauge(
      "ember_storage_bytes", "Bytes of the data directory (RocksDB files included).");
  CounterFamily* partitions =
      metrics_->AddGauge("ember_storage_partitions", "Live time partitions.");
  CounterFamily* compactions = metrics_->AddCounter(
      "ember_rocksdb_compactions_total", "RocksDB compactions completed since the start.");
  CounterFamily* head_bytes =
      metrics_->AddGauge("ember_head_memory_bytes", "Estimated memory held by the head.");
  CounterFamily* cpu = metrics_->AddCounter("process_cpu_seconds_total",
                                            "User and system CPU time spent in seconds.");
  CounterFamily* rss =
      metrics_->AddGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  CounterFamily* vms =
      metrics_->AddGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  CounterFamily* start = metrics_->AddGauge(
      "process_start_time_seconds", "Start time of the process since the epoch in seconds.");
  const double start_s = static_cast<double>(start_time_ms_) / 1000.0;
  metrics_->AddCollector([=, this] {
    if (absl::StatusOr<DbStats> st = db_->Stats(); st.ok()) {
      series->With({})->Set(static_cast<double>(st->head_series));
      head_chunks->With({})->Set(static_cast<double>(st->head_series));
      all_series->With({})->Set(static_cast<double>(st->series));
      samples->With({})->Set(static_cast<double>(st->samples));
      bytes->With({})->Set(static_cast<double>(st->bytes_on_disk));
      partitions->With({})->Set(static_cast<double>(st->partitions));
      compactions->With({})->Set(static_cast<double>(st->compactions_completed));
      head_bytes->With({})->Set(static_cast<double>(st->head_memory_bytes));
    }
    const ProcessStats p = ReadProcessStats();
    cpu->With({})->Set(p.cpu_seconds);
    rss->With({})->Set(p.resident_bytes);
    vms->With({})->Set(p.virtual_bytes);
    start->With({})->Set(start_s);
  });
}

void Api::SetReady(bool ready) { ready_.store(ready); }

void Api::Record(const std::string& handler, int status,
                 std::chrono::steady_clock::time_point start) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  requests_->With({handler, absl::StrCat(status)})->Inc();
  request_duration_->With({handler})->Observe(seconds);
}

void Api::Handle(HttpRequest request, HttpReply reply) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!RunsOnExecutor(request.path)) {
    std::string handler;
    Call call;
    HttpResponse r = Route(request, &handler, &call);
    Record(handler, r.status, t0);
    reply(std::move(r));
    return;
  }
  auto req = std::make_shared<const HttpRequest>(std::move(request));
  auto response = std::make_shared<HttpResponse>();
  std::shared_ptr<const std::atomic<bool>> cancel = req->cancelled;
  executor_->Submit(
      [this, req, response, t0](const absl::Status& admission) -> absl::Status {
        // A fixed label per endpoint, never the client's path (label values' name varies).
        std::string handler = absl::StartsWith(req->path, "/api/v1/label/")
                                  ? "/api/v1/label/:name/values"
                                  : req->path;
        Call call;
        call.cancel = req->cancelled.get();
        if (!admission.ok()) {
          *response = ApiError(absl::IsCancelled(admission) ? ErrorType::kCanceled
                                                            : ErrorType::kUnavailable,
                               admission.message());
          call.outcome = admission;
        } else {
          try {
            *response = Route(*req, &handler, &call);
          } catch (const std::bad_alloc&) {
            // The budget is an estimate; the allocator had the last word.
            call.outcome = absl::ResourceExhaustedError("out of memory");
            *response = ApiError(ErrorType::kExecution,
                                 "the query ran out of memory; lower --query.max-memory-bytes "
                                 "so that queries end before the allocator fails");
          } catch (const std::exception& e) {
            call.outcome = absl::InternalError(e.what());
            *response = ApiError(ErrorType::kInternal, absl::StrCat("query failed: ", e.what()));
          }
        }
        Record(handler, response->status, t0);
        return call.outcome;
      },
      std::move(cancel),
      // Handed over once the worker is free: a client's next query finds it so.
      [response, reply = std::move(reply)] { reply(std::move(*response)); });
}

HttpResponse Api::Route(const HttpRequest& req, std::string* handler, Call* call) {
  const std::string& p = req.path;
  *handler = p;
  if (p == "/api/v1/query") return IsReadMethod(req) ? Query(req, call) : MethodNotAllowed();
  if (p == "/api/v1/query_range") {
    return IsReadMethod(req) ? QueryRange(req, call) : MethodNotAllowed();
  }
  if (p == "/api/v1/format_query") {
    return IsReadMethod(req) ? FormatQuery(req) : MethodNotAllowed();
  }
  if (p == "/api/v1/series") {
    if (req.method == "DELETE") {
      return ApiError(ErrorType::kUnavailable, "deleting series is not supported");
    }
    return IsReadMethod(req) ? SeriesEndpoint(req) : MethodNotAllowed();
  }
  if (p == "/api/v1/labels") return IsReadMethod(req) ? LabelNames(req) : MethodNotAllowed();
  if (absl::StartsWith(p, "/api/v1/label/") && absl::EndsWith(p, "/values")) {
    *handler = "/api/v1/label/:name/values";
    absl::string_view name(p);
    name.remove_prefix(absl::string_view("/api/v1/label/").size());
    name.remove_suffix(absl::string_view("/values").size());
    if (req.method != "GET") return MethodNotAllowed();
    return LabelValues(req, UnescapeLabelNameInPath(name));
  }
  if (p == "/api/v1/metadata") return req.method == "GET" ? Metadata(req) : MethodNotAllowed();
  if (p == "/api/v1/status/buildinfo") return BuildInfo();
  if (p == "/api/v1/status/runtimeinfo") return RuntimeInfo();
  if (p == "/api/v1/status/tsdb") return TsdbStatus(req);
  if (p == "/api/v1/status/flags") return Flags();
  if (p == "/api/v1/status/config") {
    JsonWriter w;
    w.BeginObject().Key("yaml").String("").EndObject();
    return Success(w.str());
  }
  if (p == "/api/v1/rules") {
    if (hooks_.rules == nullptr) return Success("{\"groups\":[]}");
    absl::StatusOr<Params> params = Params::Parse(req.query, "", "");
    std::string type = params.ok() ? params->Get("type").value_or("") : "";
    JsonWriter w;
    hooks_.rules->WriteRules(type, &w);
    return Success(w.str());
  }
  if (p == "/api/v1/alerts") {
    if (hooks_.rules == nullptr) return Success("{\"alerts\":[]}");
    JsonWriter w;
    hooks_.rules->WriteAlerts(&w);
    return Success(w.str());
  }
  if (p == "/-/reload") {
    if (req.method != "POST" && req.method != "PUT") return MethodNotAllowed();
    if (!hooks_.reload) return PlainText(400, "no --config_file to reload\n");
    absl::Status s = hooks_.reload();
    return s.ok() ? PlainText(200, "") : PlainText(500, absl::StrCat("failed to reload config: ", s.message(), "\n"));
  }
  if (p == "/api/v1/query_exemplars") return Success("[]");
  if (p == "/api/v1/targets") return Targets();
  if (p == "/api/v1/alertmanagers") {
    return Success("{\"activeAlertmanagers\":[],\"droppedAlertmanagers\":[]}");
  }
  if (p == "/api/v1/write") return req.method == "POST" ? RemoteWrite(req) : MethodNotAllowed();
  if (p == "/api/v1/import/prometheus") {
    return req.method == "POST" ? ImportPrometheus(req) : MethodNotAllowed();
  }
  if (p == "/write" || p == "/api/v2/write") {
    return req.method == "POST" ? InfluxWrite(req, p == "/api/v2/write") : MethodNotAllowed();
  }
  if (p == "/metrics") return MetricsPage();
  if (p == "/-/healthy") return PlainText(200, "Ember is Healthy.\n");
  if (p == "/-/ready") {
    return ready_.load() ? PlainText(200, "Ember is Ready.\n")
                         : PlainText(503, "Service Unavailable\n");
  }
  if (p == "/") {
    return PlainText(200, absl::StrCat(VersionLine(), "\nPrometheus HTTP API at /api/v1/\n"));
  }
  *handler = "other";
  if (absl::StartsWith(p, "/api/v1/")) {
    return ApiError(ErrorType::kNotFound, absl::StrCat("unknown API endpoint ", p));
  }
  return PlainText(404, "404 page not found\n");
}

HttpResponse Api::Evaluate(
    const Params& params, const char* kind, Call* call,
    const std::function<absl::StatusOr<query::QueryResult>(query::Engine&)>& run) {
  query::EngineOptions eo = options_.engine;
  eo.default_subquery_step_ms = default_subquery_step_ms_.load();
  if (std::optional<std::string> timeout = params.Get("timeout"); timeout && !timeout->empty()) {
    absl::StatusOr<int64_t> ms = ParseDurationParam(*timeout);
    if (!ms.ok()) return BadParam("timeout", ms.status());
    if (*ms < 0) {
      return BadParam("timeout", absl::InvalidArgumentError(absl::StrCat(
                                     "timeout must not be negative, got ", *timeout)));
    }
    if (*ms > 0) eo.timeout_ms = std::min(eo.timeout_ms, *ms);
  }
  if (std::optional<std::string> lb = params.Get("lookback_delta"); lb && !lb->empty()) {
    absl::StatusOr<int64_t> ms = ParseDurationParam(*lb);
    if (!ms.ok()) return BadParam("lookback_delta", ms.status());
    if (*ms < 0) {
      return BadParam("lookback_delta", absl::InvalidArgumentError(absl::StrCat(
                                            "lookback_delta must not be negative, got ", *lb)));
    }
    if (*ms > query::kMaxDurationMs) {
      return BadParam("lookback_delta",
                      absl::InvalidArgumentError("lookback_delta is out of range"));
    }
    if (*ms > 0) eo.lookback_delta_ms = *ms;
  }
  query::Engine engine(db_, eo);
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<query::QueryResult> r = run(engine);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  query_duration_->With({kind})->Observe(seconds);
  if (seconds >= 0.02) trim_requested_.store(true);
  call->outcome = r.status();
  if (!r.ok()) return QueryError(r.status());
  // The answer's JSON counts against the memory budget too.
  if (eo.max_memory_bytes > 0 &&
      r->peak_memory_bytes + ResultJsonBytesEstimate(r->value) > eo.max_memory_bytes) {
    call->outcome = absl::ResourceExhaustedError("result too large");
    return ApiError(ErrorType::kExecution,
                    absl::StrCat("the query's result would need more than ",
                                 eo.max_memory_bytes,
                                 " bytes of memory to encode (query.max-memory-bytes); narrow "
                                 "the selectors or the range"));
  }
  JsonWriter w;
  if (!WriteQueryData(r->value, &w, call->cancel)) {
    call->outcome = absl::CancelledError("query was canceled while encoding its result");
    return QueryError(call->outcome);
  }
  return Success(w.str(), r->annotations.warnings, r->annotations.infos);
}

HttpResponse Api::Query(const HttpRequest& req, Call* call) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  std::optional<std::string> q = params->Get("query");
  if (!q.has_value()) {
    return ApiError(ErrorType::kBadData, "invalid parameter \"query\": query must not be empty");
  }
  absl::StatusOr<int64_t> t = EvalTime(TimeOr(*params, "time", NowMs()));
  if (!t.ok()) return BadParam("time", t.status());
  return Evaluate(*params, "instant", call, [&](query::Engine& engine) {
    return engine.InstantQuery(*q, *t, call->cancel);
  });
}

HttpResponse Api::QueryRange(const HttpRequest& req, Call* call) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  std::optional<std::string> q = params->Get("query");
  if (!q.has_value()) {
    return ApiError(ErrorType::kBadData, "invalid parameter \"query\": query must not be empty");
  }
  absl::StatusOr<int64_t> start = EvalTime(ParseTimeParam(params->Get("start").value_or("")));
  if (!start.ok()) return BadParam("start", start.status());
  absl::StatusOr<int64_t> end = EvalTime(ParseTimeParam(params->Get("end").value_or("")));
  if (!end.ok()) return BadParam("end", end.status());
  if (*end < *start) {
    return BadParam("end", absl::InvalidArgumentError("end timestamp must not be before start time"));
  }
  absl::StatusOr<int64_t> step = ParseDurationParam(params->Get("step").value_or(""));
  if (!step.ok()) return BadParam("step", step.status());
  if (*step <= 0) {
    return BadParam("step", absl::InvalidArgumentError(
                                "zero or negative query resolution step widths are not "
                                "accepted. Try a positive integer"));
  }
  if ((*end - *start) / *step > options_.max_points_per_series) {
    return ApiError(ErrorType::kBadData,
                    absl::StrCat("exceeded maximum resolution of ",
                                 options_.max_points_per_series / 1000, ",",
                                 absl::StrFormat("%03d", options_.max_points_per_series % 1000),
                                 " points per timeseries. Try decreasing the query resolution "
                                 "(?step=XX)"));
  }
  return Evaluate(*params, "range", call, [&](query::Engine& engine) {
    return engine.RangeQuery(*q, *start, *end, *step, call->cancel);
  });
}

HttpResponse Api::FormatQuery(const HttpRequest& req) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  absl::StatusOr<query::ExprPtr> e = query::ParseExpr(params->Get("query").value_or(""));
  if (!e.ok()) return BadParam("query", e.status());
  JsonWriter w;
  w.String(query::ToString(**e));
  return Success(w.str());
}

HttpResponse Api::SeriesEndpoint(const HttpRequest& req) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  if (!params->Has("match[]")) return ApiError(ErrorType::kBadData, "no match[] parameter provided");
  const Selection sel = ParseSelection(*params);
  if (sel.error.has_value()) return *sel.error;
  std::set<Labels> found;
  for (const std::vector<Matcher>& set : sel.sets) {
    absl::StatusOr<std::vector<Series>> series = db_->Select(set, sel.start, sel.end);
    if (!series.ok()) return ApiError(ErrorType::kExecution, series.status().message());
    for (Series& s : *series) found.insert(std::move(s.labels));
  }
  std::vector<std::string> warnings;
  JsonWriter w;
  w.BeginArray();
  int64_t n = 0;
  for (const Labels& ls : found) {
    if (sel.limit > 0 && n == sel.limit) {
      warnings.emplace_back(kTruncatedWarning);
      break;
    }
    WriteLabelsObject(ls, &w);
    ++n;
  }
  w.EndArray();
  return Success(w.str(), warnings);
}

HttpResponse Api::LabelNames(const HttpRequest& req) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  const Selection sel = ParseSelection(*params);
  if (sel.error.has_value()) return *sel.error;
  return UnionOfStrings(sel, [&](const std::vector<Matcher>& set) {
    return db_->LabelNames(sel.start, sel.end, set);
  });
}

HttpResponse Api::LabelValues(const HttpRequest& req, const std::string& name) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  if (name.empty()) {
    return ApiError(ErrorType::kBadData, absl::StrCat("invalid label name: \"", name, "\""));
  }
  const Selection sel = ParseSelection(*params);
  if (sel.error.has_value()) return *sel.error;
  return UnionOfStrings(sel, [&](const std::vector<Matcher>& set) {
    return db_->LabelValues(name, sel.start, sel.end, set);
  });
}

HttpResponse Api::Metadata(const HttpRequest& req) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  absl::StatusOr<int64_t> limit = Limit(*params);
  if (!limit.ok()) return BadParam("limit", limit.status());
  int64_t per_metric = 0;
  if (std::optional<std::string> v = params->Get("limit_per_metric"); v && !v->empty()) {
    if (!absl::SimpleAtoi(*v, &per_metric) || per_metric < 0) {
      return BadParam("limit_per_metric",
                      absl::InvalidArgumentError(absl::StrCat("cannot parse \"", *v, "\"")));
    }
  }
  const std::optional<std::string> metric = params->Get("metric");
  JsonWriter w;
  w.BeginObject();
  absl::MutexLock lock(&metadata_mu_);
  int64_t n = 0;
  for (const auto& [name, entries] : metadata_) {
    if (metric.has_value() && !metric->empty() && *metric != name) continue;
    if (*limit > 0 && n == *limit) break;
    ++n;
    w.Key(name).BeginArray();
    int64_t k = 0;
    for (const ingest::MetricMetadata& m : entries) {
      if (per_metric > 0 && k++ == per_metric) break;
      w.BeginObject().Key("type").String(m.type).Key("help").String(m.help);
      w.Key("unit").String(m.unit).EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return Success(w.str());
}

HttpResponse Api::BuildInfo() {
  JsonWriter w;
  w.BeginObject();
  w.Key("version").String(kPrometheusCompatibleVersion);
  w.Key("revision").String("");
  w.Key("branch").String("");
  w.Key("buildUser").String("");
  w.Key("buildDate").String(__DATE__);
  w.Key("goVersion").String("");
  w.Key("application").String("ember");
  w.Key("emberVersion").String(kEmberVersion);
  w.EndObject();
  return Success(w.str());
}

HttpResponse Api::RuntimeInfo() {
  char cwd[4096];
  const char* dir = getcwd(cwd, sizeof cwd) != nullptr ? cwd : "";
  JsonWriter w;
  w.BeginObject();
  w.Key("startTime").String(FormatRfc3339(start_time_ms_));
  w.Key("CWD").String(dir);
  w.Key("reloadConfigSuccess").Bool(true);
  w.Key("lastConfigTime").String(FormatRfc3339(start_time_ms_));
  w.Key("corruptionCount").Int(0);
  w.Key("goroutineCount").Int(0);
  w.Key("GOMAXPROCS").Int(static_cast<int64_t>(sysconf(_SC_NPROCESSORS_ONLN)));
  w.Key("GOMEMLIMIT").Int(0);
  w.Key("GOGC").String("");
  w.Key("GODEBUG").String("");
  w.Key("storageRetention")
      .String(options_.retention_ms > 0 ? query::FormatDuration(options_.retention_ms)
                                        : std::string("unlimited"));
  // Ember's own: the query executor's state (Prometheus has no such field).
  const query::ExecutorStats qs = executor_->stats();
  w.Key("queries").BeginObject();
  w.Key("running").Int(qs.running);
  w.Key("queued").Int(qs.queued);
  w.Key("memoryBytes").Int(qs.memory_bytes);
  w.Key("completed").Int(qs.completed);
  w.Key("cancelled").Int(qs.cancelled);
  w.Key("timedOut").Int(qs.timed_out);
  w.Key("overLimit").Int(qs.over_limit);
  w.Key("rejected").Int(qs.rejected);
  w.Key("maxConcurrency").Int(executor_->options().max_concurrency);
  w.Key("maxMemoryBytes").Int(options_.engine.max_memory_bytes);
  w.EndObject();
  w.EndObject();
  return Success(w.str());
}

HttpResponse Api::TsdbStatus(const HttpRequest& req) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  int64_t limit = 10;
  if (std::optional<std::string> v = params->Get("limit"); v && !v->empty()) {
    if (!absl::SimpleAtoi(*v, &limit) || limit <= 0) {
      return BadParam("limit", absl::InvalidArgumentError("limit must be a positive number"));
    }
  }
  absl::StatusOr<DbStats> st = db_->Stats();
  if (!st.ok()) return ApiError(ErrorType::kInternal, st.status().message());
  // Cardinality of the series with samples in the last 3 hours (Prometheus: its head block).
  const int64_t maxt = st->max_time_ms;
  const int64_t mint = maxt - 3 * 3600 * 1000;
  std::map<std::string, int64_t> by_name, values_per_label, bytes_per_label, by_pair;
  std::map<std::string, std::set<std::string>> label_values;
  int64_t label_pairs = 0;
  absl::StatusOr<std::vector<Series>> series =
      db_->Select({Matcher{Matcher::Op::kRegexMatch, "__name__", ".+"}}, mint, maxt);
  if (!series.ok()) return ApiError(ErrorType::kInternal, series.status().message());
  std::set<std::pair<std::string, std::string>> pairs;
  for (const Series& s : *series) {
    ++by_name[std::string(GetLabelValue(s.labels, kMetricNameLabel))];
    for (const Label& l : s.labels) {
      ++by_pair[absl::StrCat(l.name, "=", l.value)];
      if (label_values[l.name].insert(l.value).second) {
        bytes_per_label[l.name] += static_cast<int64_t>(l.value.size());
      }
      pairs.emplace(l.name, l.value);
    }
  }
  label_pairs = static_cast<int64_t>(pairs.size());
  for (const auto& [name, vals] : label_values) {
    values_per_label[name] = static_cast<int64_t>(vals.size());
  }
  auto top = [limit](const std::map<std::string, int64_t>& m, JsonWriter* w) {
    std::vector<std::pair<int64_t, std::string>> v;
    for (const auto& [k, n] : m) v.emplace_back(-n, k);
    std::sort(v.begin(), v.end());
    w->BeginArray();
    for (size_t i = 0; i < v.size() && static_cast<int64_t>(i) < limit; ++i) {
      w->BeginObject().Key("name").String(v[i].second).Key("value").Int(-v[i].first).EndObject();
    }
    w->EndArray();
  };
  JsonWriter w;
  w.BeginObject();
  w.Key("headStats").BeginObject();
  w.Key("numSeries").Int(st->head_series);
  w.Key("numLabelPairs").Int(label_pairs);
  w.Key("chunkCount").Int(st->head_series);
  w.Key("minTime").Int(st->min_time_ms);
  w.Key("maxTime").Int(st->max_time_ms);
  w.EndObject();
  w.Key("seriesCountByMetricName");
  top(by_name, &w);
  w.Key("labelValueCountByLabelName");
  top(values_per_label, &w);
  w.Key("memoryInBytesByLabelName");
  top(bytes_per_label, &w);
  w.Key("seriesCountByLabelValuePair");
  top(by_pair, &w);
  w.EndObject();
  return Success(w.str());
}

HttpResponse Api::Flags() {
  JsonWriter w;
  w.BeginObject();
  for (const auto& [k, v] : options_.flags) w.Key(k).String(v);
  w.EndObject();
  return Success(w.str());
}

HttpResponse Api::Targets() {
  JsonWriter w;
  w.BeginObject().Key("activeTargets").BeginArray();
  // The self-scrape first, then the configured targets.
  const int64_t last = last_self_scrape_ms_.load();
  w.BeginObject();
  w.Key("discoveredLabels").BeginObject().EndObject();
  w.Key("labels").BeginObject().Key("instance").String(options_.instance);
  w.Key("job").String("ember").EndObject();
  w.Key("scrapePool").String("ember");
  w.Key("scrapeUrl").String(absl::StrCat("http://", options_.instance, "/metrics"));
  w.Key("globalUrl").String(absl::StrCat("http://", options_.instance, "/metrics"));
  w.Key("lastError").String("");
  w.Key("lastScrape").String(last > 0 ? FormatRfc3339(last) : "0001-01-01T00:00:00Z");
  w.Key("lastScrapeDuration").Double(0);
  w.Key("health").String(last > 0 ? "up" : "unknown");
  w.Key("scrapeInterval").String("15s");
  w.Key("scrapeTimeout").String("10s");
  w.EndObject();
  if (hooks_.scrape != nullptr) {
    for (const TargetStatus& t : hooks_.scrape->Targets()) {
      w.BeginObject();
      w.Key("discoveredLabels");
      WriteLabelsObject(t.discovered_labels, &w);
      w.Key("labels");
      WriteLabelsObject(t.labels, &w);
      w.Key("scrapePool").String(t.scrape_pool);
      w.Key("scrapeUrl").String(t.scrape_url);
      w.Key("globalUrl").String(t.scrape_url);
      w.Key("lastError").String(t.last_error);
      w.Key("lastScrape")
          .String(t.last_scrape_ms > 0 ? FormatRfc3339(t.last_scrape_ms) : "0001-01-01T00:00:00Z");
      w.Key("lastScrapeDuration").Double(t.last_scrape_duration_seconds);
      w.Key("health").String(t.health);
      w.Key("scrapeInterval").String(query::FormatDuration(t.scrape_interval_ms));
      w.Key("scrapeTimeout").String(query::FormatDuration(t.scrape_timeout_ms));
      w.EndObject();
    }
  }
  w.EndArray().Key("droppedTargets").BeginArray();
  if (hooks_.scrape != nullptr) {
    for (const DroppedTargetStatus& t : hooks_.scrape->DroppedTargets()) {
      w.BeginObject().Key("discoveredLabels");
      WriteLabelsObject(t.discovered_labels, &w);
      w.Key("scrapePool").String(t.scrape_pool);
      w.EndObject();
    }
  }
  w.EndArray().EndObject();
  return Success(w.str());
}

void Api::RememberMetadata(const std::vector<ingest::MetricMetadata>& metadata) {
  if (metadata.empty()) return;
  absl::MutexLock lock(&metadata_mu_);
  for (const ingest::MetricMetadata& m : metadata) {
    std::vector<ingest::MetricMetadata>& list = metadata_[m.metric];
    const bool known = std::any_of(list.begin(), list.end(), [&m](const auto& x) {
      return x.type == m.type && x.help == m.help && x.unit == m.unit;
    });
    if (!known) list.push_back(m);
  }
}

absl::Status Api::Ingest(const char* door, const ingest::DecodedBatch& batch, int64_t* stored) {
  RememberMetadata(batch.metadata);
  ingest::WriteOutcome refused_whole;
  absl::StatusOr<ingest::WriteOutcome> out = ingest::WriteBatch(db_, batch, &refused_whole);
  const ingest::WriteOutcome& counts = out.ok() ? *out : refused_whole;
  for (int r = 0; r < 4; ++r) {
    if (counts.refused_by_reason[r] > 0) {
      refused_->With({ingest::RejectReasonName(static_cast<ingest::RejectReason>(r))})
          ->Inc(static_cast<double>(counts.refused_by_reason[r]));
    }
  }
  if (!out.ok()) return out.status();
  ingested_->With({door})->Inc(static_cast<double>(out->samples_stored));
  *stored = out->samples_stored;
  if (out->samples_refused > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        out->samples_refused, " of ", out->samples_refused + out->samples_stored,
        " samples refused, the other ", out->samples_stored, " stored: ",
        absl::StrJoin(out->errors, "; "),
        out->samples_refused > static_cast<int64_t>(out->errors.size()) ? "; ..." : ""));
  }
  return absl::OkStatus();
}

namespace {

// The status of an ingest door's answer: 4xx for what the sender must not retry, 5xx for faults
// a retry may cure.
int IngestErrorStatus(const absl::Status& s) {
  if (absl::IsInvalidArgument(s) || absl::IsOutOfRange(s) || absl::IsAlreadyExists(s)) return 400;
  if (absl::IsFailedPrecondition(s) || absl::IsUnavailable(s)) return 503;
  return 500;
}

// The remote-write message a Content-Type names. As Prometheus's receiver: the media type must
// be application/x-protobuf; its proto= parameter names the message, 1.0 when absent; an absent
// Content-Type is 1.0 too, for old senders. Other parameters are ignored. InvalidArgument, to
// be answered 415, otherwise.
absl::StatusOr<bool> IsRemoteWriteV2(std::string_view content_type) {
  const absl::string_view whole =
      absl::StripAsciiWhitespace(absl::string_view(content_type.data(), content_type.size()));
  if (whole.empty()) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(whole, ';');
  if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(parts[0]), "application/x-protobuf")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported Content-Type \"", whole,
        "\": remote write takes application/x-protobuf (proto=prometheus.WriteRequest or "
        "proto=io.prometheus.write.v2.Request)"));
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const absl::string_view param = absl::StripAsciiWhitespace(parts[i]);
    if (param.empty()) continue;  // RFC 9110 allows empty parameters: "a/b;;c=d".
    const size_t eq = param.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("Content-Type \"", whole, "\": parameter \"",
                                                     param, "\" is not name=value"));
    }
    if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(param.substr(0, eq)), "proto")) {
      continue;
    }
    absl::string_view proto = absl::StripAsciiWhitespace(param.substr(eq + 1));
    if (proto.size() >= 2 && proto.front() == '"' && proto.back() == '"') {
      proto = proto.substr(1, proto.size() - 2);
    }
    if (proto == "prometheus.WriteRequest") return false;
    if (proto == "io.prometheus.write.v2.Request") return true;
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported remote write message proto=", proto, " in Content-Type \"", whole,
        "\": want prometheus.WriteRequest (1.0) or io.prometheus.write.v2.Request (2.0)"));
  }
  return false;
}

}  // namespace

HttpResponse Api::RemoteWrite(const HttpRequest& req) {
  bool v2 = false;
  int64_t stored = 0;
  // Every answer to a 2.0 request states what was stored, also a 4xx or 5xx (the spec: a sender
  // may take a missing header for 0, but Ember is explicit). Histograms and exemplars are
  // never stored.
  auto answer = [&](int status, absl::string_view message) {
    HttpResponse r = PlainText(status, message.empty() ? "" : absl::StrCat(message, "\n"));
    if (v2) {
      r.headers.emplace_back("X-Prometheus-Remote-Write-Samples-Written", absl::StrCat(stored));
      r.headers.emplace_back("X-Prometheus-Remote-Write-Histograms-Written", "0");
      r.headers.emplace_back("X-Prometheus-Remote-Write-Exemplars-Written", "0");
    }
    return r;
  };
  auto refuse = [&](int status, absl::string_view message) {
    bad_requests_->With({"remote_write"})->Inc();
    return answer(status, message);
  };

  absl::StatusOr<bool> is_v2 = IsRemoteWriteV2(req.Header("content-type"));
  if (!is_v2.ok()) return refuse(415, is_v2.status().message());
  v2 = *is_v2;
  // The HTTP server leaves this path's body and Content-Encoding as sent (gzip included), so a
  // sender with any coding but snappy learns of its misconfiguration, as the spec requires.
  // An absent Content-Encoding is snappy, as Prometheus's receiver assumes.
  const std::string_view encoding = req.Header("content-encoding");
  const absl::string_view trimmed =
      absl::StripAsciiWhitespace(absl::string_view(encoding.data(), encoding.size()));
  if (!trimmed.empty() && !absl::EqualsIgnoreCase(trimmed, "snappy")) {
    return refuse(415, absl::StrCat("unsupported Content-Encoding \"", trimmed,
                                    "\": remote write bodies are snappy-compressed"));
  }

  ingest::DecodedBatch batch;
  const size_t limit = options_.max_request_body_bytes;
  absl::Status s = v2 ? ingest::DecodeRemoteWriteV2(req.body, limit, &batch)
                      : ingest::DecodeRemoteWriteV1(req.body, limit, &batch);
  if (absl::IsResourceExhausted(s)) {
    return refuse(413, absl::StrCat(s.message(), " (the request body limit, ", limit,
                                    " bytes, applies after decompression too)"));
  }
  if (!s.ok()) return refuse(400, s.message());
  s = Ingest("remote_write", batch, &stored);
  if (!s.ok()) return answer(IngestErrorStatus(s), s.message());
  return answer(204, "");
}

HttpResponse Api::ImportPrometheus(const HttpRequest& req) {
  absl::StatusOr<Params> params = Params::Parse(req.query, "", "");
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  ingest::TextFormatOptions opts;
  opts.openmetrics = absl::StartsWith(std::string(req.Header("content-type")),
                                     "application/openmetrics-text");
  absl::StatusOr<int64_t> ts = TimeOr(*params, "timestamp", NowMs());
  if (!ts.ok()) return BadParam("timestamp", ts.status());
  opts.default_timestamp_ms = *ts;
  for (const std::string& el : params->GetAll("extra_label")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(el, absl::MaxSplits('=', 1));
    if (kv.first.empty() || el.find('=') == std::string::npos) {
      return BadParam("extra_label", absl::InvalidArgumentError(absl::StrCat(
                                         "expected name=value, got \"", el, "\"")));
    }
    opts.extra_labels.push_back(Label{kv.first, kv.second});
  }
  ingest::DecodedBatch batch;
  if (absl::Status s = ingest::ParseTextFormat(req.body, opts, &batch); !s.ok()) {
    bad_requests_->With({"import"})->Inc();
    return ApiError(ErrorType::kBadData, s.message());
  }
  int64_t stored = 0;
  if (absl::Status s = Ingest("import", batch, &stored); !s.ok()) {
    HttpResponse r = ApiError(ErrorType::kBadData, s.message());
    r.status = IngestErrorStatus(s);
    return r;
  }
  return PlainText(204, "");
}

HttpResponse Api::InfluxWrite(const HttpRequest& req, bool v2) {
  auto influx_error = [](int status, absl::string_view message) {
    JsonWriter w;
    w.BeginObject().Key("code").String(status >= 500 ? "internal error" : "invalid");
    w.Key("message").String(Std(message)).Key("error").String(Std(message)).EndObject();
    HttpResponse r;
    r.status = status;
    r.body = w.Take();
    return r;
  };
  absl::StatusOr<Params> params = Params::Parse(req.query, "", "");
  if (!params.ok()) return influx_error(400, params.status().message());
  ingest::InfluxOptions opts;
  absl::StatusOr<int64_t> unit = ingest::InfluxPrecision(params->Get("precision").value_or(""));
  if (!unit.ok()) return influx_error(400, unit.status().message());
  opts.ns_per_unit = *unit;
  opts.default_timestamp_ms = NowMs();
  const std::string db = params->Get(v2 ? "bucket" : "db").value_or("");
  if (!db.empty()) opts.extra_labels.push_back(Label{"db", db});
  ingest::DecodedBatch batch;
  if (absl::Status s = ingest::ParseInfluxLines(req.body, opts, &batch); !s.ok()) {
    bad_requests_->With({"influx"})->Inc();
    return influx_error(400, s.message());
  }
  int64_t stored = 0;
  if (absl::Status s = Ingest("influx", batch, &stored); !s.ok()) {
    return influx_error(IngestErrorStatus(s), s.message());
  }
  return PlainText(204, "");
}

HttpResponse Api::MetricsPage() {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_->Expose();
  return r;
}

absl::Status Api::SelfScrape(int64_t now_ms) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string text = metrics_->Expose();
  ingest::TextFormatOptions opts;
  opts.default_timestamp_ms = now_ms;
  opts.extra_labels = {Label{"job", "ember"}, Label{"instance", options_.instance}};
  ingest::DecodedBatch batch;
  if (absl::Status s = ingest::ParseTextFormat(text, opts, &batch); !s.ok()) {
    return absl::InternalError(absl::StrCat("self-scrape: own /metrics does not parse: ",
                                            s.message()));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const size_t scraped = batch.series.size();
  auto add = [&](std::string name, double v) {
    ingest::DecodedSeries s;
    s.labels = {Label{"__name__", std::move(name)}, Label{"job", "ember"},
                Label{"instance", options_.instance}};
    s.samples.push_back(Sample{now_ms, v});
    batch.series.push_back(std::move(s));
  };
  add("up", 1);
  add("scrape_duration_seconds", seconds);
  add("scrape_samples_scraped", static_cast<double>(scraped));
  int64_t stored = 0;
  EMBER_RETURN_IF_ERROR(Ingest("self_scrape", batch, &stored));
  last_self_scrape_ms_.store(now_ms);
  return absl::OkStatus();
}

}  // namespace ember::server
