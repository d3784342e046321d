// Element-wise math: abs ceil floor exp ln log2 log10 sqrt sgn round clamp_min clamp_max,
// trigonometric and hyperbolic functions, deg rad. NaN propagates as in Go's math package.
#include <cmath>
#include <numbers>

#include "query/functions/functions.h"

namespace ember::query {
namespace {

double Abs(double v, const double*) { return std::fabs(v); }
double Ceil(double v, const double*) { return std::ceil(v); }
double Floor(double v, const double*) { return std::floor(v); }
double Exp(double v, const double*) { return std::exp(v); }
double Ln(double v, const double*) { return std::log(v); }
double Log2(double v, const double*) { return std::log2(v); }
double Log10(double v, const double*) { return std::log10(v); }
double Sqrt(double v, const double*) { return std::sqrt(v); }
double Sgn(double v, const double*) {
  if (v < 0) return -1;
  if (v > 0) return 1;
  return v;  // 0, -0 and NaN stay.
}
// Prometheus rounds half up: floor(v / to + 0.5) * to, computed with the inverse like Go.
double Round(double v, const double* p) {
  const double inv = 1.0 / p[0];
  return std::floor(v * inv + 0.5) / inv;
}
double ClampMin(double v, const double* p) {
  return (std::isnan(v) || std::isnan(p[0])) ? NAN : std::fmax(p[0], v);
}
double ClampMax(double v, const double* p) {
  return (std::isnan(v) || std::isnan(p[0])) ? NAN : std::fmin(p[0], v);
}
double Sin(double v, const double*) { return std::sin(v); }
double Cos(double v, const double*) { return std::cos(v); }
double Tan(double v, const double*) { return std::tan(v); }
double Asin(double v, const double*) { return std::asin(v); }
double Acos(double v, const double*) { return std::acos(v); }
double Atan(double v, const double*) { return std::atan(v); }
double Sinh(double v, const double*) { return std::sinh(v); }
double Cosh(double v, const double*) { return std::cosh(v); }
double Tanh(double v, const double*) { return std::tanh(v); }
double Asinh(double v, const double*) { return std::asinh(v); }
double Acosh(double v, const double*) { return std::acosh(v); }
double Atanh(double v, const double*) { return std::atanh(v); }
double Deg(double v, const double*) { return v * 180 / std::numbers::pi; }
double Rad(double v, const double*) { return v * std::numbers::pi / 180; }

}  // namespace

ElementFn MathElementFn(FunctionId id) {
  switch (id) {
    case FunctionId::kAbs:
      return Abs;
    case FunctionId::kCeil:
      return Ceil;
    case FunctionId::kFloor:
      return Floor;
    case FunctionId::kExp:
      return Exp;
    case FunctionId::kLn:
      return Ln;
    case FunctionId::kLog2:
      return Log2;
    case FunctionId::kLog10:
      return Log10;
    case FunctionId::kSqrt:
      return Sqrt;
    case FunctionId::kSgn:
      return Sgn;
    case FunctionId::kRound:
      return Round;
    case FunctionId::kClampMin:
      return ClampMin;
    case FunctionId::kClampMax:
      return ClampMax;
    case FunctionId::kSin:
      return Sin;
    case FunctionId::kCos:
      return Cos;
    case FunctionId::kTan:
      return Tan;
    case FunctionId::kAsin:
      return Asin;
    case FunctionId::kAcos:
      return Acos;
    case FunctionId::kAtan:
      return Atan;
    case FunctionId::kSinh:
      return Sinh;
    case FunctionId::kCosh:
      return Cosh;
    case FunctionId::kTanh:
      return Tanh;
    case FunctionId::kAsinh:
      return Asinh;
    case FunctionId::kAcosh:
      return Acosh;
    case FunctionId::kAtanh:
      return Atanh;
    case FunctionId::kDeg:
      return Deg;
    case FunctionId::kRad:
      return Rad;
    default:
      return nullptr;
  }
}

}  // namespace ember::query
