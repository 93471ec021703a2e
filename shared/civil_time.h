#ifndef KBO_SHARED_CIVIL_TIME_H_
#define KBO_SHARED_CIVIL_TIME_H_

#include <cstdint>
#include <string>

namespace kbo {

// Proleptic Gregorian calendar arithmetic (H. Hinnant's algorithms), with no
// dependence on the process time zone or locale.

bool IsLeapYear(int64_t year);
// 28..31; `month` is 1..12.
int DaysInMonth(int64_t year, int month);
// Days since 1970-01-01 of y-m-d.
int64_t DaysFromCivil(int64_t year, int month, int day);
// The inverse of DaysFromCivil.
void CivilFromDays(int64_t days, int64_t* year, int* month, int* day);
// "YYYY-MM-DDTHH:MM:SSZ" for a Unix time in seconds.
std::string FormatIsoUtc(int64_t unix_seconds);

}  // namespace kbo

#endif  // KBO_SHARED_CIVIL_TIME_H_
