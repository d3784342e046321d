// Hostile bodies at the write doors (see bad_input_testing.h): remote write 1.0 and 2.0, the
// text import and the Influx line protocol; and, last, that the server and the good data
// survived and no refused write left a series behind.
#include <zlib.h>

#include "tests/bad_input_testing.h"

namespace ember {
namespace {

// ---- Hand-made bodies: protobuf wire format, snappy literals, gzip. ----------------------------

// Protobuf fields written one by one, so a test can write what no encoder would.
class ProtoWriter {
 public:
  ProtoWriter& Varint(int field, uint64_t v) {
    PutVarint(static_cast<uint64_t>(field) << 3, &out_);
    PutVarint(v, &out_);
    return *this;
  }
  ProtoWriter& Bytes(int field, std::string_view b) {
    PutVarint((static_cast<uint64_t>(field) << 3) | 2, &out_);
    PutVarint(b.size(), &out_);
    out_.append(b);
    return *this;
  }
  ProtoWriter& Double(int field, double v) {
    PutVarint((static_cast<uint64_t>(field) << 3) | 1, &out_);
    char raw[8];
    std::memcpy(raw, &v, 8);  // Little-endian hosts only, as every CI machine is.
    out_.append(raw, 8);
    return *this;
  }
  ProtoWriter& Packed(int field, const std::vector<uint32_t>& values) {
    std::string packed;
    for (uint32_t v : values) PutVarint(v, &packed);
    return Bytes(field, packed);
  }
  const std::string& str() const { return out_; }

