#include "server/metrics/process_stats.h"

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace ember::server {

ProcessStats ReadProcessStats() {
  ProcessStats s;
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const size_t close = line.rfind(')');
    if (close != std::string::npos) {
      std::vector<absl::string_view> f =
          absl::StrSplit(absl::string_view(line).substr(close + 2), ' ');
      // f[0] is field 3 (state): utime = field 14, stime = 15, vsize = 23, rss = 24.
      double utime = 0, stime = 0, vsize = 0, rss = 0;
      if (f.size() > 21 && absl::SimpleAtod(f[11], &utime) && absl::SimpleAtod(f[12], &stime) &&
          absl::SimpleAtod(f[20], &vsize) && absl::SimpleAtod(f[21], &rss)) {
        const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
        s.cpu_seconds = (utime + stime) / ticks;
        s.virtual_bytes = vsize;
        s.resident_bytes = rss * static_cast<double>(sysconf(_SC_PAGESIZE));
      }
    }
  }
  return s;
}

}  // namespace ember::server
