// Prometheus relabeling (server/scrape/relabel.h).
//
// A step runs against a LabelBuilder that mirrors Prometheus's labels.Builder closely enough
// that the order labelmap visits labels in (and so which of two labels mapped to one name
// wins) is Prometheus's: the input labels sorted, then those set by earlier steps in the order
// they were first set.
//
// Templates (`replacement`, replace's `target_label`) are parsed once, in Compile(), into
// literal text and capture-group indexes, following Go's Regexp.Expand; Apply() only copies.
#include "server/scrape/relabel.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ember/labels.h"
#include "re2/re2.h"
#include "util/quote.h"
#include "util/utf8.h"

namespace ember::server {
namespace {

// Defaults Prometheus compares against to tell a field that was set (RelabelConfig's defaults).
constexpr std::string_view kDefaultRegex = "(.*)";
constexpr std::string_view kDefaultSeparator = ";";
constexpr std::string_view kDefaultReplacement = "$1";

re2::StringPiece Piece(std::string_view s) { return re2::StringPiece(s.data(), s.size()); }

std::string_view ActionName(RelabelAction action) {
  switch (action) {
    case RelabelAction::kReplace:
      return "replace";
    case RelabelAction::kKeep:
      return "keep";
    case RelabelAction::kDrop:
      return "drop";
    case RelabelAction::kHashMod:
      return "hashmod";
    case RelabelAction::kLabelMap:
      return "labelmap";
    case RelabelAction::kLabelDrop:
      return "labeldrop";
    case RelabelAction::kLabelKeep:
      return "labelkeep";
    case RelabelAction::kKeepEqual:
      return "keepequal";
    case RelabelAction::kDropEqual:
      return "dropequal";
  }
  return "unknown";
}

using util::IsValidUtf8;

// Go's %q, near enough for messages: C escapes; UTF-8 text kept, other bytes as \xNN.
std::string Quote(std::string_view s) { return util::QuoteInput(s, std::string_view::npos); }

// Prometheus 3.x's default (UTF-8) label name scheme.
bool IsValidLabelName(std::string_view name) { return !name.empty() && IsValidUtf8(name); }

// MD5 (RFC 1321) of `data`. Only hashmod uses it, for Prometheus's shard numbers; not for
// anything that needs collision resistance.
std::array<uint8_t, 16> Md5(std::string_view data) {
  // floor(abs(sin(i + 1)) * 2^32).
  static constexpr uint32_t kK[64] = {
      0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
      0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
      0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
      0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
      0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
      0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
      0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
      0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
      0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
      0xeb86d391};
  static constexpr int kShift[4][4] = {
      {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};
  uint32_t state[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};

  const auto block = [&](const uint8_t* p) {
    uint32_t m[16];
    for (uint32_t& word : m) {
      word = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
      p += 4;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (int i = 0; i < 64; ++i) {
      uint32_t f;
      int g;
      switch (i / 16) {
        case 0:
          f = (b & c) | (~b & d), g = i;
          break;
        case 1:
          f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
          break;
        case 2:
          f = b ^ c ^ d, g = (3 * i + 5) % 16;
          break;
        default:
          f = c ^ (b | ~d), g = (7 * i) % 16;
          break;
      }
      const uint32_t sum = a + f + kK[i] + m[g];
      const int s = kShift[i / 16][i % 4];
      a = d, d = c, c = b;
      b += (sum << s) | (sum >> (32 - s));
    }
    state[0] += a, state[1] += b, state[2] += c, state[3] += d;
  };

  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  for (; n >= 64; n -= 64, bytes += 64) block(bytes);
  // The tail, 0x80, zeros to 56 mod 64, then the message length in bits, little-endian.
  uint8_t tail[128] = {};
  if (n > 0) std::memcpy(tail, bytes, n);
  tail[n] = 0x80;
  const size_t tail_len = n < 56 ? 64 : 128;
  const uint64_t bits = uint64_t{data.size()} * 8;
  for (int i = 0; i < 8; ++i) tail[tail_len - 8 + i] = static_cast<uint8_t>(bits >> (8 * i));
  for (size_t off = 0; off < tail_len; off += 64) block(tail + off);

  std::array<uint8_t, 16> digest;
  for (int i = 0; i < 16; ++i) digest[i] = static_cast<uint8_t>(state[i / 4] >> (8 * (i % 4)));
  return digest;
}

// A parsed replacement template: literal text and capture groups, in order.
struct TemplatePart {
  std::string literal;  // Used when group < 0.
  int group = -1;
};
using Template = std::vector<TemplatePart>;

// The length of the name after a `$` in a template: the longest prefix of Unicode letters,
// decimal digits and `_`, as Go's regexp extract() scans with unicode.IsLetter / IsDigit.
size_t TemplateNameLength(std::string_view s) {
  static const RE2* const name_chars = new RE2("[\\p{L}\\p{Nd}_]+");
  re2::StringPiece match;
  if (!name_chars->Match(Piece(s), 0, s.size(), RE2::ANCHOR_START, &match, 1)) return 0;
  return match.size();
}

// The capture group `name` refers to in `re`, or -1 when none (it then expands to ""). As Go:
// a name of decimal digits without a leading zero, below 10^9, is a group number.
int TemplateGroup(std::string_view name, const RE2& re) {
  int64_t num = 0;
  for (const char c : name) {
    if (c < '0' || c > '9' || num >= 100'000'000) {
      num = -1;
      break;
    }
    num = num * 10 + (c - '0');
  }
  if (name.size() > 1 && name[0] == '0') num = -1;
  if (num >= 0) return num <= re.NumberOfCapturingGroups() ? static_cast<int>(num) : -1;
  const std::map<std::string, int>& named = re.NamedCapturingGroups();
  const auto it = named.find(std::string(name));
  return it == named.end() ? -1 : it->second;
}

// Parses `text` as Go's Regexp.Expand reads a template: `$$` is `$`; `$name` and `${name}`
// refer to a group; a `$` not followed by a well-formed reference is literal.
Template ParseTemplate(std::string_view text, const RE2& re) {
  Template parts;
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    const size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) {
      literal.append(text.substr(i));
      break;
    }
    literal.append(text.substr(i, dollar - i));
    i = dollar + 1;
    if (i < text.size() && text[i] == '$') {
      literal.push_back('$');
      ++i;
      continue;
    }
    const bool brace = i < text.size() && text[i] == '{';
    const size_t start = brace ? i + 1 : i;
    const size_t len = TemplateNameLength(text.substr(start));
    if (len == 0 || (brace && (start + len >= text.size() || text[start + len] != '}'))) {
      literal.push_back('$');  // Malformed: the `$` is text, and so is what follows it.
      continue;
    }
    i = start + len + (brace ? 1 : 0);
    const int group = TemplateGroup(text.substr(start, len), re);
    if (group < 0) continue;
    if (!literal.empty()) parts.push_back({std::move(literal), -1});
    literal.clear();
    parts.push_back({"", group});
  }
  if (!literal.empty()) parts.push_back({std::move(literal), -1});
  return parts;
}

// REQUIRES: `groups` holds at least as many entries as the highest group in `t`, plus one.
std::string Expand(const Template& t, const std::vector<re2::StringPiece>& groups) {
  std::string out;
  for (const TemplatePart& part : t) {
    if (part.group < 0) {
      out.append(part.literal);
    } else if (const re2::StringPiece& g = groups[part.group]; g.data() != nullptr) {
      out.append(g.data(), g.size());
    }
  }
  return out;
}

// Prometheus's labels.Builder over a Labels: labels_[0, base_end_) are the input labels not
// yet set or deleted, sorted; the rest were set by a step, in the order first set. No value is
// empty: setting "" deletes.
class LabelBuilder {
 public:
  // REQUIRES: `labels` is canonical (CanonicalizeLabels()).
  explicit LabelBuilder(Labels* labels) : labels_(*labels), base_end_(labels->size()) {}

