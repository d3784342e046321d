// Evaluation of parsed alert templates (template_program.h): the data and functions are
// Prometheus's (template/template.go); Go values are modelled by template_format.h's Value and
// printed as Go's fmt prints them.
#include "rules/template.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/ast.h"
#include "rules/template_format.h"
#include "rules/template_program.h"
#include "util/quote.h"

namespace ember::rules {
namespace template_internal {
namespace {

Value FieldValue(const Value& base, std::string_view field, const TemplateData& data) {
  if (base.kind == Kind::kMap) {
    return Value{.kind = Kind::kString, .str = std::string(GetLabelValue(*base.map, field))};
  }
  int which = 0;
  (void)FieldKind(Kind::kData, field, &which);  // Checked at parse time.
  switch (which) {
    case 0:
      return Value{.kind = Kind::kMap, .map = &data.labels};
    case 1:
      return Value{.kind = Kind::kMap, .map = &data.external_labels};
    case 2:
      return Value{.kind = Kind::kString, .str = data.external_url};
    default:
      return Value{.kind = Kind::kFloat, .f = data.value};
  }
}

// strconv.ParseFloat's syntax: decimal or hexadecimal, "Inf", "Infinity" and "NaN" in any
// case, with an optional sign.
absl::StatusOr<double> ToFloat(const Value& v) {
  if (v.kind == Kind::kFloat) return v.f;
  if (v.kind == Kind::kInt) return static_cast<double>(v.i);
  std::string_view s = v.str;
  const auto syntax = [&] {
    return absl::InvalidArgumentError(
        absl::StrFormat("strconv.ParseFloat: parsing %s: invalid syntax", util::GoQuote(v.str)));
  };
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  const std::string lower = absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
  if (lower == "inf" || lower == "infinity") return neg ? -INFINITY : INFINITY;
  if (lower == "nan") return NAN;
  if (s.empty() || !(absl::ascii_isdigit(s[0]) || s[0] == '.')) return syntax();
  double f = 0;
  std::from_chars_result r;
  if (lower.starts_with("0x")) {
    r = std::from_chars(s.data() + 2, s.data() + s.size(), f, std::chars_format::hex);
  } else {
    r = std::from_chars(s.data(), s.data() + s.size(), f, std::chars_format::general);
  }
  if (r.ptr != s.data() + s.size()) return syntax();
  if (r.ec == std::errc::result_out_of_range) {
    // Underflow reads as 0 in Go; overflow is an error.
    f = std::strtod(std::string(s).c_str(), nullptr);
    if (std::isinf(f)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "strconv.ParseFloat: parsing %s: value out of range", util::GoQuote(v.str)));
    }
  } else if (r.ec != std::errc()) {
    return syntax();
  }
  return neg ? -f : f;
}

// Go's strings.Title, for ASCII letters: upper-case every letter that follows a separator.
std::string Title(std::string_view s) {
  std::string out(s);
  bool after_sep = true;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    // Bytes of multi-byte UTF-8 sequences count as letters, as most such runes are.
    const bool sep = u < 0x80 && !absl::ascii_isalnum(c) && c != '_';
    if (after_sep) c = absl::ascii_toupper(c);
    after_sep = sep;
  }
  return out;
}

// The host of "host:port" or "[v6]:port" (net.SplitHostPort); `s` itself if it has no port.
std::string StripPort(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::string(s);
  std::string_view host;
  size_t j = 0;
  size_t k = 0;
  if (s[0] == '[') {
    const size_t end = s.find(']');
    if (end == std::string_view::npos || end + 1 != colon) return std::string(s);
    host = s.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = s.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return std::string(s);
  }
  if (s.substr(j).find('[') != std::string_view::npos ||
      s.substr(k).find(']') != std::string_view::npos) {
    return std::string(s);
  }
  return std::string(host);
}

class Evaluator {
 public:
  explicit Evaluator(const TemplateData& data) : data_(data) {}

