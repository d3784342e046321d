#include "server/api/api.h"

#include <chrono>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/api/api_response.h"
#include "server/http/json.h"
#include "server/metrics/self_metrics.h"
#include "server/version.h"
#include "util/clock.h"

namespace ember::server {
namespace {

constexpr absl::string_view kLabelValuesPrefix = "/api/v1/label/";
constexpr absl::string_view kLabelValuesSuffix = "/values";

}  // namespace

Api::~Api() {
  // Its tasks use the members below: they finish (or are rejected) while those still exist.
  if (own_executor_ != nullptr) own_executor_->Stop();
}

Api::Api(Db* db, ApiOptions options, MetricsRegistry* metrics, query::QueryExecutor* executor)
    : db_(db),
      options_(std::move(options)),
      ingester_(db),
      own_executor_(executor == nullptr
                        ? std::make_unique<query::QueryExecutor>(query::ExecutorOptions{})
                        : nullptr),
      executor_(executor != nullptr ? executor : own_executor_.get()),
      metrics_(metrics),
      start_time_ms_(util::NowMs()) {
  options_.engine.memory_in_use = executor_->memory_in_use();
  // The families in the order /metrics has always listed them.
  RegisterExecutorMetrics(executor_, metrics_);
  requests_ = metrics_->AddCounter("ember_http_requests_total",
                                   "HTTP requests served, by handler and status code.",
                                   {"handler", "code"});
  request_duration_ = metrics_->AddHistogram("ember_http_request_duration_seconds",
                                             "Time to answer an HTTP request, by handler.",
                                             {"handler"}, DurationBuckets());
  RegisterIngestMetrics(&ingester_, metrics_);
  query_duration_ = metrics_->AddHistogram("ember_query_duration_seconds",
                                           "PromQL evaluation time, by kind (instant, range).",
                                           {"kind"}, DurationBuckets());
  RegisterDbAndProcessMetrics(db_, start_time_ms_, metrics_);
  AddRoutes();
}

void Api::AddRoutes() {
  // Route{handler label, methods, runs on the query executor, handler}.
  auto add = [this](std::string path, Methods methods, bool on_executor,
                    std::function<HttpResponse(const HttpRequest&, Call*)> handle) {
    routes_[path] = Route{path, methods, on_executor, std::move(handle)};
  };
  auto plain = [](std::function<HttpResponse(const HttpRequest&)> f) {
    return [f = std::move(f)](const HttpRequest& r, Call*) { return f(r); };
  };
  auto fixed = [](std::function<HttpResponse()> f) {
    return [f = std::move(f)](const HttpRequest&, Call*) { return f(); };
  };
  // Queries (api_query.cc).
  add("/api/v1/query", Methods::kGetOrPost, true,
      [this](const HttpRequest& r, Call* c) { return Query(r, c); });
  add("/api/v1/query_range", Methods::kGetOrPost, true,
      [this](const HttpRequest& r, Call* c) { return QueryRange(r, c); });
  add("/api/v1/format_query", Methods::kGetOrPost, false,
      plain([this](const HttpRequest& r) { return FormatQuery(r); }));
  add("/api/v1/query_exemplars", Methods::kAny, false, fixed([] { return Success("[]"); }));
  // Series, labels, metadata (api_series.cc).
  add("/api/v1/series", Methods::kAny, true, plain([this](const HttpRequest& r) {
        if (r.method == "DELETE") {
          return ApiError(ErrorType::kUnavailable, "deleting series is not supported");
        }
        if (r.method != "GET" && r.method != "POST") return MethodNotAllowed();
        return SeriesEndpoint(r);
      }));
  add("/api/v1/labels", Methods::kGetOrPost, true,
      plain([this](const HttpRequest& r) { return LabelNames(r); }));
  label_values_ = Route{"/api/v1/label/:name/values", Methods::kGet, true, nullptr};
  add("/api/v1/metadata", Methods::kGet, false,
      plain([this](const HttpRequest& r) { return Metadata(r); }));
  // Status (api_status.cc).
  add("/api/v1/status/buildinfo", Methods::kAny, false, fixed([this] { return BuildInfo(); }));
  add("/api/v1/status/runtimeinfo", Methods::kAny, false, fixed([this] { return RuntimeInfo(); }));
  add("/api/v1/status/tsdb", Methods::kAny, true,
      plain([this](const HttpRequest& r) { return TsdbStatus(r); }));
  add("/api/v1/status/flags", Methods::kAny, false, fixed([this] { return Flags(); }));
  add("/api/v1/status/config", Methods::kAny, false, fixed([] {
        JsonWriter w;
        w.BeginObject().Key("yaml").String("").EndObject();
        return Success(w.str());
      }));
  add("/api/v1/rules", Methods::kAny, false,
      plain([this](const HttpRequest& r) { return Rules(r); }));
  add("/api/v1/alerts", Methods::kAny, false, fixed([this] { return Alerts(); }));
  add("/-/reload", Methods::kPostOrPut, false, fixed([this] { return Reload(); }));
  add("/api/v1/targets", Methods::kAny, false, fixed([this] { return Targets(); }));
  add("/api/v1/alertmanagers", Methods::kAny, false,
      fixed([] { return Success("{\"activeAlertmanagers\":[],\"droppedAlertmanagers\":[]}"); }));
  add("/metrics", Methods::kAny, false, fixed([this] { return MetricsPage(); }));
  add("/-/healthy", Methods::kAny, false,
      fixed([] { return PlainText(200, "Ember is Healthy.\n"); }));
  add("/-/ready", Methods::kAny, false, fixed([this] {
        return ready_.load() ? PlainText(200, "Ember is Ready.\n")
                             : PlainText(503, "Service Unavailable\n");
      }));
  add("/", Methods::kAny, false, fixed([] {
        return PlainText(200, absl::StrCat(VersionLine(), "\nPrometheus HTTP API at /api/v1/\n"));
      }));
  // Ingest doors (api_write.cc).
  add("/api/v1/write", Methods::kPost, false,
      plain([this](const HttpRequest& r) { return RemoteWrite(r); }));
  add("/api/v1/import/prometheus", Methods::kPost, false,
      plain([this](const HttpRequest& r) { return ImportPrometheus(r); }));
  add("/write", Methods::kPost, false,
      plain([this](const HttpRequest& r) { return InfluxWrite(r, /*v2=*/false); }));
  add("/api/v2/write", Methods::kPost, false,
      plain([this](const HttpRequest& r) { return InfluxWrite(r, /*v2=*/true); }));
}

const Api::Route* Api::FindRoute(const std::string& path, std::string* label) const {
  if (auto it = routes_.find(path); it != routes_.end()) return &it->second;
  if (absl::StartsWith(path, kLabelValuesPrefix) && absl::EndsWith(path, kLabelValuesSuffix)) {
    absl::string_view name(path);
    name.remove_prefix(kLabelValuesPrefix.size());
    name.remove_suffix(kLabelValuesSuffix.size());
    label->assign(name.data(), name.size());
    return &label_values_;
  }
  return nullptr;
}

HttpResponse Api::Dispatch(const HttpRequest& req, std::string* handler, Call* call) {
  std::string label;
  const Route* route = FindRoute(req.path, &label);
  if (route == nullptr) {
    *handler = "other";
    if (absl::StartsWith(req.path, "/api/v1/")) {
      return ApiError(ErrorType::kNotFound, absl::StrCat("unknown API endpoint ", req.path));
    }
    return PlainText(404, "404 page not found\n");
  }
  *handler = route->handler;
  const std::string& m = req.method;
  bool allowed = true;
  switch (route->methods) {
    case Methods::kAny:
      break;
    case Methods::kGet:
      allowed = m == "GET";
      break;
    case Methods::kPost:
      allowed = m == "POST";
      break;
    case Methods::kGetOrPost:
      allowed = m == "GET" || m == "POST";
      break;
    case Methods::kPostOrPut:
      allowed = m == "POST" || m == "PUT";
      break;
  }
  if (!allowed) return MethodNotAllowed();
  if (route == &label_values_) return LabelValues(req, label);
  return route->handle(req, call);
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
  std::string label;
  const Route* route = FindRoute(request.path, &label);
  if (route == nullptr || !route->on_executor) {
    std::string handler;
    Call call;
    HttpResponse r = Dispatch(request, &handler, &call);
    Record(handler, r.status, t0);
    reply(std::move(r));
    return;
  }
  auto req = std::make_shared<const HttpRequest>(std::move(request));
  auto response = std::make_shared<HttpResponse>();
  std::shared_ptr<const std::atomic<bool>> cancel = req->cancelled;
  executor_->Submit(
      [this, req, response, t0, route](const absl::Status& admission) -> absl::Status {
        // A fixed label per endpoint, never the client's path (label values' name varies).
        std::string handler = route->handler;
        Call call;
        call.cancel = req->cancelled.get();
        if (!admission.ok()) {
          *response = ApiError(
              absl::IsCancelled(admission) ? ErrorType::kCanceled : ErrorType::kUnavailable,
              admission.message());
          call.outcome = admission;
        } else {
          try {
            *response = Dispatch(*req, &handler, &call);
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

}  // namespace ember::server
