// Remote write 1.0 and 2.0 decoding and encoding. A request is decompressed into one buffer and
// read with WireReader (ingest/wire_reader.h): labels are views into that buffer until they are
// copied, once, into the DecodedBatch, which Labels owning std::strings makes unavoidable. The
// generated parser, even on an Arena, spends most of its time giving every label string a
// std::string of its own first: it decoded 2-3x slower (bench/remote_write_bench.cc). The
// encoders, which serve tests and load generators, use the generated messages on an Arena;
// remote_write_reference_test.cc checks the two readings of the wire format against each other.
#include "ingest/remote_write.h"

#include <snappy.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/arena.h"
#include "ingest/proto/remote_v1.pb.h"
#include "ingest/proto/remote_v2.pb.h"
#include "ingest/wire_reader.h"
#include "util/quote.h"
#include "util/status_macros.h"

namespace ember::ingest {
namespace {

using google::protobuf::Arena;
namespace v2 = io::prometheus::write::v2;

// Metric types by their number, which 1.0's MetricMetadata.MetricType and 2.0's
// Metadata.MetricType share (0 is UNKNOWN in 1.0, METRIC_TYPE_UNSPECIFIED in 2.0).
constexpr std::string_view kTypeNames[] = {"unknown",        "counter", "gauge", "histogram",
                                           "gaugehistogram", "summary", "info",  "stateset"};

std::string_view TypeName(int type) {
  if (type < 0 || type >= static_cast<int>(std::size(kTypeNames))) return kTypeNames[0];
  return kTypeNames[type];
}

// The number of a lower-case type name; "unknown" (0) for anything else ("untyped", "").
int TypeNumber(std::string_view name) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (kTypeNames[i] == name) return static_cast<int>(i);
  }
  return 0;
}

std::string Position(int i) {
  return PositionName(PositionKind::kTimeseries, static_cast<uint32_t>(i));
}

// A decompressed request. Not zero-filled first: snappy writes every byte or fails.
struct Uncompressed {
  std::unique_ptr<char[]> data;
  std::string_view bytes;  // All of `data`.
};

// The DecodedBatch takes a few times the decompressed size again (a std::string per label,
// vectors per series), one more reason to check the size before anything else.
absl::StatusOr<Uncompressed> Uncompress(std::string_view body, size_t max_decoded_bytes) {
  if (body.empty()) {
    // Senders compress even an empty message, to the one byte 0x00 (its length, a varint).
    return absl::InvalidArgumentError(
        "snappy: empty body is not a snappy block (an empty request compresses to \"\\x00\")");
  }
  size_t size = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &size)) {
    return absl::InvalidArgumentError("snappy: corrupt or truncated block");
  }
  if (size > max_decoded_bytes) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "snappy: decompressed size %d exceeds the limit of %d bytes", size, max_decoded_bytes));
  }
  Uncompressed out;
  out.data = std::make_unique_for_overwrite<char[]>(size);
  out.bytes = std::string_view(out.data.get(), size);
  if (!snappy::RawUncompress(body.data(), body.size(), out.data.get())) {
    return absl::InvalidArgumentError("snappy: corrupt or truncated block");
  }
  return out;
}

// `message` serialised and snappy-compressed.
std::string CompressMessage(const google::protobuf::MessageLite& message) {
  const size_t size = message.ByteSizeLong();
  auto buf = std::make_unique_for_overwrite<char[]>(size);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(buf.get()));
  std::string out;
  snappy::Compress(buf.get(), size, &out);
  return out;
}

template <typename Vector>
void ReserveMore(Vector* v, size_t more) {
  // Geometric, so that a caller appending many requests to one batch stays linear.
  if (v->size() + more > v->capacity()) v->reserve(std::max(v->size() + more, 2 * v->capacity()));
}

// A 2.0 TimeSeries' Metadata, symbol references unresolved.
struct V2Metadata {
  int32_t type = 0;
  uint32_t help_ref = 0;
  uint32_t unit_ref = 0;
};

// What one TimeSeries message holds, as views into the request. Reused from series to series
// of a request, so that its vectors stop allocating after the first few.
struct SeriesFields {
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  std::vector<uint32_t> label_refs;     // 2.0.
  std::vector<uint32_t> exemplar_refs;  // 2.0: scratch space for checking exemplars.
  std::vector<Sample> samples;
  int num_histograms = 0;
  bool has_metadata = false;  // 2.0.
  V2Metadata metadata;        // 2.0.

