/* Random numbers for codes (random.h). */
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "gateway/core/random.h"

uint32_t gw_random_u32(void)
{
	uint32_t v;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), 0) == sizeof(v))
		return v;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)random() ^ (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec;
}

char *gw_random_digits(char *buf, size_t len, unsigned n)
{
	unsigned i;

	if (!len)
		return buf;
	if (n >= len)
		n = (unsigned)len - 1;
	for (i = 0; i < n; i++)
		buf[i] = (char)('0' + (i == 0 ? 1 + gw_random_u32() % 9 : gw_random_u32() % 10));
	buf[i] = 0;
	return buf;
}
