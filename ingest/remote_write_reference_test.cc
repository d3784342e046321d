// The generated protobuf parser as the reference (see remote_write_testing.h): the hand-written
// decoders read reference and mutated requests, nesting and overlong tags as it does.
#include "ingest/proto/remote_v1.pb.h"
#include "ingest/proto/remote_v2.pb.h"
#include "ingest/remote_write_testing.h"

namespace ember::ingest {
namespace {

// --- The generated parser as the reference, on mutated requests. -----------------------------

namespace v2 = io::prometheus::write::v2;

// A request with something in every field the decoders read or skip.
std::string V1Reference() {
  prometheus::WriteRequest req;
  for (const DecodedSeries& series : SampleBatch().series) {
    prometheus::TimeSeries* ts = req.add_timeseries();
    for (const Label& l : series.labels) {
      prometheus::Label* label = ts->add_labels();
      label->set_name(l.name);
      label->set_value(l.value);
    }
    for (const Sample& s : series.samples) {
      prometheus::Sample* sample = ts->add_samples();
      sample->set_timestamp(s.t);
      sample->set_value(s.v);
    }
  }
  prometheus::Exemplar* exemplar = req.mutable_timeseries(0)->add_exemplars();
  exemplar->set_value(0.25);
  exemplar->set_timestamp(7);
  prometheus::Label* trace = exemplar->add_labels();
  trace->set_name("trace_id");
  trace->set_value("abc");
  prometheus::MetricMetadata* md = req.add_metadata();
  md->set_type(prometheus::MetricMetadata::COUNTER);
  md->set_metric_family_name("http_requests_total");
  md->set_help("Requests.");
  md->set_unit("requests");
  return req.SerializeAsString();
}

std::string V2Reference() {
  v2::Request req;
  for (const char* s : {"", "__name__", "up", "job", "api", "rpc_seconds", "Help.", "seconds"}) {
    req.add_symbols(s);
  }
  const std::vector<std::vector<uint32_t>> refs = {{1, 2, 3, 4}, {1, 5, 3, 4}, {1, 5}};
  for (size_t i = 0; i < refs.size(); ++i) {
    v2::TimeSeries* ts = req.add_timeseries();
    for (uint32_t r : refs[i]) ts->add_labels_refs(r);
    for (int j = 0; j <= static_cast<int>(i); ++j) {
      v2::Sample* sample = ts->add_samples();
      sample->set_timestamp(1000 * j - 1);
      sample->set_value(j == 1 ? StaleNaN() : 0.5 * j);
    }
    ts->set_created_timestamp(12345);
  }
  v2::Metadata* md = req.mutable_timeseries(1)->mutable_metadata();
  md->set_type(v2::Metadata::METRIC_TYPE_HISTOGRAM);
  md->set_help_ref(6);
  md->set_unit_ref(7);
  v2::Exemplar* exemplar = req.mutable_timeseries(0)->add_exemplars();
  exemplar->add_labels_refs(3);
  exemplar->add_labels_refs(4);
  exemplar->set_value(1.5);
  return req.SerializeAsString();
}

// One to three random edits: overwrite, flip a bit, insert, delete a run, truncate.
std::string Mutate(std::string raw, std::mt19937* rng) {
  auto pick = [&](size_t n) { return static_cast<size_t>((*rng)() % n); };
  const size_t edits = 1 + pick(3);
  for (size_t e = 0; e < edits; ++e) {
    switch (pick(5)) {
      case 0:
        if (!raw.empty()) raw[pick(raw.size())] = static_cast<char>(pick(256));
        break;
      case 1:
        if (!raw.empty()) {
          const size_t at = pick(raw.size());
          raw[at] = static_cast<char>(raw[at] ^ (1 << pick(8)));
        }
        break;
      case 2:
        raw.insert(pick(raw.size() + 1), 1, static_cast<char>(pick(256)));
        break;
      case 3:
        if (!raw.empty()) raw.erase(pick(raw.size()), 1 + pick(4));
        break;
      case 4:
        raw.resize(pick(raw.size() + 1));
        break;
    }
  }
  return raw;
}

// What DecodeRemoteWriteV1 must make of `raw`, worked out with the generated parser.
struct Reference {
  bool parses = false;
  absl::Status status;
  DecodedBatch batch;
};

Reference ReferenceV1(const std::string& raw) {
  Reference ref;
  prometheus::WriteRequest req;
  if (!req.ParseFromString(raw)) return ref;
  ref.parses = true;
  for (int i = 0; i < req.timeseries_size(); ++i) {
    const prometheus::TimeSeries& ts = req.timeseries(i);
    if (ts.histograms_size() > 0) {
      ref.status = absl::InvalidArgumentError(
          absl::StrCat("timeseries[", i, "]: native histograms are not supported"));
      return ref;
    }
    if (ts.samples_size() == 0) continue;
    DecodedSeries& series = ref.batch.series.emplace_back();
    series.position = i;
    for (const prometheus::Label& l : ts.labels()) series.labels.push_back({l.name(), l.value()});
    for (const prometheus::Sample& s : ts.samples()) {
      series.samples.push_back({s.timestamp(), s.value()});
    }
  }
  const char* const types[] = {"unknown",        "counter", "gauge", "histogram",
                               "gaugehistogram", "summary", "info",  "stateset"};
  for (const prometheus::MetricMetadata& m : req.metadata()) {
    const int t = m.type();
    ref.batch.metadata.push_back(
        {m.metric_family_name(), t >= 0 && t < 8 ? types[t] : "unknown", m.help(), m.unit()});
  }
  return ref;
}

// The same for DecodeRemoteWriteV2. `status` only says whether the request is rejected: which
// of several problems is reported first is the table tests' business.
Reference ReferenceV2(const std::string& raw) {
  Reference ref;
  v2::Request req;
  if (!req.ParseFromString(raw)) return ref;
  ref.parses = true;
  const auto& symbols = req.symbols();
  const uint32_t n = symbols.size();
  const absl::Status rejected = absl::InvalidArgumentError("rejected");
  bool refers = false;
  std::set<std::string> metrics_with_metadata;
  for (int i = 0; i < req.timeseries_size(); ++i) {
    const v2::TimeSeries& ts = req.timeseries(i);
    const v2::Metadata& md = ts.metadata();
    const bool has_metadata =
        ts.has_metadata() && (md.type() != 0 || md.help_ref() != 0 || md.unit_ref() != 0);
    refers = refers || ts.labels_refs_size() > 0 || has_metadata;
    if (ts.histograms_size() > 0 || ts.labels_refs_size() % 2 != 0 ||
        (refers && n > 0 && !symbols[0].empty()) ||
        (has_metadata && (md.help_ref() >= n || md.unit_ref() >= n))) {
      ref.status = rejected;
      return ref;
    }
    Labels labels;
    for (int k = 0; k < ts.labels_refs_size(); k += 2) {
      if (ts.labels_refs(k) >= n || ts.labels_refs(k + 1) >= n) {
        ref.status = rejected;
        return ref;
      }
      labels.push_back({symbols.Get(static_cast<int>(ts.labels_refs(k))),
                        symbols.Get(static_cast<int>(ts.labels_refs(k + 1)))});
    }
    const std::string metric(GetLabelValue(labels, kMetricNameLabel));
    const bool named = std::any_of(labels.begin(), labels.end(),
                                   [](const Label& l) { return l.name == kMetricNameLabel; });
    if (has_metadata && named && metrics_with_metadata.insert(metric).second) {
      const int t = md.type();
      const char* const types[] = {"unknown",        "counter", "gauge", "histogram",
                                   "gaugehistogram", "summary", "info",  "stateset"};
      ref.batch.metadata.push_back({metric, t >= 0 && t < 8 ? types[t] : "unknown",
                                    symbols.Get(static_cast<int>(md.help_ref())),
                                    symbols.Get(static_cast<int>(md.unit_ref()))});
    }
    if (ts.samples_size() == 0) continue;
    DecodedSeries& series = ref.batch.series.emplace_back();
    series.position = i;
    series.labels = std::move(labels);
    for (const v2::Sample& s : ts.samples()) series.samples.push_back({s.timestamp(), s.value()});
  }
  return ref;
}

TEST(RemoteWriteTest, ReferenceRequestsDecodeAsTheGeneratedParserReadsThem) {
  for (const std::string& raw : {V1Reference()}) {
    const Reference want = ReferenceV1(raw);
    ASSERT_TRUE(want.parses);
    DecodedBatch got;
    ASSERT_TRUE(DecodeRemoteWriteV1(SnappyLiterals(raw), &got).ok());
    ExpectSameSeries(got, want.batch);
    ExpectSameMetadata(got.metadata, want.batch.metadata);
    ASSERT_EQ(got.metadata.size(), 1u);
  }
  const Reference want = ReferenceV2(V2Reference());
  ASSERT_TRUE(want.parses);
  ASSERT_TRUE(want.status.ok());
  DecodedBatch got;
  ASSERT_TRUE(DecodeRemoteWriteV2(SnappyLiterals(V2Reference()), &got).ok());
  ExpectSameSeries(got, want.batch);
  ExpectSameMetadata(got.metadata, want.batch.metadata);
  ASSERT_EQ(got.metadata.size(), 1u);
}

TEST(RemoteWriteTest, NestingIsLimitedWhereTheGeneratedParserLimitsIt) {
  // An unknown field in a Label (level 2: WriteRequest, TimeSeries, Label) holding groups nested
  // `depth` deep; the generated parser allows 100 levels in all.
  for (int depth : {1, 97, 98, 99, 150}) {
    SCOPED_TRACE(depth);
    std::string groups;
    for (int k = 0; k < depth; ++k) PutTag(15, 3, &groups);
    for (int k = 0; k < depth; ++k) PutTag(15, 4, &groups);
    std::string label, sample, ts, req;
    PutBytes(1, "__name__", &label);
    PutBytes(2, "up", &label);
    label += groups;
    PutDouble(1, 1.0, &sample);
    PutBytes(1, label, &ts);
    PutBytes(2, sample, &ts);
    PutBytes(1, ts, &req);
    const Reference want = ReferenceV1(req);
    DecodedBatch got;
    EXPECT_EQ(DecodeRemoteWriteV1(SnappyLiterals(req), &got).ok(), want.parses);
    EXPECT_EQ(want.parses, depth <= 98);
  }
}

TEST(RemoteWriteTest, OverlongTagsAndLengthsAreReadAsTheGeneratedParserReadsThem) {
  // A Sample followed by an unknown varint field whose tag is `tag` bytes, or a label whose
  // length is written with `length` bytes.
  const std::string cases[] = {
      std::string("\x88\x80\x80\x80\x40\x01", 6),      // 5-byte tag, bits past 32: dropped.
      std::string("\x88\x80\x80\x80\x80\x00\x01", 7),  // 6-byte tag: refused.
  };
  for (const std::string& extra : cases) {
    SCOPED_TRACE(absl::CHexEscape(absl::string_view(extra)));
    std::string sample, ts, req;
    PutDouble(1, 1.0, &sample);
    sample += extra;
    PutBytes(2, sample, &ts);
    PutBytes(1, ts, &req);
    const Reference want = ReferenceV1(req);
    DecodedBatch got;
    EXPECT_EQ(DecodeRemoteWriteV1(SnappyLiterals(req), &got).ok(), want.parses);
  }
  for (const std::string& length :
       {std::string("\x82\x80\x80\x80\x00", 5), std::string("\x82\x80\x80\x80\x80\x00", 6)}) {
    std::string label = "\x0a" + length + "ab", ts, req;  // Label.name, length 2.
    PutBytes(1, label, &ts);
    PutBytes(1, ts, &req);
    const Reference want = ReferenceV1(req);
    DecodedBatch got;
    EXPECT_EQ(DecodeRemoteWriteV1(SnappyLiterals(req), &got).ok(), want.parses);
    EXPECT_EQ(want.parses, length.size() == 5);
  }
}

TEST(RemoteWriteTest, MutatedRequestsDecodeAsTheGeneratedParserReadsThem) {
  std::mt19937 rng(42);
  int parsed[2] = {0, 0};
  for (int iteration = 0; iteration < 20000; ++iteration) {
    for (int version = 0; version < 2; ++version) {
      const std::string raw = Mutate(version == 0 ? V1Reference() : V2Reference(), &rng);
      const Reference want = version == 0 ? ReferenceV1(raw) : ReferenceV2(raw);
      DecodedBatch got;
      const absl::Status s = kVersions[version].decode(SnappyLiterals(raw), &got);
      SCOPED_TRACE(absl::StrCat(kVersions[version].name, " request ",
                                absl::CHexEscape(absl::string_view(raw)), ": ", s.ToString()));
      if (!want.parses) {
        // A series the decoder saw before the broken part may be reported instead.
        ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
        continue;
      }
      ++parsed[version];
      ASSERT_THAT(s.message(), Not(HasSubstr("protobuf:")));
      if (version == 0) {
        ASSERT_EQ(s, want.status);
      } else {
        ASSERT_EQ(s.ok(), want.status.ok());
      }
      if (!s.ok()) continue;
      ExpectSameSeries(got, want.batch);
      ExpectSameMetadata(got.metadata, want.batch.metadata);
      if (HasFailure()) return;
    }
  }
  // Enough of the mutants must still parse for the comparison to mean something.
  EXPECT_GT(parsed[0], 2000);
  EXPECT_GT(parsed[1], 2000);
}

}  // namespace
}  // namespace ember::ingest