  void Clear() {
    labels.clear();
    label_refs.clear();
    samples.clear();
    num_histograms = 0;
    has_metadata = false;
    metadata = V2Metadata{};
  }
};

// The message decoders below read their message from the length-delimited value at `r`, one
// level deeper than `r`'s (WireReader::ReadMessage), or, for the messages a request holds, from
// `message` at level 1. Each is a switch over the fields of its message in ingest/proto/; as in
// any message, a field that appears twice takes its last value.

// Sample, the same in 1.0 and 2.0: value = 1, timestamp = 2.
bool ReadSample(WireReader& r, Sample* sample) {
  *sample = Sample{};
  return r.ReadMessage([&](uint32_t tag, WireReader& m) {
    switch (tag) {
      case WireTag(1, kFixed64):
        return m.ReadDouble(&sample->v);
      case WireTag(2, kVarint):
        return m.ReadVarintAs(&sample->t);
      default:
        return m.Skip(tag);
    }
  });
}

// 1.0 Label: name = 1, value = 2.
bool ReadV1Label(WireReader& r, std::string_view* name, std::string_view* value) {
  *name = *value = std::string_view();
  return r.ReadMessage([&](uint32_t tag, WireReader& m) {
    switch (tag) {
      case WireTag(1, kLengthDelimited):
        return m.ReadBytes(name);
      case WireTag(2, kLengthDelimited):
        return m.ReadBytes(value);
      default:
        return m.Skip(tag);
    }
  });
}

// 1.0 Exemplar: labels = 1, value = 2, timestamp = 3. Ignored, but read through all the same,
// so that a request is accepted exactly when the generated parser would accept it.
bool CheckV1Exemplar(WireReader& r) {
  return r.ReadMessage([](uint32_t tag, WireReader& m) {
    std::string_view name, value;
    return tag == WireTag(1, kLengthDelimited) ? ReadV1Label(m, &name, &value) : m.Skip(tag);
  });
}

// 1.0 TimeSeries: labels = 1, samples = 2, exemplars = 3 (checked, ignored), histograms = 4
// (counted; declared `bytes` in ingest/proto/, so neither parser looks inside).
bool ParseV1Series(std::string_view message, SeriesFields* fields) {
  fields->Clear();
  return WireReader::ForEachField(message, /*level=*/1, [&](uint32_t tag, WireReader& r) {
    switch (tag) {
      case WireTag(1, kLengthDelimited): {
        auto& [name, value] = fields->labels.emplace_back();
        return ReadV1Label(r, &name, &value);
      }
      case WireTag(2, kLengthDelimited):
        return ReadSample(r, &fields->samples.emplace_back());
      case WireTag(3, kLengthDelimited):
        return CheckV1Exemplar(r);
      case WireTag(4, kLengthDelimited):
        ++fields->num_histograms;
        return r.Skip(tag);
      default:
        return r.Skip(tag);
    }
  });
}

// 1.0 MetricMetadata: type = 1, metric_family_name = 2, help = 4, unit = 5.
bool ParseV1Metadata(std::string_view message, MetricMetadata* md) {
  int32_t type = 0;  // An enum is an int32 on the wire.
  std::string_view metric, help, unit;
  const bool ok = WireReader::ForEachField(message, /*level=*/1, [&](uint32_t tag, WireReader& r) {
    switch (tag) {
      case WireTag(1, kVarint):
        return r.ReadVarintAs(&type);
      case WireTag(2, kLengthDelimited):
        return r.ReadBytes(&metric);
      case WireTag(4, kLengthDelimited):
        return r.ReadBytes(&help);
      case WireTag(5, kLengthDelimited):
        return r.ReadBytes(&unit);
      default:
        return r.Skip(tag);
    }
  });
  if (!ok) return false;
  md->metric.assign(metric);
  md->type.assign(TypeName(type));
  md->help.assign(help);
  md->unit.assign(unit);
  return true;
}

// 2.0 Metadata: type = 1, help_ref = 3, unit_ref = 4. A second occurrence of the message
// merges into the first, field by field, as the generated parser does.
bool ReadV2Metadata(WireReader& r, V2Metadata* md) {
  return r.ReadMessage([&](uint32_t tag, WireReader& m) {
    switch (tag) {
      case WireTag(1, kVarint):
        return m.ReadVarintAs(&md->type);
      case WireTag(3, kVarint):
        return m.ReadVarintAs(&md->help_ref);
      case WireTag(4, kVarint):
        return m.ReadVarintAs(&md->unit_ref);
      default:
        return m.Skip(tag);
    }
  });
}

