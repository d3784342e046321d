// The file side of server/config/config.h: reading and reloading the config file, expanding
// rule_files, and `ember check config`.
#include <glob.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/config/config.h"
#include "util/status_macros.h"
#include "util/yaml.h"

namespace ember::server {
namespace {

using yaml::Quote;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    const std::string message =
        absl::StrFormat("%s: cannot open config file: %s", path, std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message) : absl::FailedPreconditionError(message);
  }
  std::string content;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) content.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: cannot read config file: %s", path, std::strerror(err)));
  }
  return content;
}

}  // namespace

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  EMBER_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  return ParseConfig(content, path);
}

absl::Status ReloadConfigFile(const std::string& path, Config* config) {
  EMBER_ASSIGN_OR_RETURN(Config loaded, LoadConfigFile(path));
  *config = std::move(loaded);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ExpandRuleFiles(const Config& config) {
  std::set<std::string> files;
  for (const std::string& pattern : config.rule_files) {
    glob_t g{};
    // GLOB_PERIOD: Go's filepath.Glob lets '*' match a leading '.', so must we.
    const int rc = glob(pattern.c_str(), GLOB_PERIOD, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        const std::string_view p = g.gl_pathv[i];
        const std::string_view base = p.substr(p.rfind('/') + 1);  // npos + 1 == 0.
        if (base != "." && base != "..") files.emplace(p);         // Go's Glob never lists these.
      }
    }
    globfree(&g);
    if (rc == GLOB_NOSPACE) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("rule_files: %s: glob ran out of memory", Quote(pattern)));
    }
    // GLOB_NOMATCH is no files; GLOB_ABORTED cannot happen without GLOB_ERR or an errfunc.
  }
  return std::vector<std::string>(files.begin(), files.end());
}

absl::Status CheckConfigFile(const std::string& path, std::string* report,
                             std::vector<std::string>* rule_files) {
  absl::StrAppend(report, "Checking ", path, "\n");
  const auto fail = [&](const absl::Status& s) {
    absl::StrAppend(report, "  FAILED: ", s.message(), "\n");
    return s;
  };
  absl::StatusOr<Config> config = LoadConfigFile(path);
  if (!config.ok()) return fail(config.status());
  // As promtool: a pattern without '*' names a file that must exist.
  for (const std::string& pattern : config->rule_files) {
    if (pattern.find('*') != std::string::npos) continue;
    Config one;
    one.rule_files = {pattern};
    absl::StatusOr<std::vector<std::string>> found = ExpandRuleFiles(one);
    if (!found.ok()) return fail(found.status());
    if (found->empty()) {
      return fail(absl::NotFoundError(absl::StrFormat(
          "%s: rule_files: %s does not point to an existing file", path, Quote(pattern))));
    }
  }
  absl::StatusOr<std::vector<std::string>> files = ExpandRuleFiles(*config);
  if (!files.ok()) return fail(files.status());
  if (!files->empty()) absl::StrAppend(report, "  SUCCESS: ", files->size(), " rule files found\n");
  absl::StrAppend(report, "  SUCCESS: ", path, " is valid prometheus config file syntax\n");
  if (rule_files != nullptr) *rule_files = std::move(*files);
  return absl::OkStatus();
}

}  // namespace ember::server