  absl::StatusOr<Value> EvalPipeline(const Pipeline& pipe) {
    std::optional<Value> piped;
    for (const Command& cmd : pipe.commands) {
      auto v = EvalCommand(cmd, piped ? &*piped : nullptr);
      if (!v.ok()) return v.status();
      piped = *std::move(v);
    }
    return *std::move(piped);
  }

 private:
  absl::StatusOr<Value> EvalCommand(const Command& cmd, const Value* piped) {
    const Operand& head = cmd.operands[0];
    if (head.base != Operand::Base::kFunc) return EvalOperand(head);
    std::vector<Value> args;
    for (size_t i = 1; i < cmd.operands.size(); ++i) {
      auto v = EvalOperand(cmd.operands[i]);
      if (!v.ok()) return v.status();
      args.push_back(*std::move(v));
    }
    if (piped != nullptr) args.push_back(*piped);
    return Call(head, args);
  }

  absl::StatusOr<Value> EvalOperand(const Operand& op) {
    Value v;
    switch (op.base) {
      case Operand::Base::kLiteral:
        return op.literal;
      case Operand::Base::kFunc:
        return Call(op, {});
      case Operand::Base::kPipeline: {
        auto r = EvalPipeline(*op.pipe);
        if (!r.ok()) return r.status();
        v = *std::move(r);
        break;
      }
      case Operand::Base::kData:
        v = Value{.kind = Kind::kData, .data = &data_};
        break;
    }
    for (const std::string& field : op.fields) v = FieldValue(v, field, data_);
    return v;
  }

  absl::StatusOr<Value> Call(const Operand& fn, const std::vector<Value>& args) {
    const auto str = [](std::string s) {
      return Value{.kind = Kind::kString, .str = std::move(s)};
    };
    const auto number = [&]() -> absl::StatusOr<double> {
      auto f = ToFloat(args[0]);
      if (!f.ok()) {
        return ErrorAt(fn.pos, absl::StrCat("error calling ", fn.name, ": ", f.status().message()));
      }
      return f;
    };
    switch (fn.func) {
      case Func::kHumanize:
      case Func::kHumanize1024:
      case Func::kHumanizeDuration:
      case Func::kHumanizePercentage:
      case Func::kHumanizeTimestamp: {
        auto f = number();
        if (!f.ok()) return f.status();
        if (fn.func == Func::kHumanize) return str(Humanize(*f));
        if (fn.func == Func::kHumanize1024) return str(Humanize1024(*f));
        if (fn.func == Func::kHumanizeDuration) return str(HumanizeDuration(*f));
        if (fn.func == Func::kHumanizePercentage) return str(HumanizePercentage(*f));
        auto ts = HumanizeTimestamp(*f);
        if (!ts.ok()) {
          return ErrorAt(fn.pos,
                         absl::StrCat("error calling ", fn.name, ": ", ts.status().message()));
        }
        return str(*std::move(ts));
      }
      case Func::kToUpper:
        return str(absl::AsciiStrToUpper(args[0].str));
      case Func::kToLower:
        return str(absl::AsciiStrToLower(args[0].str));
      case Func::kTitle:
        return str(Title(args[0].str));
      case Func::kStripPort:
        return str(StripPort(args[0].str));
      case Func::kIndex:
        return str(std::string(GetLabelValue(*args[0].map, args[1].str)));
      case Func::kPrintf:
        return str(GoSprintf(args[0].str, std::span<const Value>(args).subspan(1)));
      case Func::kPrint:
        return str(GoSprint(args));
      case Func::kPrintln:
        return str(GoSprintln(args));
    }
    return absl::InternalError("unknown template function");
  }

  const TemplateData& data_;
};

}  // namespace
}  // namespace template_internal

absl::StatusOr<std::string> Template::Expand(const TemplateData& data) const {
  std::string out;
  template_internal::Evaluator eval(data);
  for (const template_internal::Node& node : program_->nodes) {
    if (node.pipe == nullptr) {
      out += node.text;
      continue;
    }
    auto v = eval.EvalPipeline(*node.pipe);
    if (!v.ok()) return v.status();
    out += template_internal::GoSprintValue(*v);
  }
  return out;
}

}  // namespace ember::rules