#include "server/api/api_response.h"

#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/http/http_codec.h"
#include "server/http/json.h"

namespace ember::server {
namespace {

const char* ErrorTypeName(ErrorType t) {
  switch (t) {
    case ErrorType::kBadData:
      return "bad_data";
    case ErrorType::kExecution:
      return "execution";
    case ErrorType::kTimeout:
      return "timeout";
    case ErrorType::kCanceled:
      return "canceled";
    case ErrorType::kInternal:
      return "internal";
    case ErrorType::kNotFound:
      return "not_found";
    case ErrorType::kUnavailable:
      return "unavailable";
  }
  return "internal";
}

int ErrorStatus(ErrorType t) {
  switch (t) {
    case ErrorType::kBadData:
      return 400;
    case ErrorType::kExecution:
      return 422;
    case ErrorType::kTimeout:
      return 503;
    case ErrorType::kCanceled:
      return 503;
    case ErrorType::kInternal:
      return 500;
    case ErrorType::kNotFound:
      return 404;
    case ErrorType::kUnavailable:
      return 503;
  }
  return 500;
}

}  // namespace

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
HttpResponse Success(absl::string_view data_json, const std::vector<std::string>& warnings,
                     const std::vector<std::string>& infos) {
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
  if (absl::IsInvalidArgument(s) && (absl::StrContains(s.message(), "parse error") ||
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

HttpResponse MethodNotAllowed() { return PlainText(405, "405 method not allowed\n"); }

// A time parameter, `fallback` when absent or empty.
absl::StatusOr<int64_t> TimeOr(const Params& p, std::string_view name, int64_t fallback) {
  std::optional<std::string> v = p.Get(name);
  if (!v.has_value() || v->empty()) return fallback;
  return ParseTimeParam(*v);
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

}  // namespace ember::server
