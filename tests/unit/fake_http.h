/* A fake of gateway/core/http.c for unit tests of the features' routes (link-time fake, like
 * fake_core.c): gw_http_route records the routes, fake_http_call runs one request through them as
 * the core would (route match, the role check, the JSON body parsed, query and form arguments)
 * and hands back the answer; the metrics writers run on demand. */
#pragma once

#include <jansson.h>

#include "gateway/core/http.h"

struct gw;

struct fake_http_answer {
	unsigned status;
	json_t *json; /* the answer parsed (NULL when it was not JSON); the caller decrefs it */
	char body[8192];
};

/* method path?query with body (NULL: none) of content_type, as staff (NULL: no token). 0, or
 * -ENOENT when no route matches (answered 404, as the core would). */
int fake_http_call(struct gw *gw, const char *method, const char *path_query, const char *content_type,
		   const char *body, const struct gw_http_staff *staff, struct fake_http_answer *a);
/* Every metrics writer's output, into buf. */
void fake_http_metrics(struct gw *gw, char *buf, size_t len);
