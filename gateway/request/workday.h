/* Working-day calendar: deadlines counted in working days, weekends and official holidays
 * out, make-up working days (调休) in (../shared/DOMAIN.md, "Requests"). */
#pragma once

#include <stdbool.h>
#include <time.h>

/* What the holiday table says of a date (days since 1970-01-01, local calendar):
 * WD_OFF a holiday, WD_WORK a make-up working day, WD_NONE no entry (weekday rule applies). */
enum wd_kind { WD_NONE, WD_OFF, WD_WORK };
typedef enum wd_kind (*wd_lookup)(void *data, long day);

/* Days since 1970-01-01 of the civil date y-m-d, and back. */
long wd_day(int y, int m, int d);
void wd_date(long day, int *y, int *m, int *d);

/* Whether day is a working day: Monday-Friday unless the table says off, Saturday/Sunday only
 * when the table says it is a make-up working day. lookup may be NULL. */
bool wd_is_working(long day, wd_lookup lookup, void *data);

/* The n-th working day after day (the day itself does not count: counting starts the next day,
 * 受理次日起算). n = 0 gives day itself. */
long wd_add(long day, unsigned n, wd_lookup lookup, void *data);