// Appends the elements of a packed repeated uint32 field at `r` (higher bits dropped, as the
// generated parser drops them).
bool ReadPackedUint32(WireReader& r, std::vector<uint32_t>* out) {
  std::string_view packed;
  if (!r.ReadBytes(&packed)) return false;
  WireReader elements(packed);
  while (!elements.empty()) {
    if (!elements.ReadVarintAs(&out->emplace_back())) return false;
  }
  return true;
}

// 2.0 Exemplar: labels_refs = 1, value = 2, timestamp = 3. Ignored, but read through like a
// 1.0 exemplar.
bool CheckV2Exemplar(WireReader& r, std::vector<uint32_t>* scratch) {
  return r.ReadMessage([&](uint32_t tag, WireReader& m) {
    if (tag != WireTag(1, kLengthDelimited)) return m.Skip(tag);
    scratch->clear();
    return ReadPackedUint32(m, scratch);
  });
}

// 2.0 TimeSeries: labels_refs = 1 (packed, or one varint per element: parsers accept both),
// samples = 2, histograms = 3 (counted, opaque), exemplars = 4 (checked, ignored),
// metadata = 5, created_timestamp = 6 (skipped).
bool ParseV2Series(std::string_view message, SeriesFields* fields) {
  fields->Clear();
  return WireReader::ForEachField(message, /*level=*/1, [&](uint32_t tag, WireReader& r) {
    switch (tag) {
      case WireTag(1, kLengthDelimited):
        return ReadPackedUint32(r, &fields->label_refs);
      case WireTag(1, kVarint):
        return r.ReadVarintAs(&fields->label_refs.emplace_back());
      case WireTag(2, kLengthDelimited):
        return ReadSample(r, &fields->samples.emplace_back());
      case WireTag(3, kLengthDelimited):
        ++fields->num_histograms;
        return r.Skip(tag);
      case WireTag(4, kLengthDelimited):
        return CheckV2Exemplar(r, &fields->exemplar_refs);
      case WireTag(5, kLengthDelimited):
        fields->has_metadata = true;
        return ReadV2Metadata(r, &fields->metadata);
      default:
        return r.Skip(tag);
    }
  });
}

// A request the generated parser would refuse: `where` is "" or names the part, as
// ": timeseries[3]".
absl::Status MalformedError(std::string_view message, size_t size, std::string_view where) {
  return absl::InvalidArgumentError(
      absl::StrFormat("protobuf: cannot parse %s (%d bytes)%s", message, size, where));
}

absl::Status HistogramsError(int i) {
  return absl::InvalidArgumentError(
      absl::StrCat(Position(i), ": native histograms are not supported"));
}

// Appends the series that `fields` describes: the one copy of each label string.
void AddSeries(const SeriesFields& fields, int position, DecodedBatch* out) {
  DecodedSeries& series = out->series.emplace_back();
  series.position = static_cast<uint32_t>(position);
  series.labels.resize(fields.labels.size());
  for (size_t k = 0; k < fields.labels.size(); ++k) {
    series.labels[k].name.assign(fields.labels[k].first);
    series.labels[k].value.assign(fields.labels[k].second);
  }
  series.samples.assign(fields.samples.begin(), fields.samples.end());
}

}  // namespace

absl::Status DecodeRemoteWriteV1(std::string_view body, DecodedBatch* out) {
  return DecodeRemoteWriteV1(body, kDefaultMaxDecodedBytes, out);
}

