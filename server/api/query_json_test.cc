#include "server/api/query_json.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "query/value.h"

namespace ember::server {
namespace {

std::string DataJson(const query::Value& v) {
  JsonWriter w;
  WriteQueryData(v, &w);
  return w.Take();
}

TEST(WriteLabelsObjectTest, WritesPairsInOrder) {
  JsonWriter w;
  WriteLabelsObject({{"__name__", "up"}, {"instance", "localhost:9090"}, {"job", "x"}}, &w);
  EXPECT_EQ(w.str(), R"({"__name__":"up","instance":"localhost:9090","job":"x"})");
}

TEST(WriteLabelsObjectTest, EmptyLabelsAreAnEmptyObject) {
  JsonWriter w;
  WriteLabelsObject({}, &w);
  EXPECT_EQ(w.str(), "{}");
}

TEST(WriteLabelsObjectTest, EscapesNamesAndValues) {
  JsonWriter w;
  WriteLabelsObject({{"a.b", "say \"hi\"\n<&>"}, {"\xe2\x98\x83", "\xff"}}, &w);
  EXPECT_EQ(w.str(),
            "{\"a.b\":\"say \\\"hi\\\"\\n\\u003c\\u0026\\u003e\",\"\xe2\x98\x83\":\"\\ufffd\"}");
}

TEST(WriteQueryDataTest, VectorAsPrometheusWritesIt) {
  query::Value v;
  v.type = query::ValueType::kVector;
  v.vector.push_back({{{"__name__", "up"}, {"job", "prometheus"}}, 1435781451781, 1});
  v.vector.push_back({{{"job", "node"}}, 1435781451781, 0.5});
  EXPECT_EQ(DataJson(v),
            R"({"resultType":"vector","result":[)"
            R"({"metric":{"__name__":"up","job":"prometheus"},"value":[1435781451.781,"1"]},)"
            R"({"metric":{"job":"node"},"value":[1435781451.781,"0.5"]}]})");
}

TEST(WriteQueryDataTest, EmptyVectorIsAnEmptyArray) {
  query::Value v;
  v.type = query::ValueType::kVector;
  EXPECT_EQ(DataJson(v), R"({"resultType":"vector","result":[]})");
}

TEST(WriteQueryDataTest, SampleWithoutLabels) {
  query::Value v;
  v.type = query::ValueType::kVector;
  v.vector.push_back({{}, 1000, 2});
  EXPECT_EQ(DataJson(v), R"({"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]})");
}

TEST(WriteQueryDataTest, MatrixPointsInOrder) {
  query::Value v;
  v.type = query::ValueType::kMatrix;
  v.matrix.push_back({{{"__name__", "up"}, {"instance", "localhost:9090"}, {"job", "prometheus"}},
                      {{1435781430781, 1}, {1435781445781, 1}, {1435781460781, 1}}});
  v.matrix.push_back({{{"__name__", "up"}, {"instance", "localhost:9091"}, {"job", "node"}},
                      {{1435781430781, 0}, {1435781445781, 0}, {1435781460781, 1}}});
  EXPECT_EQ(DataJson(v),
            R"({"resultType":"matrix","result":[)"
            R"({"metric":{"__name__":"up","instance":"localhost:9090","job":"prometheus"},)"
            R"("values":[[1435781430.781,"1"],[1435781445.781,"1"],[1435781460.781,"1"]]},)"
            R"({"metric":{"__name__":"up","instance":"localhost:9091","job":"node"},)"
            R"("values":[[1435781430.781,"0"],[1435781445.781,"0"],[1435781460.781,"1"]]}]})");
}

TEST(WriteQueryDataTest, EmptyMatrixIsAnEmptyArray) {
  query::Value v;
  v.type = query::ValueType::kMatrix;
  EXPECT_EQ(DataJson(v), R"({"resultType":"matrix","result":[]})");
}

TEST(WriteQueryDataTest, SeriesWithoutPointsHasNoValuesKey) {
  // Prometheus writes "values" only when there are float points (a histogram-only series has
  // "histograms" instead).
  query::Value v;
  v.type = query::ValueType::kMatrix;
  v.matrix.push_back({{{"job", "x"}}, {}});
  EXPECT_EQ(DataJson(v), R"({"resultType":"matrix","result":[{"metric":{"job":"x"}}]})");
}

TEST(WriteQueryDataTest, Scalar) {
  query::Value v;
  v.type = query::ValueType::kScalar;
  v.t = 1435781451781;
  v.scalar = 1e-7;
  EXPECT_EQ(DataJson(v), R"({"resultType":"scalar","result":[1435781451.781,"0.0000001"]})");
}

TEST(WriteQueryDataTest, String) {
  query::Value v;
  v.type = query::ValueType::kString;
  v.t = 1435781451000;
  v.str = "a \"quoted\" <string>";
  EXPECT_EQ(DataJson(v),
            R"({"resultType":"string","result":[1435781451,"a \"quoted\" \u003cstring\u003e"]})");
}

TEST(WriteQueryDataTest, SpecialValuesAreStrings) {
  query::Value v;
  v.type = query::ValueType::kVector;
  v.vector.push_back({{{"v", "nan"}}, 0, std::numeric_limits<double>::quiet_NaN()});
  v.vector.push_back({{{"v", "inf"}}, -1500, std::numeric_limits<double>::infinity()});
  v.vector.push_back({{{"v", "-inf"}}, 1, -std::numeric_limits<double>::infinity()});
  v.vector.push_back({{{"v", "-0"}}, 1, -0.0});
  EXPECT_EQ(DataJson(v), R"({"resultType":"vector","result":[)"
                         R"({"metric":{"v":"nan"},"value":[0,"NaN"]},)"
                         R"({"metric":{"v":"inf"},"value":[-1.5,"+Inf"]},)"
                         R"({"metric":{"v":"-inf"},"value":[0.001,"-Inf"]},)"
                         R"({"metric":{"v":"-0"},"value":[0.001,"-0"]}]})");
}

TEST(WriteQueryDataTest, NestsInsideAResponse) {
  query::Value v;
  v.type = query::ValueType::kScalar;
  v.t = 2000;
  v.scalar = 3;
  JsonWriter w;
  w.BeginObject().Key("status").String("success").Key("data");
  WriteQueryData(v, &w);
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"status":"success","data":{"resultType":"scalar","result":[2,"3"]}})");
}

TEST(WriteQueryDataTest, NoneHasNullResult) {
  query::Value v;
  EXPECT_EQ(DataJson(v), R"({"resultType":"none","result":null})");
}

TEST(ResultTypeNameTest, ApiNames) {
  EXPECT_EQ(ResultTypeName(query::ValueType::kScalar), "scalar");
  EXPECT_EQ(ResultTypeName(query::ValueType::kVector), "vector");
  EXPECT_EQ(ResultTypeName(query::ValueType::kMatrix), "matrix");
  EXPECT_EQ(ResultTypeName(query::ValueType::kString), "string");
  EXPECT_EQ(ResultTypeName(query::ValueType::kNone), "none");
}

}  // namespace
}  // namespace ember::server
