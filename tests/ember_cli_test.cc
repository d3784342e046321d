// The `ember` command's one-shot subcommands, run as a user runs them: import a file, query it
// as a table and as JSON (instant and range), inspect and compact the directory.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/ember_process.h"
#include "tests/testutil/http_client.h"
#include "tests/testutil/temp_dir.h"

namespace ember {
namespace {

using ::testing::HasSubstr;
using testutil::CommandResult;
using testutil::RunCommand;

const std::string kEmber = EMBER_BINARY_DIR "/ember";

class EmberCliTest : public ::testing::Test {
 protected:
  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), kEmber);
    args.push_back(absl::StrCat("--data_dir=", data_));
    args.push_back("--retention=0s");  // The file's timestamps are from 2023.
    absl::StatusOr<CommandResult> r = RunCommand(args, 60'000);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommandResult{};
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = absl::StrCat(dir_.path(), "/", name);
    std::ofstream(path) << text;
    return path;
  }

  testutil::TempDir dir_;
  std::string data_ = absl::StrCat(dir_.path(), "/data");
};

// Two counters, scraped every 15 s for two minutes, in the text exposition format.
std::string CounterFile() {
  std::string text = "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\n";
  for (int i = 0; i <= 8; ++i) {
    const int64_t t = 1'700'000'000'000 + i * 15'000;
    absl::StrAppend(&text, "jobs_total{queue=\"a\"} ", 10 * i, " ", t, "\n");
    absl::StrAppend(&text, "jobs_total{queue=\"b\"} ", 20 * i, " ", t, "\n");
  }
  return text;
}

TEST_F(EmberCliTest, ImportThenQueryAsTableAndJson) {
  CommandResult r = Run({"import", Write("jobs.prom", CounterFile()), "--extra_label=env=test"});
  ASSERT_TRUE(r.exited_zero()) << r.err;
  EXPECT_THAT(r.out, HasSubstr("18 samples stored, 0 refused"));

  r = Run({"query", "sum(rate(jobs_total{env=\"test\"}[1m]))", "--time=1700000120"});
  ASSERT_TRUE(r.exited_zero()) << r.err;
  // 10 + 20 per 15 s = 2 per second.
  EXPECT_THAT(r.out, HasSubstr("{}"));
  EXPECT_THAT(r.out, HasSubstr(" 2\n"));

  r = Run({"query", "jobs_total{queue=\"a\"}", "--time=1700000120", "--format=json"});
  ASSERT_TRUE(r.exited_zero()) << r.err;
  EXPECT_EQ(r.out,
            "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"jobs_total\","
            "\"env\":\"test\",\"queue\":\"a\"},\"value\":[1700000120,\"80\"]}]}\n");

  r = Run({"query", "jobs_total{queue=\"b\"}", "--start=1700000000", "--end=1700000030",
           "--step=15s", "--format=json"});
  ASSERT_TRUE(r.exited_zero()) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"values\":[[1700000000,\"0\"],[1700000015,\"20\"],"
                               "[1700000030,\"40\"]]"));
}

TEST_F(EmberCliTest, ImportReportsTheBadLineAndStoresNothing) {
  CommandResult r = Run({"import", Write("bad.prom", "ok 1 1700000000000\nbad{x=1} 2\n")});
  EXPECT_FALSE(r.exited_zero());
  EXPECT_THAT(r.err, HasSubstr("bad.prom: line 2, column"));
  r = Run({"query", "ok", "--time=1700000000"});
  ASSERT_TRUE(r.exited_zero()) << r.err;
  EXPECT_EQ(r.out, "(no data)\n");
}

TEST_F(EmberCliTest, ImportsLineProtocolByExtension) {
  CommandResult r =
      Run({"import", Write("cpu.lp", "cpu,host=h1 user=1.5,idle=90 1700000000000000000\n")});
  ASSERT_TRUE(r.exited_zero()) << r.err;
  r = Run({"query", "cpu_idle", "--time=1700000000"});
  ASSERT_TRUE(r.exited_zero()) << r.err;
  EXPECT_THAT(r.out, HasSubstr("{__name__=\"cpu_idle\", host=\"h1\"}"));
  EXPECT_THAT(r.out, HasSubstr(" 90\n"));
}

TEST_F(EmberCliTest, InspectAndCompactDescribeTheDirectory) {
  ASSERT_TRUE(Run({"import", Write("jobs.prom", CounterFile())}).exited_zero());
  CommandResult r = Run({"compact"});
  ASSERT_TRUE(r.exited_zero()) << r.err;
  EXPECT_THAT(r.out, HasSubstr("samples           18"));
  r = Run({"inspect"});
  ASSERT_TRUE(r.exited_zero()) << r.err;
  EXPECT_THAT(r.out, HasSubstr("series            2"));
  EXPECT_THAT(r.out, HasSubstr("bytes per sample"));
  EXPECT_THAT(r.out, HasSubstr("       2  jobs_total"));
}

TEST_F(EmberCliTest, QueryOnAMissingDirectoryFailsClearly) {
  CommandResult r = Run({"query", "up"});
  EXPECT_FALSE(r.exited_zero());
  EXPECT_THAT(r.err, HasSubstr("no Ember database here"));
}

