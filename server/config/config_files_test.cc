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

// A directory under the test's temporary directory, removed at the end of the test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/config_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    // TempDir() may end in '/': normalize, as the config's paths are.
    dir_ = std::filesystem::path(tmpl).lexically_normal().string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, std::string_view content) {
    const std::filesystem::path path = std::filesystem::path(dir_) / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << content;
    return path.string();
  }

  std::string dir_;
};

using ConfigFileTest = TempDirTest;

TEST_F(ConfigFileTest, ExpandsRuleFileGlobsFromTheConfigDirectory) {
  const std::string path = Write("prometheus.yml", R"(rule_files:
  - rules/*.yml
  - extra.yml
  - rules/a.yml
  - missing.yml
  - none/*.yml
)");
  Write("rules/b.yml", "groups: []\n");
  Write("rules/a.yml", "groups: []\n");
  Write("rules/.hidden.yml", "groups: []\n");
  Write("rules/c.txt", "");
  Write("extra.yml", "groups: []\n");
  absl::StatusOr<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->rule_files,
              ElementsAre(dir_ + "/rules/*.yml", dir_ + "/extra.yml", dir_ + "/rules/a.yml",
                          dir_ + "/missing.yml", dir_ + "/none/*.yml"));
  absl::StatusOr<std::vector<std::string>> files = ExpandRuleFiles(*config);
  ASSERT_TRUE(files.ok()) << files.status();
  // Sorted, each once; as Go's filepath.Glob, '*' matches a leading dot and a missing explicit
  // file is no match.
  EXPECT_THAT(*files, ElementsAre(dir_ + "/extra.yml", dir_ + "/rules/.hidden.yml",
                                  dir_ + "/rules/a.yml", dir_ + "/rules/b.yml"));
}

TEST_F(ConfigFileTest, RelativeConfigPathGivesRelativeRuleFiles) {
  absl::StatusOr<Config> config = ParseConfig("rule_files: [rules/*.yml, ./a.yml]\n", "p.yml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->rule_files, ElementsAre("rules/*.yml", "./a.yml"));
  config = ParseConfig("rule_files: [rules/*.yml, ./a.yml, /abs.yml]\n", "conf/p.yml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->rule_files, ElementsAre("conf/rules/*.yml", "conf/a.yml", "/abs.yml"));
}

TEST_F(ConfigFileTest, LoadErrorsNameThePath) {
  absl::StatusOr<Config> missing = LoadConfigFile(dir_ + "/nope.yml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), StartsWith(dir_ + "/nope.yml: "));

  const std::string path = Write("bad.yml", "global:\n  scrape_interval: 15\n");
  absl::StatusOr<Config> bad = LoadConfigFile(path);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              StartsWith(path + ":2:20: global.scrape_interval: "));
}

TEST_F(ConfigFileTest, ReloadKeepsTheRunningConfigOnAnyError) {
  const std::string path = Write("prometheus.yml", "scrape_configs: [{job_name: a}]\n");
  Config running;
  ASSERT_TRUE(ReloadConfigFile(path, &running).ok());
  ASSERT_EQ(running.scrape_configs.size(), 1u);

  // The first job is fine; the second fails only once relabeling is compiled.
  Write("prometheus.yml", R"(scrape_configs:
  - job_name: b
  - job_name: c
    relabel_configs: [{regex: "(", action: drop}]
)");
  const absl::Status s = ReloadConfigFile(path, &running);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(running.scrape_configs.size(), 1u);
  EXPECT_EQ(running.scrape_configs[0].job_name, "a");

  Write("prometheus.yml", "scrape_configs: [{job_name: b}, {job_name: c}]\n");
  ASSERT_TRUE(ReloadConfigFile(path, &running).ok());
  ASSERT_EQ(running.scrape_configs.size(), 2u);
  EXPECT_EQ(running.scrape_configs[1].job_name, "c");
}

TEST_F(ConfigFileTest, CheckReportsAsPromtool) {
  const std::string path = Write("prometheus.yml", "rule_files: [rules/*.yml, extra.yml]\n");
  Write("rules/a.yml", "groups: []\n");
  Write("extra.yml", "groups: []\n");
  std::string report;
  std::vector<std::string> rule_files;
  ASSERT_TRUE(CheckConfigFile(path, &report, &rule_files).ok()) << report;
  EXPECT_EQ(report, "Checking " + path + "\n  SUCCESS: 2 rule files found\n  SUCCESS: " + path +
                        " is valid prometheus config file syntax\n");
  EXPECT_THAT(rule_files, ElementsAre(dir_ + "/extra.yml", dir_ + "/rules/a.yml"));

  // No rule files: no count, as promtool.
  const std::string bare = Write("bare.yml", "global: {scrape_interval: 30s}\n");
  report.clear();
  ASSERT_TRUE(CheckConfigFile(bare, &report).ok()) << report;
  EXPECT_EQ(report, "Checking " + bare + "\n  SUCCESS: " + bare +
                        " is valid prometheus config file syntax\n");
}

TEST_F(ConfigFileTest, CheckFailsOnAMissingExplicitRuleFile) {
  const std::string path = Write("prometheus.yml", "rule_files: [rules/*.yml, missing.yml]\n");
  std::string report;
  const absl::Status s = CheckConfigFile(path, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  const std::string want_error =
      path + ": rule_files: \"" + dir_ + "/missing.yml\" does not point to an existing file";
  EXPECT_EQ(s.message(), want_error);
  EXPECT_EQ(report, "Checking " + path + "\n  FAILED: " + want_error + "\n");
}

TEST_F(ConfigFileTest, CheckReportsConfigErrors) {
  const std::string path =
      Write("prometheus.yml", "scrape_configs:\n  - job_name: a\n    scrape_intervall: 1m\n");
  std::string report;
  const absl::Status s = CheckConfigFile(path, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(report, "Checking " + path + "\n  FAILED: " + path +
                        ":3:5: scrape_configs[0]: unknown field \"scrape_intervall\" (did you "
                        "mean \"scrape_interval\"?)\n");
}

}  // namespace
}  // namespace ember::server