  // In Prometheus's Builder.Range order; invalidated by Set(), Del() and EraseIf().
  const Labels& All() const { return labels_; }

  // "" when absent.
  std::string_view Get(std::string_view name) const {
    const auto it = Find(name);
    if (it == labels_.end()) return {};
    return it->value;
  }

  void Set(Label label) {
    if (label.value.empty()) {
      Del(label.name);
      return;
    }
    const auto it = Find(label.name);
    if (it == labels_.end()) {
      labels_.push_back(std::move(label));
    } else if (static_cast<size_t>(it - labels_.begin()) >= base_end_) {
      it->value = std::move(label.value);
    } else {
      // An input label set by a step moves to the end, as Builder.Set adds it to `add`.
      labels_.erase(it);
      --base_end_;
      labels_.push_back(std::move(label));
    }
  }

  void Del(std::string_view name) {
    EraseIf([name](const Label& l) { return l.name == name; });
  }

  template <typename Pred>
  void EraseIf(Pred pred) {
    size_t out = 0;
    size_t new_base_end = 0;
    for (size_t i = 0; i < labels_.size(); ++i) {
      if (pred(std::as_const(labels_[i]))) continue;
      if (i < base_end_) ++new_base_end;
      if (out != i) labels_[out] = std::move(labels_[i]);
      ++out;
    }
    labels_.resize(out);
    base_end_ = new_base_end;
  }