absl::Status DecodeRemoteWriteV1(std::string_view body, size_t max_decoded_bytes,
                                 DecodedBatch* out) {
  out->kind = PositionKind::kTimeseries;
  EMBER_ASSIGN_OR_RETURN(const Uncompressed raw, Uncompress(body, max_decoded_bytes));
  auto malformed = [&](std::string_view where) {
    return MalformedError("WriteRequest", raw.bytes.size(), where);
  };

  // WriteRequest: timeseries = 1, metadata = 3.
  SeriesFields fields;
  WireReader request(raw.bytes);
  for (int i = 0, j = 0; !request.empty();) {
    uint32_t tag;
    std::string_view value;
    if (!request.ReadTag(&tag)) return malformed("");
    switch (tag) {
      case WireTag(1, kLengthDelimited): {
        if (!request.ReadBytes(&value)) return malformed("");
        const int index = i++;
        if (!ParseV1Series(value, &fields)) return malformed(absl::StrCat(": ", Position(index)));
        if (fields.num_histograms > 0) return HistogramsError(index);
        if (fields.samples.empty()) break;  // Nothing to write; exemplars alone are ignored.
        AddSeries(fields, index, out);
        break;
      }
      case WireTag(3, kLengthDelimited): {
        if (!request.ReadBytes(&value)) return malformed("");
        const int index = j++;
        if (!ParseV1Metadata(value, &out->metadata.emplace_back())) {
          return malformed(absl::StrFormat(": metadata[%d]", index));
        }
        break;
      }
      default:
        if (!request.Skip(tag)) return malformed("");
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeRemoteWriteV2(std::string_view body, DecodedBatch* out) {
  return DecodeRemoteWriteV2(body, kDefaultMaxDecodedBytes, out);
}

absl::Status DecodeRemoteWriteV2(std::string_view body, size_t max_decoded_bytes,
                                 DecodedBatch* out) {
  out->kind = PositionKind::kTimeseries;
  EMBER_ASSIGN_OR_RETURN(const Uncompressed raw, Uncompress(body, max_decoded_bytes));
  auto malformed = [&](std::string_view where) {
    return MalformedError("io.prometheus.write.v2.Request", raw.bytes.size(), where);
  };

  // Request: symbols = 4, timeseries = 5 (1 to 3 are reserved). The symbols may come after the
  // series that refer to them, so a first pass collects both.
  std::vector<std::string_view> symbols;
  std::vector<std::string_view> series_messages;
  const bool ok =
      WireReader::ForEachField(raw.bytes, /*level=*/0, [&](uint32_t tag, WireReader& r) {
        switch (tag) {
          case WireTag(4, kLengthDelimited):
            return r.ReadBytes(&symbols.emplace_back());
          case WireTag(5, kLengthDelimited):
            return r.ReadBytes(&series_messages.emplace_back());
          default:
            return r.Skip(tag);
        }
      });
  if (!ok) return malformed("");

  const uint32_t num_symbols = static_cast<uint32_t>(symbols.size());
  auto ref_error = [&](int i, std::string_view field, uint32_t ref) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %s = %d is out of range (symbols has %d entries)", Position(i), field,
                        ref, num_symbols));
  };
  // The spec makes symbols[0] the empty string, which a reference of 0 means for absent help
  // and unit. A table that breaks the rule is only rejected once something refers into it.
  bool first_symbol_checked = false;
  // Metric name -> index into out->metadata of its entry from this request: the first wins.
  absl::flat_hash_map<std::string_view, size_t> metadata_index;

  SeriesFields fields;
  ReserveMore(&out->series, series_messages.size());
  for (int i = 0; i < static_cast<int>(series_messages.size()); ++i) {
    if (!ParseV2Series(series_messages[i], &fields)) {
      return malformed(absl::StrCat(": ", Position(i)));
    }
    if (fields.num_histograms > 0) return HistogramsError(i);
    const std::vector<uint32_t>& refs = fields.label_refs;
    if (refs.size() % 2 != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: labels_refs has odd length %d (it holds name, value pairs)",
                          Position(i), refs.size()));
    }
    const V2Metadata& meta = fields.metadata;
    const bool has_metadata =
        fields.has_metadata && (meta.type != 0 || meta.help_ref != 0 || meta.unit_ref != 0);
    if (!first_symbol_checked && (!refs.empty() || has_metadata)) {
      if (num_symbols > 0 && !symbols[0].empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "symbols[0] is %s, not the empty string the spec requires (first reference: %s)",
            util::QuoteInput(symbols[0], /*max_shown=*/40), Position(i)));
      }
      first_symbol_checked = true;
    }
    for (size_t k = 0; k < refs.size(); ++k) {
      if (refs[k] >= num_symbols) {
        return ref_error(i, absl::StrFormat("labels_refs[%d]", k), refs[k]);
      }
    }

    if (has_metadata) {
      if (meta.help_ref >= num_symbols) return ref_error(i, "metadata.help_ref", meta.help_ref);
      if (meta.unit_ref >= num_symbols) return ref_error(i, "metadata.unit_ref", meta.unit_ref);
      for (size_t k = 0; k < refs.size(); k += 2) {
        if (symbols[refs[k]] != kMetricNameLabel) continue;
        const std::string_view metric = symbols[refs[k + 1]];
        if (metadata_index.try_emplace(metric, out->metadata.size()).second) {
          MetricMetadata& md = out->metadata.emplace_back();
          md.metric.assign(metric);
          md.type.assign(TypeName(meta.type));
          md.help.assign(symbols[meta.help_ref]);
          md.unit.assign(symbols[meta.unit_ref]);
        }
        break;
      }
    }

    if (fields.samples.empty()) continue;
    fields.labels.clear();
    for (size_t k = 0; k < refs.size(); k += 2) {
      fields.labels.emplace_back(symbols[refs[k]], symbols[refs[k + 1]]);
    }
    AddSeries(fields, i, out);
  }
  return absl::OkStatus();
}

