#include "ingest/text_format.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ingest/line_cursor.h"
#include "ingest/parse_number.h"
#include "util/quote.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace ember::ingest {
namespace {

using util::QuoteInput;

// Prometheus's lexer treats only these as blanks inside a line.
constexpr bool IsSpace(char c) { return c == ' ' || c == '\t'; }
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool IsMetricNameStart(char c) { return IsAlpha(c) || c == '_' || c == ':'; }
// A table: the scan of every sample line's name is the parser's hottest loop.
constexpr std::array<bool, 256> kMetricNameChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[c] = IsMetricNameStart(static_cast<char>(c)) || IsDigit(static_cast<char>(c));
  return t;
}();
bool IsMetricNameChar(char c) { return kMetricNameChar[static_cast<unsigned char>(c)]; }
bool IsLabelNameStart(char c) { return IsAlpha(c) || c == '_'; }
bool IsLabelNameChar(char c) { return IsLabelNameStart(c) || IsDigit(c); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// `'c'` for a message about one byte; C-escaped unless printable ASCII.
std::string QuoteChar(char c) {
  if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') return std::string{'\'', c, '\''};
  return absl::StrCat("'", absl::CHexEscape(util::AsAbsl(std::string_view(&c, 1))), "'");
}

// A sample value as Go's strconv.ParseFloat reads it, less hex floats: case-insensitive NaN,
// [+-]Inf and [+-]Infinity, or a decimal number.
bool ParseSampleValue(std::string_view s, double* v) {
  // Most values are counts: up to 15 digits are exact in a double, as strconv reads them.
  if (s.size() <= 15 && !s.empty()) {
    uint64_t n = 0;
    size_t i = 0;
    while (i < s.size() && IsDigit(s[i])) n = n * 10 + static_cast<uint64_t>(s[i++] - '0');
    if (i == s.size()) {
      *v = static_cast<double>(n);
      return true;
    }
  }
  std::string_view rest = s;
  bool negative = false;
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  if (!rest.empty() && IsAlpha(rest[0])) {
    if (EqualsIgnoreCase(rest, "inf") || EqualsIgnoreCase(rest, "infinity")) {
      *v = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
      return true;
    }
    // Go takes no sign on NaN.
    if (rest.size() == s.size() && EqualsIgnoreCase(rest, "nan")) {
      *v = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    return false;
  }
  return ParseDecimalDouble(s, v);
}

// OpenMetrics timestamps are float seconds. A plain decimal ("1700000000.123") is converted
// exactly, since the double nearest it may sit just below the millisecond; other forms
// ("1.7e9") go through a double. Both round half away from zero.
bool ParseSecondsAsMs(std::string_view s, int64_t* ms) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  const size_t int_begin = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  const size_t int_end = i;
  size_t frac_begin = i;
  size_t frac_end = i;
  if (i < s.size() && s[i] == '.') {
    frac_begin = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    frac_end = i;
  }
  if (i == s.size() && (int_end > int_begin || frac_end > frac_begin)) {
    int64_t total = 0;
    for (size_t k = int_begin; k < int_end; ++k) {
      if (__builtin_mul_overflow(total, 10, &total) ||
          __builtin_add_overflow(total, s[k] - '0', &total)) {
        return false;
      }
    }
    int64_t millis = 0;
    for (size_t k = 0; k < 3; ++k) {
      const size_t at = frac_begin + k;
      millis = millis * 10 + (at < frac_end ? s[at] - '0' : 0);
    }
    const bool round_up = frac_begin + 3 < frac_end && s[frac_begin + 3] >= '5';
    if (__builtin_mul_overflow(total, 1000, &total) ||
        __builtin_add_overflow(total, millis + (round_up ? 1 : 0), &total)) {
      return false;
    }
    *ms = negative ? -total : total;
    return true;
  }
  double seconds = 0;
  if (!ParseDecimalDouble(s, &seconds)) return false;
  const double rounded = std::round(seconds * 1000);
  // 2^63 itself does not fit; every double below it does.
  if (!(std::fabs(rounded) < 0x1p63)) return false;
  *ms = static_cast<int64_t>(rounded);
  return true;
}

// The types each format defines, as Prometheus's parsers take them: 0.0.4 says "untyped",
// OpenMetrics "unknown" and adds three of its own.
constexpr std::string_view kTextTypes[] = {"counter", "gauge", "histogram", "summary", "untyped"};
constexpr std::string_view kOpenMetricsTypes[] = {"counter", "gauge", "histogram", "gaugehistogram",
                                                  "summary", "info",  "stateset",  "unknown"};

