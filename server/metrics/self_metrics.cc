#include "server/metrics/self_metrics.h"

#include <string>

#include "absl/status/statusor.h"
#include "server/metrics/process_stats.h"

namespace ember::server {

void RegisterExecutorMetrics(const query::QueryExecutor* executor, MetricsRegistry* metrics) {
  CounterFamily* queries_running =
      metrics->AddGauge("ember_queries_running", "Queries being evaluated now (API and rules).");
  CounterFamily* queries_queued = metrics->AddGauge(
      "ember_queries_queued", "Queries waiting for one of the query.max-concurrency workers.");
  CounterFamily* query_memory =
      metrics->AddGauge("ember_query_memory_bytes",
                        "Memory the running queries account for (loaded samples, "
                        "step vectors, subquery buffers).");
  CounterFamily* queries_done = metrics->AddCounter(
      "ember_queries_total",
      "Queries by outcome: completed, cancelled (the client left), timed_out, over_limit "
      "(max-samples or the memory budget), rejected (queue full or waited too long).",
      {"outcome"});
  metrics->AddCollector([=] {
    const query::ExecutorStats st = executor->stats();
    queries_running->With({})->Set(static_cast<double>(st.running));
    queries_queued->With({})->Set(static_cast<double>(st.queued));
    query_memory->With({})->Set(static_cast<double>(st.memory_bytes));
    queries_done->With({"completed"})->Set(static_cast<double>(st.completed));
    queries_done->With({"cancelled"})->Set(static_cast<double>(st.cancelled));
    queries_done->With({"timed_out"})->Set(static_cast<double>(st.timed_out));
    queries_done->With({"over_limit"})->Set(static_cast<double>(st.over_limit));
    queries_done->With({"rejected"})->Set(static_cast<double>(st.rejected));
  });
}

void RegisterIngestMetrics(const ingest::Ingester* ingester, MetricsRegistry* metrics) {
  CounterFamily* ingested = metrics->AddCounter("ember_ingested_samples_total",
                                                "Samples stored, by ingest door.", {"door"});
  CounterFamily* refused = metrics->AddCounter(
      "ember_rejected_samples_total",
      "Samples refused, by reason (invalid_labels, out_of_bounds, out_of_order, duplicate).",
      {"reason"});
  CounterFamily* bad_requests = metrics->AddCounter(
      "ember_ingest_bad_requests_total",
      "Ingest requests answered 4xx because they could not be decoded, by door.", {"door"});
  metrics->AddCollector([=] {
    const ingest::IngestStats st = ingester->stats();
    for (const auto& [door, n] : st.stored_by_door) {
      ingested->With({door})->Set(static_cast<double>(n));
    }
    for (int r = 0; r < 4; ++r) {
      if (st.refused_by_reason[r] == 0) continue;
      refused->With({ingest::RejectReasonName(static_cast<ingest::RejectReason>(r))})
          ->Set(static_cast<double>(st.refused_by_reason[r]));
    }
    for (const auto& [door, n] : st.bad_requests_by_door) {
      bad_requests->With({door})->Set(static_cast<double>(n));
    }
  });
}

void RegisterDbAndProcessMetrics(Db* db, int64_t start_time_ms, MetricsRegistry* metrics) {
  CounterFamily* series =
      metrics->AddGauge("ember_head_series", "Series with an open (head) chunk in memory.");
  CounterFamily* head_chunks =
      metrics->AddGauge("ember_head_chunks", "Open chunks in memory (one per head series).");
  CounterFamily* all_series =
      metrics->AddGauge("ember_series", "Series ever created in the database.");
  CounterFamily* samples =
      metrics->AddGauge("ember_storage_samples", "Samples stored in live partitions.");
  CounterFamily* bytes = metrics->AddGauge("ember_storage_bytes",
                                           "Bytes of the data directory (RocksDB files included).");
  CounterFamily* partitions =
      metrics->AddGauge("ember_storage_partitions", "Live time partitions.");
  CounterFamily* compactions = metrics->AddCounter(
      "ember_rocksdb_compactions_total", "RocksDB compactions completed since the start.");
  CounterFamily* head_bytes =
      metrics->AddGauge("ember_head_memory_bytes", "Estimated memory held by the head.");
  CounterFamily* cpu = metrics->AddCounter("process_cpu_seconds_total",
                                           "User and system CPU time spent in seconds.");
  CounterFamily* rss =
      metrics->AddGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  CounterFamily* vms =
      metrics->AddGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  CounterFamily* start = metrics->AddGauge("process_start_time_seconds",
                                           "Start time of the process since the epoch in seconds.");
  const double start_s = static_cast<double>(start_time_ms) / 1000.0;
  metrics->AddCollector([=] {
    if (absl::StatusOr<DbStats> st = db->Stats(); st.ok()) {
      series->With({})->Set(static_cast<double>(st->head_series));
      head_chunks->With({})->Set(static_cast<double>(st->head_series));
      all_series->With({})->Set(static_cast<double>(st->series));
      samples->With({})->Set(static_cast<double>(st->samples));
      bytes->With({})->Set(static_cast<double>(st->bytes_on_disk));
      partitions->With({})->Set(static_cast<double>(st->partitions));
      compactions->With({})->Set(static_cast<double>(st->compactions_completed));
      head_bytes->With({})->Set(static_cast<double>(st->head_memory_bytes));
    }
    const ProcessStats p = ReadProcessStats();
    cpu->With({})->Set(p.cpu_seconds);
    rss->With({})->Set(p.resident_bytes);
    vms->With({})->Set(p.virtual_bytes);
    start->With({})->Set(start_s);
  });
}

}  // namespace ember::server
