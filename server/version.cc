#include "server/version.h"

namespace ember::server {

const char* VersionLine() { return "ember 0.2.0 (Prometheus API 3.0.0), built " __DATE__; }

}  // namespace ember::server
