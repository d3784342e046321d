// Internal to the `ember` binary (server/cmd/ember_main.cc): the flags and helpers its
// commands share. ember_main.cc defines the flags, `serve` and main(); ember_main_tools.cc the
// offline commands (query, import, inspect, compact, demo, check).
#ifndef EMBER_SERVER_CMD_EMBER_CLI_H_
#define EMBER_SERVER_CMD_EMBER_CLI_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ember/db.h"
#include "gflags/gflags.h"
#include "query/engine.h"

DECLARE_string(data_dir);
DECLARE_string(time);
DECLARE_string(start);
DECLARE_string(end);
DECLARE_string(step);
DECLARE_string(format);
DECLARE_string(extra_label);
DECLARE_string(import_timestamp);
DECLARE_int32(targets);
DECLARE_int32(hours);

namespace ember_cli {

// Prints "ember: <message>" to stderr; returns the exit code 1.
int Fail(const absl::Status& s);
// A Prometheus duration flag in milliseconds; InvalidArgument naming --<name>.
absl::StatusOr<int64_t> FlagDuration(const char* name, const std::string& value);
// The database and engine options the flags give.
absl::StatusOr<ember::Options> MakeOptions();
absl::StatusOr<ember::query::EngineOptions> MakeEngineOptions();
// Opens an existing data directory for a one-shot command (no background work).
absl::StatusOr<std::unique_ptr<ember::Db>> OpenExisting(const std::string& dir);

// The commands; each returns the process's exit code.
int Serve();
int Query(const std::string& dir, const std::string& expr);
int Import(const std::vector<std::string>& files);
int Inspect(const std::string& dir);
int Compact(const std::string& dir);
int Demo();
int Check(const std::vector<std::string>& args);

}  // namespace ember_cli

#endif  // EMBER_SERVER_CMD_EMBER_CLI_H_