bool IsKnownMetricType(std::string_view type, bool openmetrics) {
  for (std::string_view t : openmetrics ? std::span<const std::string_view>(kOpenMetricsTypes)
                                        : std::span<const std::string_view>(kTextTypes)) {
    if (type == t) return true;
  }
  return false;
}

// Parses one body into a batch, or into a sink (then `out` is null and no metadata is kept).
// Lines are views into the body; the only allocations are the output's.
class TextParser {
 public:
  TextParser(std::string_view body, const TextFormatOptions& options, DecodedBatch* out,
             TextSampleSink* sink)
      : lines_(body), options_(options), out_(out), sink_(sink) {}

  absl::Status Parse();

 private:
  absl::Status ParseLine();
  absl::Status ParseComment();
  absl::Status ParseMetadata(std::string_view keyword);
  absl::Status ParseSample();
  // REQUIRES: p_ is at a sample line's first byte. The series text (TextSampleSink::Known) as
  // far as a quick scan can tell, without checking the label set's syntax: names, quoted
  // strings with their escapes, up to the first '}' outside quotes. "" when the line ends
  // first or the name is followed by something the syntax does not allow.
  std::string_view ScanSeriesText() const;
  absl::Status ParseExemplar();
  // REQUIRES: *p_ == '{'. Labels go to `labels`, or nowhere when it is null (exemplars). A
  // quoted string without '=' names the metric (Prometheus 3.x) when `have_name` is not null.
  absl::Status ReadLabelSet(Labels* labels, bool* have_name);
  // REQUIRES: *p_ == '"'. Unescapes into `*out` unless it is null; `what` names the string.
  absl::Status ReadQuoted(std::string* out, std::string_view what);
  // The metadata entry of `metric`, created on first sight.
  MetricMetadata& Family(std::string_view metric);

  void SkipSpaces() {
    while (p_ < end_ && IsSpace(*p_)) ++p_;
  }
  // The bytes from p_ up to the next blank or the end of the line; p_ moves past them.
  std::string_view ReadToken() {
    const char* begin = p_;
    while (p_ < end_ && !IsSpace(*p_)) ++p_;
    return std::string_view(begin, static_cast<size_t>(p_ - begin));
  }
  absl::Status Error(const char* at, std::string_view reason) const {
    return lines_.Error(at, reason);
  }

  LineCursor lines_;
  const TextFormatOptions& options_;
  DecodedBatch* const out_;
  TextSampleSink* const sink_;
  Labels labels_;  // The sink's lines' labels, when parsed.

  const char* p_ = nullptr;  // In lines_.line().
  const char* end_ = nullptr;
  bool seen_eof_ = false;

  absl::flat_hash_map<std::string, size_t> families_;  // Metric -> index in out_->metadata.
  std::string scratch_;                                // Unescaped quoted metadata names.
};

absl::Status TextParser::Parse() {
  if (out_ != nullptr) out_->kind = PositionKind::kLine;
  while (lines_.Next()) {
    p_ = lines_.line().data();
    end_ = p_ + lines_.line().size();
    EMBER_RETURN_IF_ERROR(lines_.CheckLength(options_.max_line_bytes));
    EMBER_RETURN_IF_ERROR(ParseLine());
  }
  if (options_.openmetrics && !seen_eof_) {
    return lines_.ErrorAtEnd("missing \"# EOF\" at the end of OpenMetrics text");
  }
  return absl::OkStatus();
}

absl::Status TextParser::ParseLine() {
  SkipSpaces();
  if (p_ == end_) return absl::OkStatus();
  if (seen_eof_) return Error(p_, "unexpected content after \"# EOF\"");
  if (*p_ == '#') return ParseComment();
  return ParseSample();
}

absl::Status TextParser::ParseComment() {
  ++p_;  // '#'
  SkipSpaces();
  const std::string_view rest(p_, static_cast<size_t>(end_ - p_));
  // A keyword counts only when followed by a blank: "# HELPFUL" and "# HELP" are comments.
  for (std::string_view keyword : {"HELP", "TYPE", "UNIT"}) {
    if (keyword == "UNIT" && !options_.openmetrics) break;
    if (rest.size() > keyword.size() && rest.substr(0, keyword.size()) == keyword &&
        IsSpace(rest[keyword.size()])) {
      p_ += keyword.size();
      return ParseMetadata(keyword);
    }
  }
  if (options_.openmetrics && rest.substr(0, 3) == "EOF") {
    const char* after = p_ + 3;
    while (after < end_ && IsSpace(*after)) ++after;
    if (after == end_) seen_eof_ = true;
  }
  return absl::OkStatus();
}

