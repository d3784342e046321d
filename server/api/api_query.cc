// The query endpoints: /api/v1/query, /api/v1/query_range, /api/v1/format_query.
#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/parser/parser.h"
#include "server/api/api.h"
#include "server/api/api_response.h"
#include "server/api/query_json.h"
#include "server/http/json.h"
#include "util/clock.h"

namespace ember::server {
namespace {

// A query's evaluation time: a time parameter within the engine's range (query/ast.h).
absl::StatusOr<int64_t> EvalTime(absl::StatusOr<int64_t> t) {
  if (t.ok() && (*t < -query::kMaxEvalTimeMs || *t > query::kMaxEvalTimeMs)) {
    return absl::InvalidArgumentError(
        absl::StrCat(*t, " ms is out of range: queries are evaluated within +-",
                     query::kMaxEvalTimeMs, " ms of the epoch (about 146 million years)"));
  }
  return t;
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

}  // namespace

HttpResponse Api::Evaluate(
    const Params& params, const char* kind, Call* call,
    const std::function<absl::StatusOr<query::QueryResult>(query::Engine&)>& run) {
  query::EngineOptions eo = options_.engine;
  eo.default_subquery_step_ms = default_subquery_step_ms_.load();
  if (std::optional<std::string> timeout = params.Get("timeout"); timeout && !timeout->empty()) {
    absl::StatusOr<int64_t> ms = ParseDurationParam(*timeout);
    if (!ms.ok()) return BadParam("timeout", ms.status());
    if (*ms < 0) {
      return BadParam("timeout", absl::InvalidArgumentError(
                                     absl::StrCat("timeout must not be negative, got ", *timeout)));
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
                    absl::StrCat("the query's result would need more than ", eo.max_memory_bytes,
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
  absl::StatusOr<int64_t> t = EvalTime(TimeOr(*params, "time", util::NowMs()));
  if (!t.ok()) return BadParam("time", t.status());
  return Evaluate(*params, "instant", call,
                  [&](query::Engine& engine) { return engine.InstantQuery(*q, *t, call->cancel); });
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
    return BadParam("end",
                    absl::InvalidArgumentError("end timestamp must not be before start time"));
  }
  absl::StatusOr<int64_t> step = ParseDurationParam(params->Get("step").value_or(""));
  if (!step.ok()) return BadParam("step", step.status());
  if (*step <= 0) {
    return BadParam(
        "step", absl::InvalidArgumentError("zero or negative query resolution step widths are not "
                                           "accepted. Try a positive integer"));
  }
  if ((*end - *start) / *step > options_.max_points_per_series) {
    return ApiError(
        ErrorType::kBadData,
        absl::StrCat("exceeded maximum resolution of ", options_.max_points_per_series / 1000, ",",
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

}  // namespace ember::server
