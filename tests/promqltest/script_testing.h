// Shared by the script_*_test.cc files, the tests of the PromQL test-script reader: value bits,
// a sequence's floats, and the commands of one kind in a script.
#ifndef EMBER_TESTS_PROMQLTEST_SCRIPT_TESTING_H_
#define EMBER_TESTS_PROMQLTEST_SCRIPT_TESTING_H_

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "ember/db.h"
#include "ember/labels.h"
#include "ember/sample.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/promqltest/index.h"
#include "tests/promqltest/loader.h"
#include "tests/promqltest/notation.h"
#include "tests/promqltest/script.h"
#include "tests/testutil/temp_dir.h"

namespace ember::promqltest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

inline uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

// The float values of a sequence; omitted positions as nullopt.
inline std::vector<std::optional<double>> Floats(const std::vector<SequenceValue>& values) {
  std::vector<std::optional<double>> out;
  for (const SequenceValue& v : values) {
    out.push_back(v.is_float() ? std::optional<double>(v.value) : std::nullopt);
  }
  return out;
}

template <typename T>
std::vector<const T*> All(const Script& s) {
  std::vector<const T*> out;
  for (const Command& c : s.commands) {
    if (const T* x = std::get_if<T>(&c)) out.push_back(x);
  }
  return out;
}

}  // namespace
}  // namespace ember::promqltest

#endif  // EMBER_TESTS_PROMQLTEST_SCRIPT_TESTING_H_
