// Selector braces and label lists in Boost.Spirit X3 (the lexer is lexer.cc). Everything it
// exports is declared in grammar.h and reports failure through return values, never
// exceptions.
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/parser/grammar.h"
#include "query/parser/lexemes.h"
#include "util/strings.h"

namespace ember::query::grammar {

// ---------------------------------------------------------------------------------------------
// Selector braces and label lists: X3 rules over the skipper, with expectation points whose
// names become the "expected ..." part of the message.

namespace {

struct MatcherState {
  std::vector<RawMatcher>* out;
  std::vector<std::pair<Iter, Iter>>* name_ranges;   // Raw source of each matcher's name.
  std::vector<std::pair<Iter, Iter>>* value_ranges;  // Raw source of each value.
};
struct state_tag;

using Range = boost::iterator_range<Iter>;

const auto on_name = [](auto& ctx) {
  MatcherState& s = x3::get<state_tag>(ctx).get();
  const Range& r = x3::_attr(ctx);
  s.out->emplace_back();
  s.name_ranges->emplace_back(r.begin(), r.end());
  s.value_ranges->emplace_back(nullptr, nullptr);
};
const auto on_op = [](auto& ctx) {
  MatcherState& s = x3::get<state_tag>(ctx).get();
  s.out->back().has_op = true;
  s.out->back().op = x3::_attr(ctx);
};
const auto on_value = [](auto& ctx) {
  MatcherState& s = x3::get<state_tag>(ctx).get();
  const Range& r = x3::_attr(ctx);
  s.value_ranges->back() = {r.begin(), r.end()};
};

struct MatchOps : x3::symbols<Matcher::Op> {
  MatchOps() {
    add("=", Matcher::Op::kEqual)("!=", Matcher::Op::kNotEqual)("=~", Matcher::Op::kRegexMatch)(
        "!~", Matcher::Op::kRegexNoMatch);
  }
};
const MatchOps kMatchOps;

x3::rule<class match_op_, Matcher::Op> const match_op = "label matching operator";
x3::rule<class quoted_, Range> const quoted_string = "string";
x3::rule<class matcher_> const matcher = "label matcher";
x3::rule<class matchers_end_> const matchers_end = "\",\" or \"}\"";
x3::rule<class matchers_body_> const matchers_body = "label name or \"}\"";
x3::rule<class label_matchers_> const label_matchers = "label matchers";

const auto match_op_def = kMatchOps;
const auto quoted_string_def = x3::raw[x3::lexeme[kQuoted]];
const auto matcher_def = x3::raw[x3::lexeme[kLabelName | kQuoted]][on_name] >>
                         -(match_op[on_op] >> x3::expect[quoted_string][on_value]);
const auto matchers_end_def = -x3::lit(',') >> x3::lit('}');
const auto matchers_body_def = x3::lit('}') | ((matcher % ',') > matchers_end);
const auto label_matchers_def = x3::lit('{') > matchers_body;

BOOST_SPIRIT_DEFINE(match_op, quoted_string, matcher, matchers_end, matchers_body, label_matchers)

struct LabelListState {
  std::vector<std::pair<Iter, Iter>>* ranges;
};
struct list_tag;

const auto on_label = [](auto& ctx) {
  const Range& r = x3::_attr(ctx);
  x3::get<list_tag>(ctx).get().ranges->emplace_back(r.begin(), r.end());
};

x3::rule<class list_label_> const list_label = "label";
x3::rule<class list_end_> const list_end = "\",\" or \")\"";
x3::rule<class list_body_> const list_body = "label or \")\"";
x3::rule<class label_list_> const label_list = "label list";

const auto list_label_def = x3::raw[x3::lexeme[kLabelName | kQuoted]][on_label];
const auto list_end_def = -x3::lit(',') >> x3::lit(')');
const auto list_body_def = x3::lit(')') | ((list_label % ',') > list_end);
const auto label_list_def = x3::lit('(') > list_body;

BOOST_SPIRIT_DEFINE(list_label, list_end, list_body, label_list)

// The message for an X3 expectation failure at `where`: the token found there, described
// as Prometheus does, in `context`, and what was expected.
ListResult Failure(std::string_view text, Iter where, std::string_view context,
                   std::string_view expected, std::string_view eof_message) {
  ListResult r;
  const Token tok = Lex(text, where - text.data());
  r.error_pos = tok.begin;
  if (tok.kind == Tok::kError) {
    r.error = tok.value;
  } else if (tok.kind == Tok::kEof) {
    r.error = std::string(eof_message);
  } else {
    r.error = absl::StrCat("unexpected ", DescribeToken(text, tok), " in ", util::AsAbsl(context),
                           ", expected ", util::AsAbsl(expected));
  }
  return r;
}

// Label names and quoted strings of a list, unquoted. Error positions point at the escape.
bool UnquoteName(std::string_view text, std::pair<Iter, Iter> range, std::string* out,
                 ListResult* err) {
  const size_t begin = range.first - text.data();
  const size_t end = range.second - text.data();
  const char c = text[begin];
  if (c != '"' && c != '\'' && c != '`') {
    out->assign(range.first, range.second);
    return true;
  }
  Token t = Unquote(text, begin, end);
  if (t.kind == Tok::kError) {
    err->ok = false;
    err->error_pos = t.begin;
    err->error = std::move(t.value);
    return false;
  }
  *out = std::move(t.value);
  return true;
}

}  // namespace

ListResult ParseLabelMatchers(std::string_view text, size_t pos, std::vector<RawMatcher>* out) {
  std::vector<std::pair<Iter, Iter>> names, values;
  MatcherState state{out, &names, &values};
  Iter it = text.data() + pos;
  const Iter last = text.data() + text.size();
  constexpr std::string_view kContext = "label matching";
  constexpr std::string_view kEof = "unexpected end of input inside braces";
  try {
    const auto parser = x3::with<state_tag>(std::ref(state))[label_matchers];
    if (!x3::phrase_parse(it, last, parser, kSkipper)) {
      return Failure(text, it, kContext, "\"{\"", kEof);
    }
  } catch (const x3::expectation_failure<Iter>& e) {
    // `{a="b",` then junk: the list stopped before the comma; report what follows it.
    std::string expected = e.which();
    Iter where = e.where();
    if (expected == "\",\" or \"}\"") {
      const Token next = Lex(text, where - text.data());
      if (next.kind == Tok::kComma) {
        where = text.data() + next.end;
        expected = "label name";
      }
    }
    return Failure(text, where, kContext, expected, kEof);
  }
  ListResult r;
  for (size_t i = 0; i < out->size(); ++i) {
    RawMatcher& m = (*out)[i];
    m.begin = static_cast<int32_t>(names[i].first - text.data());
    const bool quoted_name =
        *names[i].first == '"' || *names[i].first == '\'' || *names[i].first == '`';
    if (!UnquoteName(text, names[i], &m.name, &r)) return r;
    if (!m.has_op) {
      m.end = static_cast<int32_t>(names[i].second - text.data());
      if (!quoted_name) {
        // `{job}`: a bare identifier needs an operator and a value.
        return Failure(text, names[i].second, kContext, "label matching operator", kEof);
      }
      // `{"my.metric"}`: a quoted metric name.
      m.value = std::move(m.name);
      m.name = std::string(kMetricNameLabel);
      m.has_op = false;
      continue;
    }
    m.end = static_cast<int32_t>(values[i].second - text.data());
    if (!UnquoteName(text, values[i], &m.value, &r)) return r;
  }
  r.ok = true;
  r.end = it - text.data();
  return r;
}

ListResult ParseLabelList(std::string_view text, size_t pos, std::string_view context,
                          std::vector<std::string>* out) {
  std::vector<std::pair<Iter, Iter>> ranges;
  LabelListState state{&ranges};
  Iter it = text.data() + pos;
  const Iter last = text.data() + text.size();
  const std::string eof = absl::StrCat("unexpected end of input in ", util::AsAbsl(context));
  try {
    const auto parser = x3::with<list_tag>(std::ref(state))[label_list];
    if (!x3::phrase_parse(it, last, parser, kSkipper)) {
      return Failure(text, it, context, "\"(\"", eof);
    }
  } catch (const x3::expectation_failure<Iter>& e) {
    std::string expected = e.which();
    Iter where = e.where();
    if (expected == "\",\" or \")\"") {
      const Token next = Lex(text, where - text.data());
      if (next.kind == Tok::kComma) {
        where = text.data() + next.end;
        expected = "label";
      }
    }
    return Failure(text, where, context, expected, eof);
  }
  ListResult r;
  out->reserve(ranges.size());
  for (const auto& range : ranges) {
    out->emplace_back();
    if (!UnquoteName(text, range, &out->back(), &r)) return r;
  }
  r.ok = true;
  r.end = it - text.data();
  return r;
}

}  // namespace ember::query::grammar