 private:
  Labels::iterator Find(std::string_view name) const {
    return std::find_if(labels_.begin(), labels_.end(),
                        [name](const Label& l) { return l.name == name; });
  }

  Labels& labels_;
  size_t base_end_;
};

}  // namespace

struct Relabeler::Step {
  RelabelConfig config;
  std::unique_ptr<const RE2> regex;
  Template target;       // kReplace only.
  Template replacement;  // kReplace and kLabelMap.
  // True when `target` needs no expansion (no `$`): Compile() validated it.
  bool static_target = true;

  // Runs the step; false when it drops the label set.
  bool Run(LabelBuilder* b) const;

 private:
  // The source label values joined with the separator.
  std::string SourceValue(const LabelBuilder& b) const {
    std::string value;
    for (size_t i = 0; i < config.source_labels.size(); ++i) {
      if (i > 0) value.append(config.separator);
      value.append(b.Get(config.source_labels[i]));
    }
    return value;
  }

  bool FullMatch(std::string_view s) const {
    return regex->Match(Piece(s), 0, s.size(), RE2::ANCHOR_BOTH, nullptr, 0);
  }

  // As FullMatch, filling `groups` (sized for every group) on success.
  bool FullMatch(std::string_view s, std::vector<re2::StringPiece>* groups) const {
    return regex->Match(Piece(s), 0, s.size(), RE2::ANCHOR_BOTH, groups->data(),
                        static_cast<int>(groups->size()));
  }
};

bool Relabeler::Step::Run(LabelBuilder* b) const {
  switch (config.action) {
    case RelabelAction::kKeep:
      return FullMatch(SourceValue(*b));
    case RelabelAction::kDrop:
      return !FullMatch(SourceValue(*b));
    case RelabelAction::kKeepEqual:
      return b->Get(config.target_label) == SourceValue(*b);
    case RelabelAction::kDropEqual:
      return b->Get(config.target_label) != SourceValue(*b);
    case RelabelAction::kReplace: {
      const std::string value = SourceValue(*b);
      std::vector<re2::StringPiece> groups(regex->NumberOfCapturingGroups() + 1);
      if (!FullMatch(value, &groups)) return true;  // No match: no replacement.
      std::string target = static_target ? config.target_label : Expand(this->target, groups);
      if (!IsValidLabelName(target)) return true;
      b->Set({std::move(target), Expand(replacement, groups)});
      return true;
    }
    case RelabelAction::kHashMod: {
      const std::array<uint8_t, 16> sum = Md5(SourceValue(*b));
      // Prometheus takes the last 8 bytes of the sum (it always has), big-endian.
      uint64_t hash = 0;
      for (int i = 8; i < 16; ++i) hash = hash << 8 | sum[i];
      b->Set({config.target_label, absl::StrCat(hash % config.modulus)});
      return true;
    }
    case RelabelAction::kLabelMap: {
      // Every name is matched against the labels as they were before the step, as Prometheus's
      // Builder.Range sees a snapshot; the copies are set afterwards, in that order.
      std::vector<re2::StringPiece> groups(regex->NumberOfCapturingGroups() + 1);
      Labels copies;
      for (const Label& l : b->All()) {
        if (!FullMatch(l.name, &groups)) continue;
        std::string name = Expand(replacement, groups);
        if (IsValidLabelName(name)) copies.push_back({std::move(name), l.value});
      }
      for (Label& l : copies) b->Set(std::move(l));
      return true;
    }
    case RelabelAction::kLabelDrop:
      b->EraseIf([this](const Label& l) { return FullMatch(l.name); });
      return true;
    case RelabelAction::kLabelKeep:
      b->EraseIf([this](const Label& l) { return !FullMatch(l.name); });
      return true;
  }
  return true;
}

absl::StatusOr<RelabelAction> ParseRelabelAction(std::string_view s) {
  const std::string lower = absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
  for (const RelabelAction action :
       {RelabelAction::kReplace, RelabelAction::kKeep, RelabelAction::kDrop,
        RelabelAction::kHashMod, RelabelAction::kLabelMap, RelabelAction::kLabelDrop,
        RelabelAction::kLabelKeep, RelabelAction::kKeepEqual, RelabelAction::kDropEqual}) {
    if (lower == ActionName(action)) return action;
  }
  if (lower == "lowercase" || lower == "uppercase") {
    return absl::InvalidArgumentError(
        absl::StrCat("relabel action ", Quote(s),
                     " is not supported by Ember (Go's Unicode case mapping is not reproduced)"));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown relabel action ", Quote(s)));
}

namespace {

// Prometheus's Config.Validate, less what Compile() checks first (names, the regex). An empty
// string when `c` is valid.
std::string ValidateStep(const RelabelConfig& c) {
  const RelabelAction a = c.action;
  const std::string action(ActionName(a));
  const bool equal_action = a == RelabelAction::kKeepEqual || a == RelabelAction::kDropEqual;
  if (a == RelabelAction::kHashMod && c.modulus == 0) {
    return "relabel configuration for hashmod requires non-zero modulus";
  }
  if ((a == RelabelAction::kReplace || a == RelabelAction::kHashMod || equal_action) &&
      c.target_label.empty()) {
    return absl::StrCat("relabel configuration for ", action,
                        " action requires 'target_label' value");
  }
  // Under the UTF-8 scheme a target with `$` variables is checked as the plain name is.
  if ((a == RelabelAction::kReplace || a == RelabelAction::kHashMod || equal_action) &&
      !IsValidLabelName(c.target_label)) {
    return absl::StrCat(Quote(c.target_label), " is invalid 'target_label' for ", action,
                        " action");
  }
  if (equal_action && c.replacement != kDefaultReplacement) {
    return absl::StrCat("'replacement' can not be set for ", action, " action");
  }
  if (a == RelabelAction::kLabelMap && !IsValidLabelName(c.replacement)) {
    return absl::StrCat(Quote(c.replacement), " is invalid 'replacement' for ", action, " action");
  }
  if (equal_action && (c.regex != kDefaultRegex || c.modulus != 0 ||
                       c.separator != kDefaultSeparator || c.replacement != kDefaultReplacement)) {
    return absl::StrCat(action,
                        " action requires only 'source_labels' and `target_label`, and no other "
                        "fields");
  }
  if ((a == RelabelAction::kLabelDrop || a == RelabelAction::kLabelKeep) &&
      (!c.source_labels.empty() || !c.target_label.empty() || c.modulus != 0 ||
       c.separator != kDefaultSeparator || c.replacement != kDefaultReplacement)) {
    return absl::StrCat(action, " action requires only 'regex', and no other fields");
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<Relabeler>> Relabeler::Compile(std::vector<RelabelConfig> steps) {
  auto relabeler = std::unique_ptr<Relabeler>(new Relabeler());
  relabeler->steps_.reserve(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto fail = [i](std::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("relabel_configs[", i, "]: ", absl::string_view(what.data(), what.size())));
    };
    auto step = std::make_unique<Step>();
    step->config = std::move(steps[i]);
    const RelabelConfig& c = step->config;

    for (const std::string& name : c.source_labels) {
      if (!IsValidLabelName(name)) {
        return fail(absl::StrCat(Quote(name), " is not a valid label name"));
      }
    }
    RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);  // Prometheus 3.x's (?s).
    // Compiled as written and matched with ANCHOR_BOTH: the same as Prometheus's
    // `^(?s:` + regex + `)$`, except that `a)|(b` is rejected rather than left half-anchored.
    auto re = std::make_unique<const RE2>(Piece(c.regex), options);
    if (!re->ok()) {
      return fail(absl::StrCat("invalid regex ", Quote(c.regex), ": ", re->error()));
    }
    if (const std::string error = ValidateStep(c); !error.empty()) return fail(error);

    if (c.action == RelabelAction::kReplace) {
      step->static_target = c.target_label.find('$') == std::string::npos;
      step->target = ParseTemplate(c.target_label, *re);
    }
    if (c.action == RelabelAction::kReplace || c.action == RelabelAction::kLabelMap) {
      step->replacement = ParseTemplate(c.replacement, *re);
    }
    step->regex = std::move(re);
    relabeler->steps_.push_back(std::move(step));
  }
  return relabeler;
}

Relabeler::~Relabeler() = default;

bool Relabeler::Apply(Labels* labels) const {
  CanonicalizeLabels(labels);
  LabelBuilder builder(labels);
  for (const std::unique_ptr<Step>& step : steps_) {
    if (!step->Run(&builder)) {
      labels->clear();
      return false;
    }
  }
  CanonicalizeLabels(labels);
  return true;
}

}  // namespace ember::server
