/* The one time format of the console's answers (http.h: gw_http_time). Its own file, so that a
 * unit test with a fake server links it without the server. */
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gateway/core/http.h"

json_t *gw_http_time(int64_t t)
{
	time_t tt = (time_t)t;
	char buf[40];
	struct tm tm;
	size_t n;

	if (!t || !localtime_r(&tt, &tm))
		return json_null();
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
	if (n < 5)
		return json_null();
	/* +0800 -> +08:00 */
	memmove(buf + n - 1, buf + n - 2, 3);
	buf[n - 2] = ':';
	return json_string(buf);
}
