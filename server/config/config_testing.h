// Shared by the config_*_test.cc files: parsing a prometheus.yml text, and its error message.
#ifndef EMBER_SERVER_CONFIG_CONFIG_TESTING_H_
#define EMBER_SERVER_CONFIG_CONFIG_TESTING_H_

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ember/labels.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config.h"
#include "server/scrape/relabel.h"

namespace ember::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

inline absl::StatusOr<Config> Parse(std::string_view yaml) {
  return ParseConfig(yaml, "prometheus.yml");
}

// The error message of parsing `yaml`, or "OK".
inline std::string ErrorOf(std::string_view yaml) {
  absl::StatusOr<Config> config = Parse(yaml);
  if (config.ok()) return "OK";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  const absl::string_view message = config.status().message();
  return std::string(message.data(), message.size());
}

}  // namespace
}  // namespace ember::server

#endif  // EMBER_SERVER_CONFIG_CONFIG_TESTING_H_
