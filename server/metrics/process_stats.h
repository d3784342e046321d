// The process's own figures from /proc/self/stat, for the process_* metrics.
#ifndef EMBER_SERVER_METRICS_PROCESS_STATS_H_
#define EMBER_SERVER_METRICS_PROCESS_STATS_H_

namespace ember::server {

struct ProcessStats {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
};

// Zeros where /proc cannot be read (not Linux, or a format it does not know).
ProcessStats ReadProcessStats();

}  // namespace ember::server

#endif  // EMBER_SERVER_METRICS_PROCESS_STATS_H_