absl::Status TextParser::ParseMetadata(std::string_view keyword) {
  SkipSpaces();
  std::string_view metric;
  if (p_ < end_ && *p_ == '"') {
    EMBER_RETURN_IF_ERROR(ReadQuoted(&scratch_, "metric name"));
    metric = scratch_;
  } else if (p_ < end_ && IsMetricNameStart(*p_)) {
    const char* begin = p_;
    while (p_ < end_ && IsMetricNameChar(*p_)) ++p_;
    metric = std::string_view(begin, static_cast<size_t>(p_ - begin));
  } else {
    return Error(p_, absl::StrFormat("expected metric name after %s", keyword));
  }
  if (p_ < end_ && !IsSpace(*p_)) {
    return Error(p_, absl::StrFormat("unexpected character %s after metric name %s", QuoteChar(*p_),
                                     QuoteInput(metric)));
  }
  if (out_ == nullptr && keyword != "TYPE") return absl::OkStatus();  // Nothing more to check.
  MetricMetadata* const family = out_ != nullptr ? &Family(metric) : nullptr;
  if (keyword == "HELP") {
    // One blank separates name and text; the text keeps any further ones, as Prometheus does.
    if (p_ < end_) ++p_;
    family->help.clear();
    while (p_ < end_) {
      const char c = *p_++;
      if (c != '\\' || p_ == end_) {
        family->help.push_back(c);
        continue;
      }
      // 0.0.4 escapes \\ and \n in help; OpenMetrics also \". Anything else stays as written.
      const char e = *p_;
      if (e == 'n') {
        family->help.push_back('\n');
        ++p_;
      } else if (e == '\\' || (e == '"' && options_.openmetrics)) {
        family->help.push_back(e);
        ++p_;
      } else {
        family->help.push_back('\\');
      }
    }
    return absl::OkStatus();
  }
  SkipSpaces();
  const char* value_at = p_;
  const char* value_end = end_;
  while (value_end > p_ && IsSpace(value_end[-1])) --value_end;
  const std::string_view value(p_, static_cast<size_t>(value_end - p_));
  if (keyword == "TYPE") {
    if (value.empty()) return Error(value_at, "missing metric type after TYPE");
    if (!IsKnownMetricType(value, options_.openmetrics)) {
      return Error(value_at,
                   absl::StrFormat("invalid metric type %s (%s knows %s)", QuoteInput(value),
                                   options_.openmetrics ? "OpenMetrics" : "text format 0.0.4",
                                   options_.openmetrics
                                       ? "counter, gauge, histogram, gaugehistogram, summary, "
                                         "info, stateset, unknown"
                                       : "counter, gauge, histogram, summary, untyped"));
    }
    // Prometheus records 0.0.4's "untyped" as "unknown", OpenMetrics's word for it.
    if (family != nullptr) {
      family->type = value == "untyped" ? std::string("unknown") : std::string(value);
    }
  } else {
    family->unit.assign(value);
  }
  return absl::OkStatus();
}

MetricMetadata& TextParser::Family(std::string_view metric) {
  auto it = families_.find(util::AsAbsl(metric));
  if (it == families_.end()) {
    it = families_.emplace(std::string(metric), out_->metadata.size()).first;
    out_->metadata.emplace_back().metric.assign(metric);
  }
  return out_->metadata[it->second];
}

std::string_view TextParser::ScanSeriesText() const {
  const char* q = p_;
  if (IsMetricNameStart(*q)) {
    while (q < end_ && IsMetricNameChar(*q)) ++q;
    const std::string_view name(p_, static_cast<size_t>(q - p_));
    if (q < end_ && !IsSpace(*q) && *q != '{') return {};
    while (q < end_ && IsSpace(*q)) ++q;
    if (q == end_ || *q != '{') return name;
  } else if (*q != '{') {
    return {};
  }
  for (++q; q < end_; ++q) {
    if (*q == '}') return std::string_view(p_, static_cast<size_t>(q + 1 - p_));
    if (*q != '"') continue;
    for (++q; q < end_ && *q != '"'; ++q) {
      if (*q == '\\') ++q;
    }
    if (q >= end_) return {};
  }
  return {};
}