std::string EncodeRemoteWriteV1(const DecodedBatch& batch) {
  Arena arena;
  auto* req = Arena::CreateMessage<prometheus::WriteRequest>(&arena);
  req->mutable_timeseries()->Reserve(static_cast<int>(batch.series.size()));
  for (const DecodedSeries& series : batch.series) {
    prometheus::TimeSeries* ts = req->add_timeseries();
    ts->mutable_labels()->Reserve(static_cast<int>(series.labels.size()));
    for (const Label& l : series.labels) {
      prometheus::Label* label = ts->add_labels();
      label->set_name(l.name);
      label->set_value(l.value);
    }
    ts->mutable_samples()->Reserve(static_cast<int>(series.samples.size()));
    for (const Sample& s : series.samples) {
      prometheus::Sample* sample = ts->add_samples();
      sample->set_value(s.v);
      sample->set_timestamp(s.t);
    }
  }
  for (const MetricMetadata& m : batch.metadata) {
    prometheus::MetricMetadata* md = req->add_metadata();
    md->set_type(static_cast<prometheus::MetricMetadata::MetricType>(TypeNumber(m.type)));
    md->set_metric_family_name(m.metric);
    md->set_help(m.help);
    md->set_unit(m.unit);
  }
  return CompressMessage(*req);
}

std::string EncodeRemoteWriteV2(const DecodedBatch& batch) {
  Arena arena;
  auto* req = Arena::CreateMessage<v2::Request>(&arena);
  // Keys view strings of `batch`, which outlives the table.
  absl::flat_hash_map<std::string_view, uint32_t> symbol_refs;
  auto ref = [&](std::string_view s) {
    auto [it, inserted] = symbol_refs.try_emplace(s, static_cast<uint32_t>(symbol_refs.size()));
    if (inserted) req->add_symbols(s.data(), s.size());
    return it->second;
  };
  ref("");  // symbols[0], as the spec requires.

  absl::flat_hash_map<std::string_view, const MetricMetadata*> metadata;
  for (const MetricMetadata& m : batch.metadata) metadata.try_emplace(m.metric, &m);

  req->mutable_timeseries()->Reserve(static_cast<int>(batch.series.size()));
  for (const DecodedSeries& series : batch.series) {
    v2::TimeSeries* ts = req->add_timeseries();
    ts->mutable_labels_refs()->Reserve(static_cast<int>(2 * series.labels.size()));
    for (const Label& l : series.labels) {
      ts->add_labels_refs(ref(l.name));
      ts->add_labels_refs(ref(l.value));
    }
    ts->mutable_samples()->Reserve(static_cast<int>(series.samples.size()));
    for (const Sample& s : series.samples) {
      v2::Sample* sample = ts->add_samples();
      sample->set_value(s.v);
      sample->set_timestamp(s.t);
    }
    if (metadata.empty()) continue;
    auto it = metadata.find(GetLabelValue(series.labels, kMetricNameLabel));
    if (it == metadata.end()) continue;
    v2::Metadata* md = ts->mutable_metadata();
    md->set_type(static_cast<v2::Metadata::MetricType>(TypeNumber(it->second->type)));
    md->set_help_ref(ref(it->second->help));
    md->set_unit_ref(ref(it->second->unit));
  }
  return CompressMessage(*req);
}

}  // namespace ember::ingest
