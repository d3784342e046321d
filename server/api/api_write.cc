// The ingest doors' HTTP side: /api/v1/write (remote write 1.0 and 2.0),
// /api/v1/import/prometheus (text exposition), /write and /api/v2/write (InfluxDB line
// protocol), and the self-scrape. Decoding, writing, metadata and counting are
// ingest::Ingester's; what is here is content negotiation, parameters and the answers.
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ingest/influx.h"
#include "ingest/ingester.h"
#include "ingest/text_format.h"
#include "server/api/api.h"
#include "server/api/api_response.h"
#include "server/http/json.h"
#include "util/clock.h"
#include "util/status_macros.h"

namespace ember::server {
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
    ingester_.CountBadRequest("remote_write");
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
  ingest::DecodeOptions decode;
  const size_t limit = options_.max_request_body_bytes;
  decode.max_decoded_bytes = limit;
  absl::Status s = ingester_.Decode(
      "remote_write", v2 ? ingest::Format::kRemoteWriteV2 : ingest::Format::kRemoteWriteV1,
      req.body, decode, &batch);
  // A decode failure is counted by the Ingester itself.
  if (absl::IsResourceExhausted(s)) {
    return answer(413, absl::StrCat(s.message(), " (the request body limit, ", limit,
                                    " bytes, applies after decompression too)"));
  }
  if (!s.ok()) return answer(400, s.message());
  s = ingester_.Ingest("remote_write", batch, &stored);
  if (!s.ok()) return answer(IngestErrorStatus(s), s.message());
  return answer(204, "");
}

HttpResponse Api::ImportPrometheus(const HttpRequest& req) {
  absl::StatusOr<Params> params = Params::Parse(req.query, "", "");
  if (!params.ok()) return ApiError(ErrorType::kBadData, params.status().message());
  ingest::DecodeOptions decode;
  ingest::TextFormatOptions& opts = decode.text;
  opts.openmetrics =
      absl::StartsWith(std::string(req.Header("content-type")), "application/openmetrics-text");
  absl::StatusOr<int64_t> ts = TimeOr(*params, "timestamp", util::NowMs());
  if (!ts.ok()) return BadParam("timestamp", ts.status());
  opts.default_timestamp_ms = *ts;
  for (const std::string& el : params->GetAll("extra_label")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(el, absl::MaxSplits('=', 1));
    if (kv.first.empty() || el.find('=') == std::string::npos) {
      return BadParam("extra_label", absl::InvalidArgumentError(
                                         absl::StrCat("expected name=value, got \"", el, "\"")));
    }
    opts.extra_labels.push_back(Label{kv.first, kv.second});
  }
  ingest::DecodedBatch batch;
  if (absl::Status s = ingester_.Decode("import", ingest::Format::kText, req.body, decode, &batch);
      !s.ok()) {
    return ApiError(ErrorType::kBadData, s.message());
  }
  int64_t stored = 0;
  if (absl::Status s = ingester_.Ingest("import", batch, &stored); !s.ok()) {
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
  ingest::DecodeOptions decode;
  ingest::InfluxOptions& opts = decode.influx;
  absl::StatusOr<int64_t> unit = ingest::InfluxPrecision(params->Get("precision").value_or(""));
  if (!unit.ok()) return influx_error(400, unit.status().message());
  opts.ns_per_unit = *unit;
  opts.default_timestamp_ms = util::NowMs();
  const std::string db = params->Get(v2 ? "bucket" : "db").value_or("");
  if (!db.empty()) opts.extra_labels.push_back(Label{"db", db});
  ingest::DecodedBatch batch;
  if (absl::Status s =
          ingester_.Decode("influx", ingest::Format::kInflux, req.body, decode, &batch);
      !s.ok()) {
    return influx_error(400, s.message());
  }
  int64_t stored = 0;
  if (absl::Status s = ingester_.Ingest("influx", batch, &stored); !s.ok()) {
    return influx_error(IngestErrorStatus(s), s.message());
  }
  return PlainText(204, "");
}

absl::Status Api::SelfScrape(int64_t now_ms) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string text = metrics_->Expose();
  ingest::TextFormatOptions opts;
  opts.default_timestamp_ms = now_ms;
  opts.extra_labels = {Label{"job", "ember"}, Label{"instance", options_.instance}};
  ingest::DecodedBatch batch;
  if (absl::Status s = ingest::ParseTextFormat(text, opts, &batch); !s.ok()) {
    return absl::InternalError(
        absl::StrCat("self-scrape: own /metrics does not parse: ", s.message()));
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
  EMBER_RETURN_IF_ERROR(ingester_.Ingest("self_scrape", batch, &stored));
  last_self_scrape_ms_.store(now_ms);
  return absl::OkStatus();
}

}  // namespace ember::server
