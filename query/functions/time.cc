// Calendar functions of a Unix time in seconds, in UTC: day_of_month day_of_week day_of_year
// days_in_month hour minute month year. Like Prometheus, the seconds are truncated to an integer.
#include <cmath>
#include <cstdint>

#include "query/functions/functions.h"

namespace ember::query {
namespace {

struct Civil {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
  int hour;
  int minute;
  int64_t days;  // Since 1970-01-01.
};

// Howard Hinnant's civil_from_days.
Civil ToCivil(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  int64_t days = s / 86400;
  int64_t rem = s % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return Civil{y, m, d, static_cast<int>(rem / 3600), static_cast<int>(rem % 3600 / 60), days};
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

double DayOfMonth(double v, const double*) { return std::isnan(v) ? v : ToCivil(v).day; }
double DayOfWeek(double v, const double*) {
  if (std::isnan(v)) return v;
  const int64_t days = ToCivil(v).days;
  return static_cast<double>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday.
}
double DayOfYear(double v, const double*) {
  if (std::isnan(v)) return v;
  const Civil c = ToCivil(v);
  int doy = c.day;
  for (int m = 1; m < c.month; ++m) doy += DaysInMonth(c.year, m);
  return doy;
}
double DaysInMonthFn(double v, const double*) {
  if (std::isnan(v)) return v;
  const Civil c = ToCivil(v);
  return DaysInMonth(c.year, c.month);
}
double Hour(double v, const double*) { return std::isnan(v) ? v : ToCivil(v).hour; }
double Minute(double v, const double*) { return std::isnan(v) ? v : ToCivil(v).minute; }
double Month(double v, const double*) { return std::isnan(v) ? v : ToCivil(v).month; }
double Year(double v, const double*) {
  return std::isnan(v) ? v : static_cast<double>(ToCivil(v).year);
}

}  // namespace

ElementFn TimeElementFn(FunctionId id) {
  switch (id) {
    case FunctionId::kDayOfMonth:
      return DayOfMonth;
    case FunctionId::kDayOfWeek:
      return DayOfWeek;
    case FunctionId::kDayOfYear:
      return DayOfYear;
    case FunctionId::kDaysInMonth:
      return DaysInMonthFn;
    case FunctionId::kHour:
      return Hour;
    case FunctionId::kMinute:
      return Minute;
    case FunctionId::kMonth:
      return Month;
    case FunctionId::kYear:
      return Year;
    default:
      return nullptr;
  }
}

}  // namespace ember::query
