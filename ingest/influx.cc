#include "ingest/influx.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "ingest/line_cursor.h"
#include "ingest/parse_number.h"
#include "util/quote.h"
#include "util/status_macros.h"

namespace ember::ingest {
namespace {

using util::QuoteInput;

constexpr int64_t kNanosPerMilli = 1'000'000;

// A measurement ends at an unescaped comma or space; a tag key, tag value or field key also at
// an unescaped equals sign (a stray one in a tag value is an error rather than data).
enum class Element { kMeasurement, kKeyOrTagValue };

bool EndsElement(Element element, char c) {
  if (c == ',' || c == ' ') return true;
  return c == '=' && element == Element::kKeyOrTagValue;
}

// Escapable after a backslash: whatever ends the element, and the backslash itself ("a\\b" is
// `a\b`). Any other backslash is literal, as in InfluxDB.
bool IsEscapable(Element element, char c) { return c == '\\' || EndsElement(element, c); }

// A numeric or boolean field value: 12i, 12u, a float, or t/T/true/True/TRUE, f/F/false/...
bool ParseFieldValue(std::string_view s, double* v) {
  if (s == "t" || s == "T" || s == "true" || s == "True" || s == "TRUE") {
    *v = 1;
    return true;
  }
  if (s == "f" || s == "F" || s == "false" || s == "False" || s == "FALSE") {
    *v = 0;
    return true;
  }
  const std::string_view digits = s.substr(0, s.size() - 1);
  if (s.back() == 'i') {
    int64_t i = 0;
    if (!ParseDecimalInt64(digits, &i)) return false;
    *v = static_cast<double>(i);
    return true;
  }
  if (s.back() == 'u') {
    uint64_t u = 0;
    if (!ParseDecimalUint64(digits, &u)) return false;
    *v = static_cast<double>(u);
    return true;
  }
  // InfluxDB takes neither NaN nor Inf, which ParseDecimalDouble refuses too.
  return ParseDecimalDouble(s, v);
}

// Parses one body; lines are views into it. Tag storage is reused from line to line, so the
// allocations are the output's.
class InfluxParser {
 public:
  InfluxParser(std::string_view body, const InfluxOptions& options, DecodedBatch* out)
      : lines_(body), options_(options), out_(out) {}

  absl::Status Parse();

 private:
  absl::Status ParseLine();
  // The raw bytes of an element from p_ up to an unescaped end; p_ stops on the end byte.
  std::string_view ScanElement(Element element);
  void Unescape(Element element, std::string_view raw, std::string* out);
  void AddSeries(std::string_view field, double value);

  absl::Status Error(const char* at, std::string_view reason) const {
    return lines_.Error(at, reason);
  }

  LineCursor lines_;
  const InfluxOptions& options_;
  DecodedBatch* const out_;

  const char* p_ = nullptr;  // In lines_.line().
  const char* end_ = nullptr;

  std::string measurement_;
  Labels tags_;  // The first num_tags_ entries hold this line's tags.
  size_t num_tags_ = 0;
  std::string field_;
};

absl::Status InfluxParser::Parse() {
  if (options_.ns_per_unit <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ns_per_unit must be positive, got %d", options_.ns_per_unit));
  }
  out_->kind = PositionKind::kLine;
  while (lines_.Next()) {
    p_ = lines_.line().data();
    end_ = p_ + lines_.line().size();
    EMBER_RETURN_IF_ERROR(lines_.CheckLength(options_.max_line_bytes));
    EMBER_RETURN_IF_ERROR(ParseLine());
  }
  return absl::OkStatus();
}

std::string_view InfluxParser::ScanElement(Element element) {
  const char* begin = p_;
  while (p_ < end_ && !EndsElement(element, *p_)) {
    // An escaped byte never ends the element.
    p_ += (*p_ == '\\' && p_ + 1 < end_ && IsEscapable(element, p_[1])) ? 2 : 1;
  }
  return std::string_view(begin, static_cast<size_t>(p_ - begin));
}

void InfluxParser::Unescape(Element element, std::string_view raw, std::string* out) {
  if (raw.find('\\') == std::string_view::npos) {
    out->assign(raw);
    return;
  }
  out->clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && IsEscapable(element, raw[i + 1])) ++i;
    out->push_back(raw[i]);
  }
}

