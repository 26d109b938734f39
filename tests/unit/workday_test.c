/* Working-day calendar: weekends, holidays, make-up working days (调休). */
#include <stdio.h>
#include <string.h>

#include "gateway/request/workday.h"
#include "tests/unit/testlib.h"

/* A holiday table like the 2026 National Day one: Oct 1-7 off, Saturday Oct 10 worked. */
static enum wd_kind table(void *data, long day)
{
	(void)data;
	if (day >= wd_day(2026, 10, 1) && day <= wd_day(2026, 10, 7))
		return WD_OFF;
	if (day == wd_day(2026, 10, 10))
		return WD_WORK;
	return WD_NONE;
}

static void check_add(int y, int m, int d, unsigned n, int ey, int em, int ed, wd_lookup l, const char *what)
{
	int ry, rm, rd;

	wd_date(wd_add(wd_day(y, m, d), n, l, NULL), &ry, &rm, &rd);
	CHECK(ry == ey && rm == em && rd == ed,
	      "%s: %04d-%02d-%02d + %u working days = %04d-%02d-%02d (want %04d-%02d-%02d)", what, y, m, d, n, ry, rm,
	      rd, ey, em, ed);
}

int main(void)
{
	bool round_trip = true;
	int y, m, d;

	CHECK(wd_day(1970, 1, 1) == 0, "epoch is day 0");
	CHECK(wd_day(2026, 11, 20) == 20777, "2026-11-20 is day 20777");
	CHECK(wd_day(2024, 2, 29) == 19782, "leap day 2024-02-29 is day 19782");
	for (long day = -800000; day < 800000; day += 997) {
		wd_date(day, &y, &m, &d);
		if (wd_day(y, m, d) != day) {
			printf("     day %ld -> %04d-%02d-%02d -> day %ld\n", day, y, m, d, wd_day(y, m, d));
			round_trip = false;
			break;
		}
	}
	CHECK(round_trip, "civil date round trip over +-2000 years");

	CHECK(wd_is_working(wd_day(2026, 11, 20), NULL, NULL), "a Friday is a working day");
	CHECK(!wd_is_working(wd_day(2026, 11, 21), NULL, NULL), "a Saturday is not");
	CHECK(!wd_is_working(wd_day(2026, 11, 22), NULL, NULL), "a Sunday is not");
	CHECK(!wd_is_working(wd_day(2026, 10, 1), table, NULL), "a holiday on a Thursday is not");
	CHECK(wd_is_working(wd_day(2026, 10, 10), table, NULL), "a make-up Saturday is");

	check_add(2026, 11, 20, 3, 2026, 11, 25, NULL, "Friday across a weekend");
	check_add(2026, 11, 21, 3, 2026, 11, 25, NULL, "received on Saturday: counting starts Monday");
	check_add(2026, 11, 23, 0, 2026, 11, 23, NULL, "zero days is the day itself");
	check_add(2026, 11, 23, 5, 2026, 11, 30, NULL, "five working days is a week");
	check_add(2026, 9, 30, 3, 2026, 10, 10, table, "across National Day, ending on the make-up Saturday");
	check_add(2026, 9, 30, 1, 2026, 10, 8, table, "the first working day after the holiday");
	check_add(2026, 9, 30, 4, 2026, 10, 12, table, "past the make-up Saturday to Monday");
	check_add(2026, 12, 31, 1, 2027, 1, 1, NULL, "across the year end (no table: Jan 1 2027 is a Friday)");

	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
