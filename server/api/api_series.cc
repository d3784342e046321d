// The series and label endpoints: /api/v1/series, /api/v1/labels,
// /api/v1/label/<name>/values, and /api/v1/metadata (what the ingest doors kept).
#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "query/parser/parser.h"
#include "server/api/api.h"
#include "server/api/api_response.h"
#include "server/api/query_json.h"
#include "server/http/json.h"
#include "storage/matcher.h"
#include "storage/querier.h"
#include "util/status_macros.h"

namespace ember::server {
namespace {

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
      return absl::InvalidArgumentError("match[] must contain at least one non-empty matcher");
    }
    sets.push_back(vs.matchers);
  }
  return sets;
}

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
    if (end == absl::string_view::npos || !absl::SimpleHexAtoi(s.substr(i + 1, end - i - 1), &cp)) {
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

}  // namespace

HttpResponse Api::SeriesEndpoint(const HttpRequest& req) {
  absl::StatusOr<Params> params = Params::Parse(req.query, req.Header("content-type"), req.body);
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  if (!params->Has("match[]"))
    return ApiError(ErrorType::kBadData, "no match[] parameter provided");
  const Selection sel = ParseSelection(*params);
  if (sel.error.has_value()) return *sel.error;
  std::vector<Labels> found;  // Each set's series come sorted: one set needs no sort.
  for (const std::vector<Matcher>& set : sel.sets) {
    // Labels only: a series with a sample in range is listed, and its chunks are read only
    // when its open chunk cannot tell.
    absl::Status s = [&]() -> absl::Status {
      EMBER_ASSIGN_OR_RETURN(std::vector<storage::CompiledMatcher> compiled,
                             storage::CompileMatchers(set));
      EMBER_ASSIGN_OR_RETURN(std::unique_ptr<storage::SeriesSet> series,
                             storage::QuerierOf(db_)->Select(compiled, sel.start, sel.end));
      while (series->Next()) {
        EMBER_ASSIGN_OR_RETURN(const bool has, series->HasSamples());
        if (has) found.push_back(std::move(series->labels()));
      }
      return series->status();
    }();
    if (!s.ok()) return ApiError(ErrorType::kExecution, s.message());
  }
  if (!std::is_sorted(found.begin(), found.end())) std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
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

HttpResponse Api::LabelValues(const HttpRequest& req, const std::string& name_in_path) {
  const std::string name = UnescapeLabelNameInPath(name_in_path);
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
  const ingest::Ingester::MetadataMap metadata = ingester_.Metadata();
  JsonWriter w;
  w.BeginObject();
  int64_t n = 0;
  for (const auto& [name, entries] : metadata) {
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

}  // namespace ember::server
