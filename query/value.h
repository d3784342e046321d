// Values a PromQL evaluation produces: scalar, string, instant vector, range vector (matrix).
// Plain data, copyable; thread-compatible.
#ifndef EMBER_QUERY_VALUE_H_
#define EMBER_QUERY_VALUE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ember/labels.h"
#include "query/ast.h"

namespace ember::query {

struct Point {
  int64_t t = 0;
  double v = 0;
};

// One element of an instant vector.
struct VectorSample {
  Labels labels;
  int64_t t = 0;
  double v = 0;
};
using Vector = std::vector<VectorSample>;

// One series of a range vector or of a range query's result.
struct MatrixSeries {
  Labels labels;
  std::vector<Point> points;
};
using Matrix = std::vector<MatrixSeries>;

struct Value {
  ValueType type = ValueType::kNone;
  double scalar = 0;  // kScalar
  int64_t t = 0;      // kScalar, kString: evaluation time
  std::string str;    // kString
  Vector vector;      // kVector
  Matrix matrix;      // kMatrix (and range query results)
};

}  // namespace ember::query

#endif  // EMBER_QUERY_VALUE_H_
