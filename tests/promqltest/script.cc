#include "tests/promqltest/script.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/promqltest/notation.h"

namespace ember::promqltest {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsSpace(char c) { return IsBlank(c) || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Splits off the first whitespace-delimited word of `*s`, leaving the rest (leading whitespace
// removed) in `*s`.
std::string_view NextWord(std::string_view* s) {
  size_t end = 0;
  while (end < s->size() && !IsSpace((*s)[end])) ++end;
  std::string_view word = s->substr(0, end);
  s->remove_prefix(end);
  while (!s->empty() && IsSpace(s->front())) s->remove_prefix(1);
  return word;
}

// The script's lines, trimmed, with comment lines replaced by empty ones (README section 1).
std::vector<std::string_view> GetLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find('\n', start);
    std::string_view line = Trim(
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (StartsWith(line, "#")) line = {};
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view file_name)
      : lines_(GetLines(text)), file_name_(file_name) {}

  absl::StatusOr<Script> Parse() {
    Script script;
    script.file_name = std::string(file_name_);
    for (i_ = 0; i_ < lines_.size(); ++i_) {
      std::string_view line = lines_[i_];
      if (line.empty()) continue;
      std::string_view rest = line;
      const std::string word = absl::AsciiStrToLower(std::string(NextWord(&rest)));
      absl::Status st;
      if (word == "clear") {
        script.commands.push_back(ClearCommand{LineNo()});
      } else if (absl::StartsWith(word, "load")) {
        LoadCommand load;
        st = ParseLoad(&load);
        if (st.ok()) script.commands.push_back(std::move(load));
      } else if (absl::StartsWith(word, "eval")) {
        EvalCommand eval;
        st = ParseEval(&eval);
        if (st.ok()) script.commands.push_back(std::move(eval));
      } else {
        st = Error(absl::StrFormat(
            "invalid command \"%s\": want clear, load, load_with_nhcb or eval (a block ends at the "
            "first empty or comment line)",
            line.substr(0, 60)));
      }
      if (!st.ok()) return st;
    }
    return script;
  }

 private:
  int LineNo() const { return static_cast<int>(i_) + 1; }

  absl::Status Error(std::string_view message) const {
    return absl::InvalidArgumentError(absl::StrFormat("%s:%d: %s", file_name_, LineNo(), message));
  }
  absl::Status Error(const absl::Status& status) const {
    return Error(std::string_view(status.message().data(), status.message().size()));
  }

  // True when the next line belongs to the current block; advances to it.
  bool NextBlockLine() {
    if (i_ + 1 >= lines_.size() || lines_[i_ + 1].empty()) return false;
    ++i_;
    return true;
  }

  absl::Status ParseLoad(LoadCommand* load) {
    load->line = LineNo();
    std::string_view rest = lines_[i_];
    const std::string_view head = NextWord(&rest);
    if (head != "load" && head != "load_with_nhcb") {
      return Error(absl::StrFormat("invalid load command \"%s\": want load[_with_nhcb] <interval>",
                                   lines_[i_]));
    }
    load->with_nhcb = head == "load_with_nhcb";
    absl::StatusOr<int64_t> interval = ParseDuration(rest);
    if (!interval.ok()) return Error(absl::StrCat("load interval: ", interval.status().message()));
    load->interval_ms = *interval;

    // A `name{...}@st` line waiting for its sample line.
    std::optional<SeriesLine> pending_st;
    while (NextBlockLine()) {
      std::string_view line = lines_[i_];
      std::string_view values = line;
      const std::string_view first = NextWord(&values);
      if (first.size() >= 3 && first.substr(first.size() - 3) == "@st") {
        if (pending_st) {
          return Error(
              absl::StrFormat("the @st line %d has no following sample line", pending_st->line));
        }
        absl::StatusOr<std::vector<std::optional<int64_t>>> offsets =
            ParseStartTimestampSequence(values);
        if (!offsets.ok()) return Error(offsets.status());
        const std::string_view selector = first.substr(0, first.size() - 3);
        if (selector.empty()) {  // Standalone: a default for the lines that follow.
          load->default_start_offsets_ms = *std::move(offsets);
          continue;
        }
        std::string_view after;
        absl::StatusOr<Labels> labels = ParseSeriesSelector(selector, &after);
        if (!labels.ok()) {
          return Error(absl::StrFormat("invalid @st series \"%s\": %s", selector,
                                       labels.status().message()));
        }
        if (!after.empty()) return Error(absl::StrFormat("invalid @st series \"%s\"", selector));
        pending_st = SeriesLine{LineNo(), *std::move(labels), {}, *std::move(offsets)};
        continue;
      }
      absl::StatusOr<SeriesDesc> desc = ParseSeriesLine(line);
      if (!desc.ok()) return Error(desc.status());
      SeriesLine series{LineNo(), std::move(desc->labels), std::move(desc->values), {}};
      if (pending_st) {
        if (pending_st->labels != series.labels) {
          return Error(absl::StrFormat("the @st line %d names %s, but the next sample line %s",
                                       pending_st->line, LabelsToString(pending_st->labels),
                                       LabelsToString(series.labels)));
        }
        if (pending_st->start_offsets_ms.size() != series.values.size()) {
          return Error(absl::StrFormat("the @st line %d has %d positions, the sample line %d",
                                       pending_st->line, pending_st->start_offsets_ms.size(),
                                       series.values.size()));
        }
        series.start_offsets_ms = std::move(pending_st->start_offsets_ms);
        pending_st.reset();
      } else if (!load->default_start_offsets_ms.empty()) {
        const auto& def = load->default_start_offsets_ms;
        for (size_t k = 0; k < series.values.size(); ++k) {
          series.start_offsets_ms.push_back(def[k % def.size()]);
        }
      }
      auto same = std::find_if(load->series.begin(), load->series.end(),
                               [&](const SeriesLine& s) { return s.labels == series.labels; });
      if (same != load->series.end()) {
        *same = std::move(series);  // README: the later line replaces the earlier one.
      } else {
        load->series.push_back(std::move(series));
      }
    }
    if (pending_st) {
      return Error(
          absl::StrFormat("the @st line %d has no following sample line", pending_st->line));
    }
    return absl::OkStatus();
  }

  absl::Status ParseEvalHeader(EvalCommand* eval) {
    const std::string_view line = lines_[i_];
    std::string_view rest = line;
    const std::string_view head = NextWord(&rest);
    const std::string_view mode = NextWord(&rest);
    const auto usage = [&] {
      return Error(absl::StrFormat(
          "invalid eval command \"%s\": want 'eval[_fail|_warn|_info|_ordered] instant at <time> "
          "<query>' or 'eval[_fail|_warn|_info] range from <time> to <time> step <duration> "
          "<query>'",
          line.substr(0, 80)));
    };
    std::string_view modifier;
    if (head != "eval") {
      if (!StartsWith(head, "eval_")) return usage();
      modifier = head.substr(5);
      if (modifier != "fail" && modifier != "warn" && modifier != "info" &&
          !(modifier == "ordered" && mode == "instant")) {
        return usage();
      }
    }
    const auto parse_time = [&](std::string_view what,
                                std::string_view text) -> absl::StatusOr<int64_t> {
      absl::StatusOr<int64_t> ms = ParseDuration(text);
      if (!ms.ok()) return Error(absl::StrFormat("%s: %s", what, ms.status().message()));
      return ms;
    };
    if (mode == "instant") {
      if (NextWord(&rest) != "at") return usage();
      absl::StatusOr<int64_t> at = parse_time("eval time", NextWord(&rest));
      if (!at.ok()) return at.status();
      eval->start_ms = eval->end_ms = *at;
    } else if (mode == "range") {
      if (NextWord(&rest) != "from") return usage();
      absl::StatusOr<int64_t> from = parse_time("range start", NextWord(&rest));
      if (!from.ok()) return from.status();
      if (NextWord(&rest) != "to") return usage();
      absl::StatusOr<int64_t> to = parse_time("range end", NextWord(&rest));
      if (!to.ok()) return to.status();
      if (NextWord(&rest) != "step") return usage();
      absl::StatusOr<int64_t> step = parse_time("range step", NextWord(&rest));
      if (!step.ok()) return step.status();
      if (*to < *from) {
        return Error(absl::StrFormat("range end %s is before its start %s", FormatDuration(*to),
                                     FormatDuration(*from)));
      }
      eval->is_range = true;
      eval->start_ms = *from;
      eval->end_ms = *to;
      eval->step_ms = *step;
    } else {
      return usage();
    }
    if (rest.empty()) return usage();
    eval->query = std::string(rest);
    if (!modifier.empty()) {
      Expectation e;
      e.line = LineNo();
      e.legacy = true;
      e.kind = modifier == "fail"   ? ExpectKind::kFail
               : modifier == "warn" ? ExpectKind::kWarn
               : modifier == "info" ? ExpectKind::kInfo
                                    : ExpectKind::kOrdered;
      eval->expectations.push_back(std::move(e));
    }
    return absl::OkStatus();
  }

  // `expect <kind> [msg:|regex: TEXT]`.
  absl::Status ParseExpect(std::string_view line, EvalCommand* eval) {
    std::string_view rest = line;
    NextWord(&rest);  // "expect"
    const std::string_view kind = NextWord(&rest);
    Expectation e;
    e.line = LineNo();
    if (kind == "fail") {
      e.kind = ExpectKind::kFail;
    } else if (kind == "warn") {
      e.kind = ExpectKind::kWarn;
    } else if (kind == "info") {
      e.kind = ExpectKind::kInfo;
    } else if (kind == "no_warn") {
      e.kind = ExpectKind::kNoWarn;
    } else if (kind == "no_info") {
      e.kind = ExpectKind::kNoInfo;
    } else if (kind == "ordered") {
      e.kind = ExpectKind::kOrdered;
    } else {
      return Error(absl::StrFormat(
          "invalid expect line \"%s\": want 'expect fail|warn|info|no_warn|no_info|ordered "
          "[msg:|regex: <text>]'",
          line));
    }
    if (!rest.empty()) {
      if (StartsWith(rest, "msg:")) {
        e.match = Expectation::Match::kMessage;
        rest.remove_prefix(4);
      } else if (StartsWith(rest, "regex:")) {
        e.match = Expectation::Match::kRegex;
        rest.remove_prefix(6);
      } else {
        return Error(absl::StrFormat(
            "invalid expect line \"%s\": after '%s' want msg: or regex:", line, kind));
      }
      if (rest.empty()) {
        return Error(absl::StrFormat("invalid expect line \"%s\": empty %s", line,
                                     e.match == Expectation::Match::kMessage ? "msg:" : "regex:"));
      }
      e.text = std::string(Trim(rest));
    }
    eval->expectations.push_back(std::move(e));
    // promqltest's validateExpectedCmds; the legacy header forms are not counted.
    int counts[6] = {};
    for (const Expectation& x : eval->expectations) {
      if (!x.legacy) ++counts[static_cast<int>(x.kind)];
    }
    const auto n = [&](ExpectKind k) { return counts[static_cast<int>(k)]; };
    if (n(ExpectKind::kInfo) > 0 && n(ExpectKind::kNoInfo) > 0) {
      return Error("expect info and expect no_info cannot be used together");
    }
    if (n(ExpectKind::kWarn) > 0 && n(ExpectKind::kNoWarn) > 0) {
      return Error("expect warn and expect no_warn cannot be used together");
    }
    if (n(ExpectKind::kFail) > 1) return Error("only one expect fail line is allowed per eval");
    return absl::OkStatus();
  }

  absl::Status ParseExpectRangeVector(std::string_view line, EvalCommand* eval) {
    std::string_view rest = line.substr(std::string_view("expect range vector").size());
    while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
    const std::string_view from_kw = NextWord(&rest);
    const std::string_view from = NextWord(&rest);
    const std::string_view to_kw = NextWord(&rest);
    const std::string_view to = NextWord(&rest);
    const std::string_view step_kw = NextWord(&rest);
    const std::string_view step = NextWord(&rest);
    if (from_kw != "from" || to_kw != "to" || step_kw != "step" || step.empty() || !rest.empty()) {
      return Error(absl::StrFormat(
          "invalid range vector definition \"%s\": want 'expect range vector from <time> to <time> "
          "step <duration>'",
          line));
    }
    RangeLayout r;
    r.line = LineNo();
    absl::StatusOr<int64_t> a = ParseDuration(from);
    absl::StatusOr<int64_t> b = ParseDuration(to);
    absl::StatusOr<int64_t> s = ParseDuration(step);
    for (const auto* x : {&a, &b, &s}) {
      if (!x->ok()) return Error(absl::StrCat("expect range vector: ", x->status().message()));
    }
    if (*b < *a) return Error("expect range vector: the end is before the start");
    r.start_ms = *a;
    r.end_ms = *b;
    r.step_ms = *s;
    eval->expect_range_vector = r;
    return absl::OkStatus();
  }

  absl::Status ParseEval(EvalCommand* eval) {
    eval->line = LineNo();
    absl::Status st = ParseEvalHeader(eval);
    if (!st.ok()) return st;
    const bool legacy_fail = eval->expects_failure();
    while (NextBlockLine()) {
      const std::string_view line = lines_[i_];
      if (legacy_fail &&
          (StartsWith(line, "expected_fail_message") || StartsWith(line, "expected_fail_regexp"))) {
        const bool is_message = StartsWith(line, "expected_fail_message");
        for (Expectation& e : eval->expectations) {
          if (e.kind == ExpectKind::kFail && e.legacy) {
            e.match = is_message ? Expectation::Match::kMessage : Expectation::Match::kRegex;
            e.text = std::string(Trim(line.substr(is_message ? 21 : 20)));
            e.line = LineNo();
          }
        }
        break;  // Ends the block (README section 1).
      }
      if (StartsWith(line, "expect range vector")) {
        st = ParseExpectRangeVector(line, eval);
        if (!st.ok()) return st;
        continue;
      }
      if (StartsWith(line, "expect string")) {
        std::string_view literal = Trim(line.substr(std::string_view("expect string").size()));
        if (literal.empty()) {
          return Error("expect string: a quoted string literal is required");
        }
        absl::StatusOr<std::string> s = UnquoteString(literal);
        if (!s.ok()) return Error(absl::StrCat("expect string: ", s.status().message()));
        eval->expect_string = *std::move(s);
        continue;
      }
      // Only the exact word counts: a metric named `expect` is written `expect{}`.
      if (line.substr(0, line.find(' ')) == "expect") {
        st = ParseExpect(line, eval);
        if (!st.ok()) return st;
        continue;
      }
      if (absl::StatusOr<double> v = ParseGoNumber(line); v.ok()) {
        eval->expect_scalar = *v;
        eval->expect_scalar_line = LineNo();
        break;  // A bare scalar ends the block.
      }
      absl::StatusOr<SeriesDesc> desc = ParseSeriesLine(line);
      if (!desc.ok()) return Error(desc.status());
      if (desc->values.size() > 1 && !eval->is_range && !eval->expect_range_vector) {
        return Error(absl::StrFormat(
            "%s has %d values, but an instant eval expects one per series (write 'expect range "
            "vector from <time> to <time> step <duration>' first for a range-vector result)",
            LabelsToString(desc->labels), desc->values.size()));
      }
      eval->expect_series.push_back(
          SeriesLine{LineNo(), std::move(desc->labels), std::move(desc->values), {}});
    }
    return absl::OkStatus();
  }

  std::vector<std::string_view> lines_;
  std::string_view file_name_;
  size_t i_ = 0;
};

bool AnyHistogram(const std::vector<SequenceValue>& values) {
  return std::any_of(values.begin(), values.end(),
                     [](const SequenceValue& v) { return v.is_histogram(); });
}

template <typename T>
int CountIf(const Script& s, bool (*pred)(const T&)) {
  int n = 0;
  for (const Command& c : s.commands) {
    if (const T* x = std::get_if<T>(&c); x != nullptr && pred(*x)) ++n;
  }
  return n;
}

}  // namespace

bool SeriesLine::has_histograms() const { return AnyHistogram(values); }

bool LoadCommand::has_histograms() const {
  return std::any_of(series.begin(), series.end(),
                     [](const SeriesLine& s) { return s.has_histograms(); });
}

bool LoadCommand::has_start_timestamps() const {
  return std::any_of(series.begin(), series.end(),
                     [](const SeriesLine& s) { return !s.start_offsets_ms.empty(); });
}

int64_t LoadCommand::num_samples() const {
  int64_t n = 0;
  for (const SeriesLine& s : series) {
    for (const SequenceValue& v : s.values) n += v.is_omitted() ? 0 : 1;
  }
  return n;
}

bool EvalCommand::has_histograms() const {
  return std::any_of(expect_series.begin(), expect_series.end(),
                     [](const SeriesLine& s) { return s.has_histograms(); });
}

bool EvalCommand::Has(ExpectKind kind) const {
  return std::any_of(expectations.begin(), expectations.end(),
                     [kind](const Expectation& e) { return e.kind == kind; });
}

const Expectation* EvalCommand::fail() const {
  for (const Expectation& e : expectations) {
    if (e.kind == ExpectKind::kFail) return &e;
  }
  return nullptr;
}

int Script::num_evals() const {
  return CountIf<EvalCommand>(*this, [](const EvalCommand&) { return true; });
}
int Script::num_instant_evals() const {
  return CountIf<EvalCommand>(*this, [](const EvalCommand& e) { return !e.is_range; });
}
int Script::num_range_evals() const {
  return CountIf<EvalCommand>(*this, [](const EvalCommand& e) { return e.is_range; });
}
int Script::num_loads() const {
  return CountIf<LoadCommand>(*this, [](const LoadCommand&) { return true; });
}
int Script::num_nhcb_loads() const {
  return CountIf<LoadCommand>(*this, [](const LoadCommand& l) { return l.with_nhcb; });
}
int Script::num_clears() const {
  return CountIf<ClearCommand>(*this, [](const ClearCommand&) { return true; });
}

absl::StatusOr<Script> ParseScript(std::string_view text, std::string_view file_name) {
  return Parser(text, file_name).Parse();
}

absl::StatusOr<Script> ParseScriptFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the script"));
  std::stringstream buf;
  buf << in.rdbuf();
  const size_t slash = path.find_last_of('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return ParseScript(buf.str(), base);
}

}  // namespace ember::promqltest
