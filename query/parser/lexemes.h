// Internal to the parser: the X3 lexemes that the lexer (lexer.cc) and the selector and
// label-list grammar (label_lists.cc) share. Included only by those Spirit X3 translation units.
#ifndef EMBER_QUERY_PARSER_LEXEMES_H_
#define EMBER_QUERY_PARSER_LEXEMES_H_

#include <boost/spirit/home/x3.hpp>
#include <string_view>

#include "absl/strings/string_view.h"
#include "util/strings.h"

namespace ember::query::grammar {
namespace x3 = boost::spirit::x3;

using Iter = const char*;

// Debian 12's Abseil has its own string_view class; StrCat takes only that one.

// ---------------------------------------------------------------------------------------------
// Lexemes. None of them skips; Lex() skips whitespace and comments before each token.

const auto kIdentifier = x3::char_("a-zA-Z_:") >> *x3::char_("a-zA-Z0-9_:");
// Inside `[...]` a colon separates a subquery's range and step, as in Prometheus's lexer.
const auto kBracketIdentifier = x3::char_("a-zA-Z_") >> *x3::char_("a-zA-Z0-9_");
const auto kLabelName = x3::char_("a-zA-Z_") >> *x3::char_("a-zA-Z0-9_");
// `1_000`: an underscore only between digits, as Go's number syntax.
const auto kDigits = x3::digit >> *(-x3::lit('_') >> x3::digit);
const auto kDecimal = ((kDigits >> -(x3::lit('.') >> -kDigits)) | (x3::lit('.') >> kDigits)) >>
                      -(x3::no_case[x3::lit('e')] >> -x3::char_("+-") >> kDigits);
const auto kHex = x3::no_case[x3::lit("0x")] >> +x3::xdigit;
// Quoted strings as raw text, escapes unchecked (Unquote() checks them with positions).
const auto kDoubleQuoted = x3::lit('"') >>
                           *((x3::lit('\\') >> x3::char_) | ~x3::char_("\"\\\n")) >> x3::lit('"');
const auto kSingleQuoted = x3::lit('\'') >>
                           *((x3::lit('\\') >> x3::char_) | ~x3::char_("'\\\n")) >> x3::lit('\'');
const auto kBackquoted = x3::lit('`') >> *~x3::char_('`') >> x3::lit('`');
const auto kQuoted = kDoubleQuoted | kSingleQuoted | kBackquoted;
const auto kComment = x3::lit('#') >> *(x3::char_ - x3::eol);
const auto kSkipper = x3::space | kComment;

}  // namespace ember::query::grammar

#endif  // EMBER_QUERY_PARSER_LEXEMES_H_
