#include "server/api/query_json.h"

#include <cstdint>
#include <string_view>

#include "query/value.h"

namespace ember::server {
namespace {

// [1435781451.781,"1"]: Prometheus's pair of a timestamp in seconds and a value as a string.
// Prometheus writes a scalar's or a string's time as float64(t)/1000 through encoding/json
// rather than with its integer formatter; the two agree for |t| < 1e15 ms (15 digits always
// round-trip), so one formatter serves every result type.
void WritePoint(int64_t t_ms, double v, JsonWriter* w) {
  w->BeginArray().PromTimestamp(t_ms).PromValue(v).EndArray();
}

}  // namespace

std::string_view ResultTypeName(query::ValueType t) {
  switch (t) {
    case query::ValueType::kScalar:
      return "scalar";
    case query::ValueType::kVector:
      return "vector";
    case query::ValueType::kMatrix:
      return "matrix";
    case query::ValueType::kString:
      return "string";
    case query::ValueType::kNone:
      break;
  }
  return "none";
}

void WriteLabelsObject(const Labels& labels, JsonWriter* w) {
  w->BeginObject();
  for (const Label& l : labels) w->Key(l.name).String(l.value);
  w->EndObject();
}

bool WriteQueryData(const query::Value& v, JsonWriter* w, const std::atomic<bool>* cancel) {
  // Polled every this many series: often enough to stop within milliseconds.
  constexpr size_t kCancelPollSeries = 256;
  size_t n = 0;
  auto cancelled = [&] {
    return cancel != nullptr && (++n % kCancelPollSeries) == 0 && cancel->load();
  };
  w->BeginObject();
  w->Key("resultType").String(ResultTypeName(v.type));
  w->Key("result");
  switch (v.type) {
    case query::ValueType::kScalar:
      WritePoint(v.t, v.scalar, w);
      break;
    case query::ValueType::kString:
      w->BeginArray().PromTimestamp(v.t).String(v.str).EndArray();
      break;
    case query::ValueType::kVector:
      w->BeginArray();
      for (const query::VectorSample& s : v.vector) {
        if (cancelled()) return false;
        w->BeginObject().Key("metric");
        WriteLabelsObject(s.labels, w);
        w->Key("value");
        WritePoint(s.t, s.v, w);
        w->EndObject();
      }
      w->EndArray();
      break;
    case query::ValueType::kMatrix:
      w->BeginArray();
      for (const query::MatrixSeries& series : v.matrix) {
        if (cancelled()) return false;
        w->BeginObject().Key("metric");
        WriteLabelsObject(series.labels, w);
        if (!series.points.empty()) {
          w->Key("values").BeginArray();
          for (const query::Point& p : series.points) WritePoint(p.t, p.v, w);
          w->EndArray();
        }
        w->EndObject();
      }
      w->EndArray();
      break;
    case query::ValueType::kNone:
      w->Null();
      break;
  }
  w->EndObject();
  return true;
}

}  // namespace ember::server
