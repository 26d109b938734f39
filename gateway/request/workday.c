/* Working-day calendar (see workday.h). Civil-date arithmetic after the days-from-civil
 * algorithm of the proleptic Gregorian calendar. */
#include "gateway/request/workday.h"

long wd_day(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void wd_date(long day, int *y, int *m, int *d)
{
	long z = day + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

bool wd_is_working(long day, wd_lookup lookup, void *data)
{
	long dow = ((day % 7) + 7 + 4) % 7; /* 1970-01-01 was a Thursday: 0 = Sunday */
	enum wd_kind k = lookup ? lookup(data, day) : WD_NONE;

	if (k == WD_OFF)
		return false;
	if (k == WD_WORK)
		return true;
	return dow != 0 && dow != 6;
}

long wd_add(long day, unsigned n, wd_lookup lookup, void *data)
{
	/* a year of holidays cannot hold more than ~400 days off in a row: bound the walk */
	for (unsigned guard = 0; n && guard < 4000; guard++) {
		day++;
		if (wd_is_working(day, lookup, data))
			n--;
	}
	return day;
}
