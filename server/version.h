// Ember's version and the Prometheus HTTP API version it is compatible with (what
// /api/v1/status/buildinfo reports as `version`: Grafana picks its API calls from it).
#ifndef EMBER_SERVER_VERSION_H_
#define EMBER_SERVER_VERSION_H_

namespace ember::server {

inline constexpr const char* kEmberVersion = "0.2.0";
inline constexpr const char* kPrometheusCompatibleVersion = "3.0.0";

// "ember 0.2.0 (Prometheus API 3.0.0), built <date>".
const char* VersionLine();

}  // namespace ember::server

#endif  // EMBER_SERVER_VERSION_H_