absl::Status InfluxParser::ParseLine() {
  while (p_ < end_ && (*p_ == ' ' || *p_ == '\t')) ++p_;
  if (p_ == end_ || *p_ == '#') return absl::OkStatus();

  const std::string_view measurement = ScanElement(Element::kMeasurement);
  if (measurement.empty()) return Error(p_, "missing measurement");
  Unescape(Element::kMeasurement, measurement, &measurement_);

  num_tags_ = 0;
  while (p_ < end_ && *p_ == ',') {
    ++p_;
    const std::string_view key = ScanElement(Element::kKeyOrTagValue);
    if (key.empty()) return Error(p_, "missing tag key");
    if (p_ == end_ || *p_ != '=') {
      return Error(p_, absl::StrFormat("expected '=' after tag key %s", QuoteInput(key)));
    }
    ++p_;
    const std::string_view value = ScanElement(Element::kKeyOrTagValue);
    if (p_ < end_ && *p_ == '=') {
      return Error(p_, absl::StrFormat("unescaped '=' in the value of tag %s", QuoteInput(key)));
    }
    if (value.empty()) {
      return Error(p_, absl::StrFormat("missing value for tag %s", QuoteInput(key)));
    }
    if (num_tags_ == tags_.size()) tags_.emplace_back();
    Label& tag = tags_[num_tags_++];
    Unescape(Element::kKeyOrTagValue, key, &tag.name);
    Unescape(Element::kKeyOrTagValue, value, &tag.value);
  }

  // p_ is at the end or on the space before the field set.
  while (p_ < end_ && *p_ == ' ') ++p_;
  if (p_ == end_) return Error(p_, "missing field set");

  const size_t first_series = out_->series.size();
  while (true) {
    const std::string_view key = ScanElement(Element::kKeyOrTagValue);
    if (key.empty()) return Error(p_, "missing field key");
    if (p_ == end_ || *p_ != '=') {
      return Error(p_, absl::StrFormat("expected '=' after field key %s", QuoteInput(key)));
    }
    ++p_;
    const char* const value_at = p_;
    if (p_ < end_ && *p_ == '"') {
      // A string field: stored nowhere, but it must end, honouring \" and \\.
      ++p_;
      while (p_ < end_ && *p_ != '"') p_ += (*p_ == '\\' && p_ + 1 < end_) ? 2 : 1;
      if (p_ >= end_) {
        return Error(value_at,
                     absl::StrFormat("unterminated string value for field %s", QuoteInput(key)));
      }
      ++p_;
    } else {
      while (p_ < end_ && *p_ != ',' && *p_ != ' ') ++p_;
      const std::string_view text(value_at, static_cast<size_t>(p_ - value_at));
      if (text.empty()) {
        return Error(value_at, absl::StrFormat("missing value for field %s", QuoteInput(key)));
      }
      double value = 0;
      if (!ParseFieldValue(text, &value)) {
        return Error(value_at, absl::StrFormat("invalid field value %s for field %s",
                                               QuoteInput(text), QuoteInput(key)));
      }
      Unescape(Element::kKeyOrTagValue, key, &field_);
      AddSeries(field_, value);
    }
    if (p_ < end_ && *p_ == ',') {
      ++p_;
      continue;
    }
    if (p_ < end_ && *p_ != ' ') {
      return Error(
          p_, absl::StrFormat("expected ',' or ' ' after the value of field %s", QuoteInput(key)));
    }
    break;
  }

  int64_t t_ms = options_.default_timestamp_ms;
  while (p_ < end_ && *p_ == ' ') ++p_;
  if (p_ < end_) {
    const char* const ts_at = p_;
    while (p_ < end_ && *p_ != ' ') ++p_;
    const std::string_view text(ts_at, static_cast<size_t>(p_ - ts_at));
    int64_t t = 0;
    if (!ParseDecimalInt64(text, &t)) {
      return Error(ts_at, absl::StrFormat("invalid timestamp %s", QuoteInput(text)));
    }
    // Floor division, so a timestamp before 1970 lands in the millisecond that holds it.
    const __int128 ns = static_cast<__int128>(t) * options_.ns_per_unit;
    __int128 ms = ns / kNanosPerMilli;
    if (ns % kNanosPerMilli < 0) --ms;
    if (ms < INT64_MIN || ms > INT64_MAX) {
      return Error(ts_at, absl::StrFormat("timestamp %d out of range (%d ns per unit)", t,
                                          options_.ns_per_unit));
    }
    t_ms = static_cast<int64_t>(ms);
    while (p_ < end_ && *p_ == ' ') ++p_;
    if (p_ < end_) {
      const std::string_view extra(p_, static_cast<size_t>(end_ - p_));
      return Error(p_,
                   absl::StrFormat("unexpected text %s after the timestamp", QuoteInput(extra)));
    }
  }
  for (size_t i = first_series; i < out_->series.size(); ++i) {
    out_->series[i].samples.front().t = t_ms;
  }
  return absl::OkStatus();
}

void InfluxParser::AddSeries(std::string_view field, double value) {
  DecodedSeries& series = out_->series.emplace_back();
  series.position = lines_.line_no();
  series.samples.push_back(Sample{0, value});  // The timestamp comes at the end of the line.
  Labels& labels = series.labels;
  labels.reserve(1 + num_tags_ + options_.extra_labels.size());
  Label& name = labels.emplace_back();
  name.name.assign(kMetricNameLabel);
  name.value.reserve(measurement_.size() + 1 + field.size());
  name.value.append(measurement_).append(1, '_').append(field);
  labels.insert(labels.end(), tags_.begin(), tags_.begin() + static_cast<ptrdiff_t>(num_tags_));
  for (const Label& extra : options_.extra_labels) {
    bool replaced = false;
    for (size_t i = 1; i < labels.size(); ++i) {
      if (labels[i].name == extra.name) {
        labels[i].value = extra.value;
        replaced = true;
      }
    }
    if (!replaced) labels.push_back(extra);
  }
}

}  // namespace

absl::StatusOr<int64_t> InfluxPrecision(std::string_view precision) {
  struct Unit {
    std::string_view name;
    int64_t ns;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"n", 1},
      {"ns", 1},
      {"u", 1'000},
      {"us", 1'000},
      {"\xC2\xB5", 1'000},  // µ, U+00B5 MICRO SIGN.
      {"ms", 1'000'000},
      {"s", 1'000'000'000},
      {"m", 60'000'000'000},
      {"h", 3'600'000'000'000},
  };
  for (const Unit& unit : kUnits) {
    if (precision == unit.name) return unit.ns;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "invalid precision %s: want n, ns, u, us, \xC2\xB5, ms, s, m or h", QuoteInput(precision)));
}

absl::Status ParseInfluxLines(std::string_view body, const InfluxOptions& options,
                              DecodedBatch* out) {
  return InfluxParser(body, options, out).Parse();
}

}  // namespace ember::ingest
