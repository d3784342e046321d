// Internal to the promqltest runner: the result comparison of runner.cc, implemented in
// compare.cc (README sections 4.1, 4.2, 4.4, 4.6: values, tolerance, set/ordered/matrix
// matching, error texts and annotations against an eval's expectations).
#ifndef EMBER_TESTS_PROMQLTEST_COMPARE_H_
#define EMBER_TESTS_PROMQLTEST_COMPARE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "query/engine.h"
#include "query/value.h"
#include "tests/promqltest/runner.h"
#include "tests/promqltest/script.h"

namespace ember::promqltest {

// `s` as an absl::string_view.
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The eval line of `e` ("eval instant at ..." or "eval range from ..."), as messages print it.
std::string EvalHeader(const EvalCommand& e);

// A value as messages print it.
std::string DescribeValue(const query::Value& v);

// A status's text as messages print it.
std::string StatusText(const absl::Status& s);

// "" when the series of `m` are in label order, else why not.
std::string CheckSorted(const query::Matrix& m);

// README section 4.1: "" when `got` (the result of `e` as written) is what `e` expects.
std::string CompareValue(const EvalCommand& e, const query::Value& got);

// `text` against `x` (msg: exact after trimming, regex: unanchored search, else anything).
bool Matches(const Expectation& x, const std::string& text, std::string* error);

// An expectation as messages print it.
std::string DescribeExpectation(const Expectation& x);

// README section 4.6: "" when the warnings and infos of `a` are what `e` expects.
std::string CheckAnnotations(const EvalCommand& e, const query::Annotations& a);

}  // namespace ember::promqltest

#endif  // EMBER_TESTS_PROMQLTEST_COMPARE_H_
