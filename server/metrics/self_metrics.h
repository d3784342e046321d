// The server's self-metrics that are read, not counted: the query executor's state, the
// database's statistics and the process's (process_* as Prometheus's client libraries name
// them). Each Register* adds the gauges and a collector that refreshes them on every Expose.
#ifndef EMBER_SERVER_METRICS_SELF_METRICS_H_
#define EMBER_SERVER_METRICS_SELF_METRICS_H_

#include <cstdint>

#include "ember/db.h"
#include "ingest/ingester.h"
#include "query/executor.h"
#include "server/metrics/metrics.h"

namespace ember::server {

// ember_queries_{running,queued,total}, ember_query_memory_bytes. `executor` must outlive
// `metrics`' last Expose.
void RegisterExecutorMetrics(const query::QueryExecutor* executor, MetricsRegistry* metrics);

// ember_ingested_samples_total{door}, ember_rejected_samples_total{reason},
// ember_ingest_bad_requests_total{door}: what `ingester` counted.
void RegisterIngestMetrics(const ingest::Ingester* ingester, MetricsRegistry* metrics);

// ember_head_*, ember_series, ember_storage_*, ember_rocksdb_compactions_total and
// process_{cpu_seconds_total,resident_memory_bytes,virtual_memory_bytes,start_time_seconds}.
void RegisterDbAndProcessMetrics(Db* db, int64_t start_time_ms, MetricsRegistry* metrics);

}  // namespace ember::server

#endif  // EMBER_SERVER_METRICS_SELF_METRICS_H_
