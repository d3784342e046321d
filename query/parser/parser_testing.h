// Shared by the parser_*_test.cc files: a query's canonical printing, or its error.
#ifndef EMBER_QUERY_PARSER_PARSER_TESTING_H_
#define EMBER_QUERY_PARSER_PARSER_TESTING_H_

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "query/functions/signatures.h"
#include "query/parser/parser.h"

namespace ember::query {
namespace {

inline std::string Canonical(std::string_view q) {
  absl::StatusOr<ExprPtr> e = ParseExpr(q);
  if (!e.ok()) return std::string("ERROR: ") + std::string(e.status().message());
  return ToString(**e);
}
}  // namespace
}  // namespace ember::query

#endif  // EMBER_QUERY_PARSER_PARSER_TESTING_H_