  static void PutVarint(uint64_t v, std::string* out) {
    while (v >= 0x80) {
      out->push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out->push_back(static_cast<char>(v));
  }

 private:
  std::string out_;
};

// A snappy block of literal elements only: the uncompressed length as a varint (which a test
// may overstate), then the bytes in literals of at most 64 KiB.
std::string SnappyLiterals(std::string_view raw, uint64_t declared_length) {
  std::string out;
  ProtoWriter::PutVarint(declared_length, &out);
  for (size_t pos = 0; pos < raw.size(); pos += 65536) {
    const size_t n = std::min<size_t>(65536, raw.size() - pos);
    if (n <= 60) {
      out.push_back(static_cast<char>((n - 1) << 2));
    } else {
      out.push_back(static_cast<char>(61 << 2));  // Length-1 in the next two bytes.
      out.push_back(static_cast<char>((n - 1) & 0xff));
      out.push_back(static_cast<char>((n - 1) >> 8));
    }
    out.append(raw.substr(pos, n));
  }
  return out;
}
std::string SnappyLiterals(std::string_view raw) { return SnappyLiterals(raw, raw.size()); }

// gzip of `chunk` repeated `repeat` times, built without holding the whole input.
std::string Gzip(std::string_view chunk, size_t repeat) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string out;
  char buf[1 << 16];
  for (size_t i = 0; i <= repeat; ++i) {
    const bool last = i == repeat;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(last ? "" : chunk.data()));
    z.avail_in = last ? 0 : static_cast<uInt>(chunk.size());
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof(buf);
      deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(buf, sizeof(buf) - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

// 256 MiB of newlines, gzipped (about 250 KiB): far over the body limit once inflated.
const std::string& GzipBomb() {
  static const std::string* bomb = new std::string(Gzip(std::string(kMiB, '\n'), 256));
  return *bomb;
}

const Headers& V2Headers() {
  static const Headers h = {
      {"Content-Encoding", "snappy"},
      {"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
      {"X-Prometheus-Remote-Write-Version", "2.0.0"}};
  return h;
}

// A 2.0 Request: `symbols`, then one TimeSeries per entry of `series` (its labels_refs and one
// sample (v, t)).
struct V2Series {
  std::vector<uint32_t> refs;
  std::vector<Sample> samples;
};
std::string RemoteWriteV2(const std::vector<std::string>& symbols,
                          const std::vector<V2Series>& series) {
  ProtoWriter req;
  for (const std::string& s : symbols) req.Bytes(4, s);
  for (const V2Series& s : series) {
    ProtoWriter ts;
    ts.Packed(1, s.refs);
    for (const Sample& sample : s.samples) {
      ProtoWriter pb;
      pb.Double(1, sample.v).Varint(2, static_cast<uint64_t>(sample.t));
      ts.Bytes(2, pb.str());
    }
    req.Bytes(5, ts.str());
  }
  return SnappyLiterals(req.str());
}

// ---- Remote write. -----------------------------------------------------------------------------

TEST_F(BadInputTest, RemoteWriteRefusesBadBodiesWith4xx) {
  const int64_t t = base_ms();
  const std::string good_body =
      RemoteWriteV1({Series({{"__name__", "bi_evil_rw"}, {"evil", "rw1_truncated"}}, {{t, 1}})});
  auto rw = [&](std::string name, std::string body, std::vector<int> want, std::string text = "",
                Headers headers = V1Headers()) {
    Case c;
    c.name = std::move(name);
    c.method = "POST";
    c.target = "/api/v1/write";
    c.body = std::move(body);
    c.headers = std::move(headers);
    c.want_status = std::move(want);
    c.want_text = std::move(text);
    return c;
  };
  // One series tagged evil=<tag>, which must not be stored.
  auto evil = [&](std::string tag, Labels extra, std::vector<Sample> samples = {}) {
    Labels labels = {{"evil", "rw1_" + tag}};
    labels.insert(labels.end(), extra.begin(), extra.end());
    if (samples.empty()) samples = {{t, 1}};
    return RemoteWriteV1({Series(labels, samples)});
  };
  std::vector<Case> cases = {
      rw("empty body", "", {400}),
      rw("not snappy", "this is not a snappy block at all", {400}, "snappy"),
      rw("snappy of garbage protobuf", SnappyLiterals("\xff\xff\xff\xff\xff garbage \x0f"), {400}),
      rw("snappy of a truncated protobuf",
         SnappyLiterals(ProtoWriter().Bytes(1, std::string(100, 'x')).str().substr(0, 50)), {400}),
      rw("snappy bomb: declares 17 MiB, carries 10 bytes",
         SnappyLiterals("0123456789", kBodyLimit + kMiB), {413}),
      rw("snappy bomb: declares 4 GiB", SnappyLiterals("0123456789", 0xffffffffULL), {413}),
      rw("snappy length varint overflows", std::string(11, '\xff') + "abc", {400}),
      rw("Content-Type application/json", good_body, {415}, "",
         {{"Content-Encoding", "snappy"}, {"Content-Type", "application/json"}}),
      rw("Content-Encoding gzip", good_body, {415}, "",
         {{"Content-Encoding", "gzip"}, {"Content-Type", "application/x-protobuf"}}),
      rw("Content-Encoding identity", good_body, {415}, "",
         {{"Content-Encoding", "identity"}, {"Content-Type", "application/x-protobuf"}}),
      rw("Content-Encoding br", good_body, {415}, "",
         {{"Content-Encoding", "br"}, {"Content-Type", "application/x-protobuf"}}),
      rw("proto=unknown", good_body, {415}, "",
         {{"Content-Encoding", "snappy"},
          {"Content-Type", "application/x-protobuf;proto=unknown"}}),
      rw("proto=io.prometheus.write.v3.Request", good_body, {415}, "",
         {{"Content-Encoding", "snappy"},
          {"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v3.Request"}}),
      rw("__name__ empty", evil("name_empty", {{"__name__", ""}}), {400}, "__name__"),
      rw("__name__ missing", evil("name_missing", {{"job", "x"}}), {400}, "__name__"),
      rw("no labels at all", RemoteWriteV1({Series({}, {{t, 1}})}), {400}, "timeseries[0]"),
      rw("duplicate label",
         evil("dup", {{"__name__", "bi_evil_rw"}, {"dup_lbl", "a"}, {"dup_lbl", "b"}}), {400},
         "dup_lbl"),
      rw("duplicate __name__",
         evil("dup_name", {{"__name__", "bi_evil_rw"}, {"__name__", "bi_evil_rw2"}}), {400},
         "__name__"),
      rw("empty label name", evil("empty_lname", {{"__name__", "bi_evil_rw"}, {"", "x"}}), {400},
         "timeseries[0]"),
      rw("invalid UTF-8 label value",
         evil("utf8_value", {{"__name__", "bi_evil_rw"}, {"bad_value", "\xff\xfe"}}), {400},
         "bad_value"),
      rw("invalid UTF-8 label name",
         evil("utf8_name", {{"__name__", "bi_evil_rw"}, {"\xc3\x28", "x"}}), {400},
         "timeseries[0]"),
      rw("invalid UTF-8 metric name", evil("utf8_metric", {{"__name__", "bi_evil\xff"}}), {400},
         "__name__"),
      rw("overlong UTF-8 encoding of '/'",
         evil("utf8_overlong", {{"__name__", "bi_evil_rw"}, {"x", "\xc0\xaf"}}), {400}),
      rw("UTF-16 surrogate in UTF-8",
         evil("utf8_surrogate", {{"__name__", "bi_evil_rw"}, {"x", "\xed\xa0\x80"}}), {400}),
      // The first sample may be stored (Prometheus does), so the series is not tagged evil.
      rw("samples out of order in one series",
         RemoteWriteV1(
             {Series({{"__name__", "bi_ok_rw"}, {"ok", "ooo"}}, {{t, 1}, {t - 1000, 2}})}),
         {400}),
      // The spec names no status for a far-future sample: 204 or 400, never a 5xx.
      rw("timestamp int64 max (204 or 400)",
         RemoteWriteV1({Series({{"__name__", "bi_ok_rw"}, {"ok", "ts_max"}},
                               {{std::numeric_limits<int64_t>::max(), 1}})}),
         {204, 400}),
      rw("timestamp int64 min",
         evil("ts_min", {{"__name__", "bi_evil_rw"}}, {{std::numeric_limits<int64_t>::min(), 1}}),
         {400}, "timeseries[0]"),
      rw("timestamp 1970", evil("ts_1970", {{"__name__", "bi_evil_rw"}}, {{1, 1}}), {400},
         "timeseries[0]"),
      rw("timestamp negative", evil("ts_negative", {{"__name__", "bi_evil_rw"}}, {{-1000, 1}}),
         {400}, "timeseries[0]"),
  };
  // Truncated at several lengths: each is a corrupt snappy block or protobuf.
  for (size_t len : {size_t{1}, size_t{2}, good_body.size() / 2, good_body.size() - 1}) {
    cases.push_back(rw(absl::StrCat("truncated to ", len, " of ", good_body.size(), " bytes"),
                       good_body.substr(0, len), {400}));
  }
  RunAll(cases);
  // Nothing of any refused write is stored (the evil label tags them all).
  EXPECT_THAT(EvilSeries("rw1_"), ::testing::IsEmpty())
      << "refused remote writes left series behind";

  // What is valid must be stored, exactly: NaN and ±Inf are sample values like any other.
  struct OkCase {
    std::string name;
    Labels labels;
    double v;
  };
  const std::vector<OkCase> ok = {
      {"NaN value", {{"__name__", "bi_ok_rw"}, {"ok", "nan"}}, std::nan("")},
      {"+Inf value", {{"__name__", "bi_ok_rw"}, {"ok", "pinf"}}, HUGE_VAL},
      {"-Inf value", {{"__name__", "bi_ok_rw"}, {"ok", "ninf"}}, -HUGE_VAL},
      {"unsorted labels", {{"zz", "1"}, {"__name__", "bi_ok_rw"}, {"ok", "unsorted"}}, 5},
  };
  for (const OkCase& oc : ok) {
    SCOPED_TRACE(oc.name);
    Case c = rw(oc.name, RemoteWriteV1({Series(oc.labels, {{t, oc.v}})}), {204});
    Run(c);
    const std::string tag(GetLabelValue(oc.labels, "ok"));
    absl::StatusOr<testutil::JsonValue> r =
        InstantResult(absl::StrCat("bi_ok_rw{ok=\"", tag, "\"}"));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->items.size(), 1u) << "not stored";
    const std::string got = r->items[0]["value"].items.at(1).text;
    if (std::isnan(oc.v)) {
      EXPECT_EQ(got, "NaN");
    } else if (std::isinf(oc.v)) {
      EXPECT_EQ(got, oc.v > 0 ? "+Inf" : "-Inf");
    } else {
      EXPECT_EQ(std::strtod(got.c_str(), nullptr), oc.v);
    }
  }
  // A far-future sample: the spec names no status; it must be a 204 or a 400, never a 5xx.
  Run(rw("timestamp a year ahead (204 or 400)",
         RemoteWriteV1({Series({{"__name__", "bi_ok_rw"}, {"ok", "future"}},
                               {{WallNowMs() + 365LL * 86'400'000, 1}})}),
         {204, 400}));
}

TEST_F(BadInputTest, RemoteWrite2ReportsSamplesWrittenExactly) {
  const int64_t t = base_ms();
  struct V2Case {
    std::string name;
    std::string body;
    int want_status;
    int64_t want_written;  // X-Prometheus-Remote-Write-Samples-Written
    std::string want_text;
  };
  const std::vector<std::string> symbols = {"",   "__name__", "bi_ok_rw2", "evil", "rw2_v2",
                                            "ok", "a",        "rw2_mixed", "mixed"};
  const std::vector<V2Case> cases = {
      {"success: 2 series, 3 samples",
       RemoteWriteV2(symbols, {{{1, 2, 5, 6}, {{t - 1000, 1}, {t, 2}}}, {{1, 2, 5, 4}, {{t, 3}}}}),
       204, 3, ""},
      {"label ref out of range", RemoteWriteV2(symbols, {{{1, 2, 3, 4, 5, 99}, {{t, 1}}}}), 400, 0,
       "timeseries[0]"},
      {"label ref 2^32-1", RemoteWriteV2(symbols, {{{1, 2, 3, 4, 5, 0xffffffffu}, {{t, 1}}}}), 400,
       0, "timeseries[0]"},
      {"odd labels_refs", RemoteWriteV2(symbols, {{{1, 2, 3}, {{t, 1}}}}), 400, 0, "timeseries[0]"},
      {"symbols[0] not empty",
       RemoteWriteV2({"x", "__name__", "bi_evil_v2", "evil", "rw2_s0"}, {{{1, 2, 3, 4}, {{t, 1}}}}),
       400, 0, ""},
      {"refs into an empty table", RemoteWriteV2({}, {{{1, 2}, {{t, 1}}}}), 400, 0, ""},
      {"__name__ missing", RemoteWriteV2(symbols, {{{3, 4}, {{t, 1}}}}), 400, 0, "__name__"},
      {"garbage protobuf", SnappyLiterals("\x2a\xff\xff\xff\xff\x0f"), 400, 0, ""},
      {"empty body", "", 400, 0, ""},
  };
  for (const V2Case& vc : cases) {
    SCOPED_TRACE(vc.name);
    Case c;
    c.name = vc.name;
    c.method = "POST";
    c.target = "/api/v1/write";
    c.body = vc.body;
    c.headers = V2Headers();
    c.want_status = {vc.want_status};
    c.want_text = vc.want_text;
    absl::StatusOr<HttpResult> r = Check(c);
    if (!r.ok()) continue;
    EXPECT_EQ(r->Header("x-prometheus-remote-write-samples-written"), absl::StrCat(vc.want_written))
        << "OBSERVED header \"" << r->Header("x-prometheus-remote-write-samples-written") << "\" "
        << Describe(*r);
  }
  // A mixed request: one good series (2 samples) and one without __name__. Refused with 400;
  // the header must say exactly what was stored, which the test reads back.
  Case c;
  c.name = "mixed good and bad series";
  c.method = "POST";
  c.target = "/api/v1/write";
  c.body = RemoteWriteV2(symbols, {{{1, 2, 5, 8}, {{t - 1000, 1}, {t, 2}}}, {{3, 7}, {{t, 1}}}});
  c.headers = V2Headers();
  c.want_status = {400};
  SCOPED_TRACE(c.name);
  absl::StatusOr<HttpResult> r = Check(c);
  ASSERT_TRUE(r.ok());
  absl::StatusOr<testutil::JsonValue> stored = InstantResult(
      "sum(count_over_time(bi_ok_rw2{ok=\"mixed\"}[1m]) or "
      "count_over_time({evil=\"rw2_mixed\"}[1m]))");
  ASSERT_TRUE(stored.ok()) << stored.status();
  const std::string want = stored->items.empty() ? "0" : stored->items[0]["value"].items[1].text;
  EXPECT_EQ(r->Header("x-prometheus-remote-write-samples-written"), want)
      << "the header disagrees with what reads back; " << Describe(*r);
  EXPECT_THAT(EvilSeries("rw2_"), ::testing::IsEmpty()) << "refused 2.0 writes left series behind";
}

// ---- Text import. ------------------------------------------------------------------------------

TEST_F(BadInputTest, TextImportNamesTheBadLine) {
  const std::string target = "/api/v1/import/prometheus";
  auto imp = [&](std::string name, std::string body, std::vector<int> want, std::string text,
                 Headers headers = {}) {
    Case c;
    c.name = std::move(name);
    c.method = "POST";
    c.target = target;
    c.body = std::move(body);
    c.headers = std::move(headers);
    c.want_status = std::move(want);
    c.want_text = std::move(text);
    c.api_error = c.want_status == std::vector<int>{400};
    return c;
  };
  const std::string ok_line = "bi_evil_text{evil=\"text_line1\"} 1\n";
  std::vector<Case> cases;
  // Line 2 of each body is bad; line 1 is fine. The message must name line 2.
  const std::vector<std::pair<std::string, std::string>> bad_lines = {
      {"no value", "bi_evil_text{evil=\"text\"}"},
      {"value not a number", "bi_evil_text{evil=\"text\"} one"},
      {"timestamp not a number", "bi_evil_text{evil=\"text\"} 1 soon"},
      {"timestamp overflows int64", "bi_evil_text{evil=\"text\"} 1 99999999999999999999999"},
      {"timestamp a float", "bi_evil_text{evil=\"text\"} 1 1.5e300"},
      {"trailing garbage", "bi_evil_text{evil=\"text\"} 1 2 3"},
      {"unterminated label set", "bi_evil_text{evil=\"text\" 1"},
      {"unterminated label value", "bi_evil_text{evil=\"text} 1"},
      {"label without value", "bi_evil_text{evil} 1"},
      {"label without quotes", "bi_evil_text{evil=text} 1"},
      {"empty label name", "bi_evil_text{=\"x\",evil=\"text\"} 1"},
      {"duplicate label", "bi_evil_text{evil=\"text\",evil=\"again\"} 1"},
      {"bad escape", "bi_evil_text{evil=\"te\\qxt\"} 1"},
      {"invalid UTF-8 label value", "bi_evil_text{evil=\"\xff\"} 1"},
      {"invalid UTF-8 metric name", "bi_evil\xc3\x28 1"},
      {"NUL byte", std::string("bi_evil_text\0 1", 15)},
      {"metric name starts with a digit", "1bi_evil_text 1"},
      {"metric name with a dash", "bi-evil-text 1"},
      {"metric name with a dot, unquoted", "bi.evil.text 1"},
      {"only a label set", "{evil=\"text\"} 1"},
      {"only a value", "1"},
      {"TYPE with a bad type", "# TYPE bi_evil_text nonsense"},
      // Not "# TYPE" alone: Prometheus's parser reads it as a comment, and so does Ember.
      {"value 1e400", "bi_evil_text{evil=\"text\"} 1e400"},
  };
  for (const auto& [name, line] : bad_lines) {
    cases.push_back(imp(name, absl::StrCat(ok_line, line, "\n"), {400}, "line 2"));
  }
  cases.push_back(imp("10 MiB without a newline", std::string(10 * kMiB, 'a'), {400}, "line 1"));
  cases.push_back(imp("10 MiB label value on line 1",
                      absl::StrCat("bi_evil_text{evil=\"text_huge\",big=\"",
                                   std::string(10 * kMiB, 'v'), "\"} 1\n"),
                      {400}, "line 1"));
  cases.push_back(imp("body over the limit", std::string(kBodyLimit + kMiB, '\n'), {413}, ""));
  cases.push_back(
      imp("gzip bomb: 256 MiB of newlines", GzipBomb(), {413}, "", {{"Content-Encoding", "gzip"}}));
  cases.push_back(
      imp("corrupt gzip", "\x1f\x8b\x08\x00garbage", {400}, "", {{"Content-Encoding", "gzip"}}));
  cases.push_back(imp("Content-Encoding br", ok_line, {415}, "", {{"Content-Encoding", "br"}}));
  Case ts = imp("timestamp=NaN", ok_line, {400}, InvalidParam("timestamp"));
  ts.target += "?timestamp=NaN";
  cases.push_back(ts);
  Case el = imp("extra_label without =", ok_line, {400}, InvalidParam("extra_label"));
  el.target += "?extra_label=novalue";
  cases.push_back(el);
  el.name = "extra_label with an empty name";
  el.target = target + "?extra_label=%3Dx";
  cases.push_back(el);
  RunAll(cases);
  EXPECT_THAT(EvilSeries("text_"), ::testing::IsEmpty()) << "refused imports left series behind";
}

// ---- Influx line protocol. ---------------------------------------------------------------------

TEST_F(BadInputTest, InfluxLineProtocolNamesTheBadLine) {
  std::vector<Case> cases;
  const std::string ok_line = "bi_evil_influx,evil=influx_line1 f=1\n";
  const std::vector<std::pair<std::string, std::string>> bad_lines = {
      {"no fields", "bi_evil_influx,evil=influx"},
      {"tag without =", "bi_evil_influx,evil f=1"},
      {"field without value", "bi_evil_influx,evil=influx_bad f="},
      {"field without name", "bi_evil_influx,evil=influx_bad =1"},
      {"timestamp not a number", "bi_evil_influx,evil=influx_bad f=1 soon"},
      {"timestamp overflows", "bi_evil_influx,evil=influx_bad f=1 99999999999999999999999"},
      {"bad integer", "bi_evil_influx,evil=influx_bad f=1i1"},
      {"unterminated string field", "bi_evil_influx,evil=influx_bad f=\"abc"},
      {"empty measurement", ",evil=influx_bad f=1"},
      {"invalid UTF-8 tag value", "bi_evil_influx,evil=\xff f=1"},
      {"invalid UTF-8 measurement", "bi_evil\xc3\x28,evil=influx_bad f=1"},
      {"float out of range", "bi_evil_influx,evil=influx_bad f=1e400"},
      {"trailing garbage", "bi_evil_influx,evil=influx_bad f=1 1 2"},
      {"NUL byte", std::string("bi_evil_influx,evil=influx_bad f=1\0", 31)},
  };
  for (const char* target : {"/write", "/api/v2/write"}) {
    auto lp = [&](std::string name, std::string query, std::string body, std::vector<int> want,
                  std::string text, Headers headers = {}) {
      Case c;
      c.name = absl::StrCat(target, ": ", name);
      c.method = "POST";
      c.target = absl::StrCat(target, query);
      c.body = std::move(body);
      c.headers = std::move(headers);
      c.want_status = std::move(want);
      c.want_text = std::move(text);
      return c;
    };
    for (const auto& [name, line] : bad_lines) {
      cases.push_back(lp(name, "", absl::StrCat(ok_line, line, "\n"), {400}, "line 2"));
    }
    for (const char* p : {"xyz", "NaN", "1s", "-s", "sec", "%FF"}) {
      cases.push_back(lp(absl::StrCat("precision=", p), absl::StrCat("?precision=", p), ok_line,
                         {400}, "precision"));
    }
    cases.push_back(
        lp("10 MiB without a newline", "", std::string(10 * kMiB, 'a'), {400}, "line 1"));
    cases.push_back(lp("body over the limit", "", std::string(kBodyLimit + kMiB, '\n'), {413}, ""));
    cases.push_back(lp("gzip bomb: 256 MiB of newlines", "", GzipBomb(), {413}, "",
                       {{"Content-Encoding", "gzip"}}));
    cases.push_back(lp("%zz in the query string", "?db=%zz", ok_line, {400}, ""));
  }
  RunAll(cases);
  EXPECT_THAT(EvilSeries("influx_"), ::testing::IsEmpty())
      << "refused line protocol left series behind";
}

TEST_F(BadInputTest, ZzServerAliveAndGoodDataIntactAtTheEnd) {
  EXPECT_THAT(state_->deaths, ::testing::IsEmpty()) << "ember serve died during the suite";
  CheckAliveAndGoodData();
  EXPECT_THAT(EvilSeries(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace ember