TEST_F(EmberCliTest, BadFlagValuesAreNamed) {
  CommandResult r = Run({"query", "up", "--query_timeout=soon"});
  EXPECT_FALSE(r.exited_zero());
  EXPECT_THAT(r.err, HasSubstr("--query_timeout"));
}

TEST_F(EmberCliTest, CheckConfigAndRulesReportLikePromtool) {
  const std::string examples = EMBER_SOURCE_DIR "/examples/model-serving";
  CommandResult r = Run({"check", "config", examples + "/ember.yml"});
  EXPECT_TRUE(r.exited_zero()) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("SUCCESS: 1 rule files found"));
  EXPECT_THAT(r.out, HasSubstr("SUCCESS: 5 rules found"));

  r = Run({"check", "config",
           Write("bad.yml",
                 "global:\n  scrape_interval: 15s\nscrape_configs:\n"
                 "  - job_name: x\n    scrape_intervall: 1m\n")});
  EXPECT_FALSE(r.exited_zero());
  EXPECT_THAT(r.out,
              HasSubstr("bad.yml:5:5: scrape_configs[0]: unknown field \"scrape_intervall\""));

  r = Run({"check", "rules",
           Write("bad_rules.yml",
                 "groups:\n  - name: g\n    rules:\n"
                 "      - record: x\n        expr: sum(\n")});
  EXPECT_FALSE(r.exited_zero());
  EXPECT_THAT(r.out, HasSubstr("bad_rules.yml:5:"));
  EXPECT_THAT(r.out, HasSubstr("FAILED"));
}

// SIGHUP and POST /-/reload apply a changed rule file; a broken one is refused whole and the
// running rules stay.
TEST_F(EmberCliTest, ReloadAppliesValidConfigAndKeepsTheOldOnErrors) {
  const std::string rules = Write("rules.yml",
                                  "groups:\n  - name: first\n    rules:\n"
                                  "      - record: one\n        expr: vector(1)\n");
  const std::string config =
      Write("ember.yml",
            absl::StrCat("global:\n  evaluation_interval: 1s\nrule_files:\n  - ", rules, "\n"));
  testutil::EmberProcess ember(kEmber);
  ASSERT_TRUE(ember
                  .Start(data_, absl::StrCat(dir_.path(), "/ember.log"), 60'000,
                         {absl::StrCat("--config_file=", config)})
                  .ok());
  testutil::HttpClient client(ember.port(), 5'000);
  auto rules_json = [&] {
    absl::StatusOr<testutil::HttpResult> r = client.Get("/api/v1/rules");
    return r.ok() ? r->body : std::string();
  };
  EXPECT_THAT(rules_json(), HasSubstr("\"name\":\"first\""));

  Write("rules.yml",
        "groups:\n  - name: second\n    rules:\n"
        "      - record: two\n        expr: vector(2)\n");
  ember.process().Signal(SIGHUP);
  EXPECT_TRUE(testutil::WaitFor(
      [&] { return absl::StrContains(rules_json(), "\"name\":\"second\""); }, 10'000));

  Write("rules.yml", "groups:\n  - name: third\n    rules:\n      - record: 3\n");
  absl::StatusOr<testutil::HttpResult> r = client.Request("POST", "/-/reload");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_THAT(r->body, HasSubstr("rules.yml:"));
  EXPECT_THAT(rules_json(), HasSubstr("\"name\":\"second\""));

  ember.process().Signal(SIGTERM);
  EXPECT_EQ(testutil::DescribeWaitStatus(ember.process().Wait(30'000)), "exit 0");
}

// --storage.low-memory lowers the defaults it names; a flag given explicitly keeps its value.
// The server runs with them (the flags page shows what it was started with, and the executor
// reports its concurrency), and takes a write.
TEST_F(EmberCliTest, LowMemoryProfileLowersDefaultsButNotExplicitFlags) {
  testutil::EmberProcess ember(kEmber);
  ASSERT_TRUE(ember
                  .Start(data_, absl::StrCat(dir_.path(), "/ember.log"), 60'000,
                         {"--storage.low-memory", "--http_threads=3"})
                  .ok());
  testutil::HttpClient client(ember.port(), 5'000);
  absl::StatusOr<testutil::HttpResult> flags = client.Get("/api/v1/status/flags");
  ASSERT_TRUE(flags.ok());
  EXPECT_THAT(flags->body, HasSubstr("\"storage_block_cache_bytes\":\"4194304\""));
  EXPECT_THAT(flags->body, HasSubstr("\"storage_memtable_bytes\":\"4194304\""));
  EXPECT_THAT(flags->body, HasSubstr("\"query_max_concurrency\":\"4\""));
  EXPECT_THAT(flags->body, HasSubstr("\"http_threads\":\"3\""));
  absl::StatusOr<testutil::HttpResult> info = client.Get("/api/v1/status/runtimeinfo");
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(info->body, HasSubstr("\"maxConcurrency\":4"));
  absl::StatusOr<testutil::HttpResult> w = client.Request(
      "POST", "/api/v1/import/prometheus", "edge_up 1\n", {{"Content-Type", "text/plain"}});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->status / 100, 2) << w->body;

  ember.process().Signal(SIGTERM);
  EXPECT_EQ(testutil::DescribeWaitStatus(ember.process().Wait(30'000)), "exit 0");
}

}  // namespace
}  // namespace ember