absl::Status TextParser::ParseSample() {
  const char* const start = p_;
  Labels* labels = nullptr;
  std::string_view series;  // For the sink.
  if (sink_ != nullptr) {
    series = ScanSeriesText();
    if (!series.empty() && sink_->Known(series)) {
      p_ += series.size();
      SkipSpaces();
    } else {
      labels_.clear();
      labels = &labels_;
    }
  } else {
    DecodedSeries& s = out_->series.emplace_back();
    s.position = lines_.line_no();
    labels = &s.labels;
  }
  if (labels != nullptr) {
    // Each label has an '=' (values may hold more): one allocation instead of a doubling series.
    labels->reserve(1 + static_cast<size_t>(std::count(p_, end_, '=')) +
                    options_.extra_labels.size());
    bool have_name = false;
    if (IsMetricNameStart(*p_)) {
      const char* begin = p_;
      while (p_ < end_ && IsMetricNameChar(*p_)) ++p_;
      const std::string_view name(begin, static_cast<size_t>(p_ - begin));
      if (p_ < end_ && !IsSpace(*p_) && *p_ != '{') {
        return Error(p_, absl::StrFormat("unexpected character %s after metric name %s",
                                         QuoteChar(*p_), QuoteInput(name)));
      }
      labels->push_back(Label{std::string(kMetricNameLabel), std::string(name)});
      have_name = true;
      series = name;
      SkipSpaces();
    } else if (*p_ != '{') {
      return Error(p_, absl::StrFormat("expected metric name or '{', got %s", QuoteChar(*p_)));
    }
    if (p_ < end_ && *p_ == '{') {
      EMBER_RETURN_IF_ERROR(ReadLabelSet(labels, &have_name));
      series = std::string_view(start, static_cast<size_t>(p_ - start));
      SkipSpaces();
    }
    if (!have_name) return Error(start, "missing metric name");
  }

  const std::string_view value_text = ReadToken();
  if (value_text.empty()) return Error(p_, "missing value");
  Sample sample{options_.default_timestamp_ms, 0};
  if (!ParseSampleValue(value_text, &sample.v)) {
    return Error(value_text.data(), absl::StrFormat("invalid value %s", QuoteInput(value_text)));
  }
  SkipSpaces();
  if (p_ < end_ && !(options_.openmetrics && *p_ == '#')) {
    const std::string_view ts_text = ReadToken();
    const bool ok = options_.openmetrics ? ParseSecondsAsMs(ts_text, &sample.t)
                                         : ParseDecimalInt64(ts_text, &sample.t);
    if (!ok) {
      return Error(ts_text.data(), absl::StrFormat("invalid timestamp %s", QuoteInput(ts_text)));
    }
    SkipSpaces();
  }
  if (p_ < end_) {
    if (options_.openmetrics && *p_ == '#') {
      EMBER_RETURN_IF_ERROR(ParseExemplar());
    } else {
      const std::string_view extra(p_, static_cast<size_t>(end_ - p_));
      return Error(p_,
                   absl::StrFormat("unexpected text %s after the timestamp", QuoteInput(extra)));
    }
  }
  if (labels != nullptr) {
    for (const Label& extra : options_.extra_labels) {
      bool replaced = false;
      for (Label& label : *labels) {
        if (label.name == extra.name) {
          label.value = extra.value;
          replaced = true;
        }
      }
      if (!replaced) labels->push_back(extra);
    }
  }
  if (sink_ != nullptr) {
    sink_->Add(series, labels, sample, lines_.line_no());
  } else {
    out_->series.back().samples.push_back(sample);
  }
  return absl::OkStatus();
}

// ` # {trace_id="x"} 1.0 [ts]`: checked for shape, then dropped (Ember stores no exemplars).
absl::Status TextParser::ParseExemplar() {
  ++p_;  // '#'
  SkipSpaces();
  if (p_ == end_ || *p_ != '{') return Error(p_, "expected '{' to open the exemplar's labels");
  EMBER_RETURN_IF_ERROR(ReadLabelSet(nullptr, nullptr));
  SkipSpaces();
  const std::string_view value_text = ReadToken();
  if (value_text.empty()) return Error(p_, "missing exemplar value");
  double value = 0;
  if (!ParseSampleValue(value_text, &value)) {
    return Error(value_text.data(),
                 absl::StrFormat("invalid exemplar value %s", QuoteInput(value_text)));
  }
  SkipSpaces();
  if (p_ == end_) return absl::OkStatus();
  const std::string_view ts_text = ReadToken();
  int64_t t = 0;
  if (!ParseSecondsAsMs(ts_text, &t)) {
    return Error(ts_text.data(),
                 absl::StrFormat("invalid exemplar timestamp %s", QuoteInput(ts_text)));
  }
  SkipSpaces();
  if (p_ < end_) {
    const std::string_view extra(p_, static_cast<size_t>(end_ - p_));
    return Error(p_, absl::StrFormat("unexpected text %s after the exemplar", QuoteInput(extra)));
  }
  return absl::OkStatus();
}

absl::Status TextParser::ReadLabelSet(Labels* labels, bool* have_name) {
  ++p_;  // '{'
  while (true) {
    SkipSpaces();
    if (p_ == end_) return Error(p_, "unterminated label set, expected '}'");
    if (*p_ == '}') {
      ++p_;
      return absl::OkStatus();
    }
    const char* const name_at = p_;
    Label* label = labels != nullptr ? &labels->emplace_back() : nullptr;
    std::string_view name;  // As written, for messages.
    bool quoted = false;
    if (*p_ == '"') {
      EMBER_RETURN_IF_ERROR(ReadQuoted(label != nullptr ? &label->name : nullptr, "label name"));
      name = std::string_view(name_at + 1, static_cast<size_t>(p_ - name_at - 2));
      quoted = true;
    } else if (IsLabelNameStart(*p_)) {
      while (p_ < end_ && IsLabelNameChar(*p_)) ++p_;
      name = std::string_view(name_at, static_cast<size_t>(p_ - name_at));
      if (label != nullptr) label->name.assign(name);
    } else {
      return Error(p_, absl::StrFormat("expected label name or '}', got %s", QuoteChar(*p_)));
    }
    SkipSpaces();
    if (quoted && have_name != nullptr && p_ < end_ && (*p_ == ',' || *p_ == '}')) {
      // {"my.metric", job="x"}: a lone quoted string is the metric name (Prometheus 3.x).
      if (*have_name) return Error(name_at, "metric name given twice");
      *have_name = true;
      label->value = std::move(label->name);
      label->name.assign(kMetricNameLabel);
    } else {
      if (p_ == end_ || *p_ != '=') {
        return Error(p_, absl::StrFormat("expected '=' after label name %s", QuoteInput(name)));
      }
      ++p_;
      SkipSpaces();
      if (p_ == end_ || *p_ != '"') {
        return Error(
            p_, absl::StrFormat("expected '\"' to open the value of label %s", QuoteInput(name)));
      }
      EMBER_RETURN_IF_ERROR(ReadQuoted(label != nullptr ? &label->value : nullptr, "label value"));
      SkipSpaces();
    }
    if (p_ == end_) return Error(p_, "unterminated label set, expected '}'");
    if (*p_ == '}') {
      ++p_;
      return absl::OkStatus();
    }
    if (*p_ != ',') {
      return Error(p_, absl::StrFormat("expected ',' or '}' after label %s, got %s",
                                       QuoteInput(name), QuoteChar(*p_)));
    }
    ++p_;  // A trailing comma before '}' is fine.
  }
}

absl::Status TextParser::ReadQuoted(std::string* out, std::string_view what) {
  const char* const open = p_++;
  if (out != nullptr) out->clear();
  const char* run = p_;  // Start of the bytes not yet copied to *out.
  while (true) {
    while (p_ < end_ && *p_ != '"' && *p_ != '\\') ++p_;
    if (p_ == end_) return Error(open, absl::StrFormat("unterminated %s", what));
    if (out != nullptr) out->append(run, p_);
    if (*p_ == '"') {
      ++p_;
      return absl::OkStatus();
    }
    if (p_ + 1 == end_) return Error(open, absl::StrFormat("unterminated %s", what));
    const char e = p_[1];
    char unescaped;
    switch (e) {
      case '\\':
      case '"':
        unescaped = e;
        break;
      case 'n':
        unescaped = '\n';
        break;
      default:
        return Error(
            p_, absl::StrFormat("invalid escape \\%s in %s",
                                absl::CHexEscape(util::AsAbsl(std::string_view(&e, 1))), what));
    }
    if (out != nullptr) out->push_back(unescaped);
    p_ += 2;
    run = p_;
  }
}

}  // namespace

absl::Status ParseTextFormat(std::string_view body, const TextFormatOptions& options,
                             DecodedBatch* out) {
  return TextParser(body, options, out, nullptr).Parse();
}

absl::Status ParseTextFormat(std::string_view body, const TextFormatOptions& options,
                             TextSampleSink* sink) {
  return TextParser(body, options, nullptr, sink).Parse();
}

}  // namespace ember::ingest
