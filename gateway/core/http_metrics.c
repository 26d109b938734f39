/* GET /metrics: the Prometheus text exposition (format 0.0.4), written by the core's writer and
 * then each feature's (gw_http_add_metrics) into one buffer. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>
#include <osmocom/core/logging.h>
#include <osmocom/core/rate_ctr.h>
#include <osmocom/core/utils.h>

#include "db/db.h"
#include "gateway/core/gw.h"
#include "gateway/core/http.h"
#include "gateway/core/http_priv.h"

#define WRITERS_MAX 16

struct gw_metrics {
	char *text;   /* talloc string */
	char **heads; /* the names whose HELP and TYPE are written */
	unsigned nhead;
	bool nomem;
};

static struct {
	gw_metrics_fn fn[WRITERS_MAX];
	unsigned n;
} W;

int gw_http_add_metrics(gw_metrics_fn fn)
{
	if (W.n == WRITERS_MAX)
		return -ENOSPC;
	W.fn[W.n++] = fn;
	return 0;
}

static void append(struct gw_metrics *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(struct gw_metrics *m, const char *fmt, ...)
{
	va_list ap;
	char *t;

	if (m->nomem)
		return;
	va_start(ap, fmt);
	t = talloc_vasprintf_append_buffer(m->text, fmt, ap);
	va_end(ap);
	if (!t)
		m->nomem = true;
	else
		m->text = t;
}

void gw_metric_head(struct gw_metrics *m, const char *name, const char *type, const char *help)
{
	char **h;

	for (unsigned i = 0; i < m->nhead; i++)
		if (!strcmp(m->heads[i], name))
			return;
	h = talloc_realloc(m->text, m->heads, char *, m->nhead + 1);
	if (!h) {
		m->nomem = true;
		return;
	}
	m->heads = h;
	m->heads[m->nhead++] = talloc_strdup(m->heads, name);
	/* HELP escapes \ and newline (the format's rule for help text) */
	append(m, "# HELP %s ", name);
	for (const char *p = help; *p; p++)
		append(m, "%s", *p == '\\' ? "\\\\" : *p == '\n' ? "\\n" : (char[]){*p, 0});
	append(m, "\n# TYPE %s %s\n", name, type);
}

void gw_metric(struct gw_metrics *m, const char *name, const char *labels, double value)
{
	const char *lb = labels && *labels ? "{" : "", *rb = labels && *labels ? "}" : "";

	if (isnan(value))
		append(m, "%s%s%s%s NaN\n", name, lb, labels ? labels : "", rb);
	else if (value == floor(value) && fabs(value) < 1e15)
		append(m, "%s%s%s%s %.0f\n", name, lb, labels ? labels : "", rb, value);
	else
		append(m, "%s%s%s%s %.17g\n", name, lb, labels ? labels : "", rb, value);
}

const char *gw_metric_label(const char *value, char *buf, size_t len)
{
	const char *p = value ? value : "";
	size_t n = 0;

	if (!len)
		return buf;
	for (; *p; p++) {
		const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
		size_t k = esc ? 2 : 1;

		if (n + k >= len)
			break;
		memcpy(buf + n, esc ? esc : p, k);
		n += k;
	}
	/* cut inside a UTF-8 character (the next byte continues it): drop what was copied of it */
	if (((unsigned char)*p & 0xc0) == 0x80) {
		while (n && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
			n--;
		if (n)
			n--;
	}
	buf[n] = '\0';
	return buf;
}

static double ctr(struct rate_ctr_group *g, unsigned i)
{
	return g ? (double)rate_ctr_group_get_ctr(g, i)->current : 0;
}

static const char *const prio_names[] = {"sos", "normal", "reply", "bulk"}; /* enum db_prio */

/* The core's metrics: messages in and out, the queue, the modems, database errors. */
void gw_http_core_metrics(struct gw *gw, struct gw_metrics *m)
{
	struct db_queue_stat qs[4];
	char lab[160], esc[100];
	time_t now = gw_now();

	gw_metric_head(m, "linli_sms_in_total", "counter", "Complete messages received and stored");
	gw_metric(m, "linli_sms_in_total", "", ctr(gw->ctrs, GW_CTR_IN_MESSAGES));
	gw_metric_head(m, "linli_sms_received_total", "counter", "Messages or parts read from a modem, by modem");
	gw_metric_head(m, "linli_sms_out_total", "counter", "Outgoing messages by modem and result");
	for (unsigned i = 0; i < gw->nmodems; i++) {
		const struct gw_modem *md = &gw->modem[i];

		gw_metric_label(md->cfg.name, esc, sizeof(esc));
		snprintf(lab, sizeof(lab), "modem=\"%s\"", esc);
		gw_metric(m, "linli_sms_received_total", lab, ctr(md->ctrs, GW_MDM_CTR_RECEIVED));
		snprintf(lab, sizeof(lab), "modem=\"%s\",result=\"sent\"", esc);
		gw_metric(m, "linli_sms_out_total", lab, ctr(md->ctrs, GW_MDM_CTR_SENT));
		snprintf(lab, sizeof(lab), "modem=\"%s\",result=\"failed\"", esc);
		gw_metric(m, "linli_sms_out_total", lab, ctr(md->ctrs, GW_MDM_CTR_FAILED));
		snprintf(lab, sizeof(lab), "modem=\"%s\",result=\"retried\"", esc);
		gw_metric(m, "linli_sms_out_total", lab, ctr(md->ctrs, GW_MDM_CTR_RETRIED));
	}

	if (db_sms_out_queue_stats(gw->db, qs) == 0) {
		gw_metric_head(m, "linli_queue_depth", "gauge", "Messages queued and not sent yet, by priority");
		for (unsigned p = 0; p < ARRAY_SIZE(prio_names); p++) {
			snprintf(lab, sizeof(lab), "prio=\"%s\"", prio_names[p]);
			gw_metric(m, "linli_queue_depth", lab, qs[p].depth);
		}
		gw_metric_head(m, "linli_queue_oldest_age_seconds", "gauge",
			       "Age of the oldest queued message, by priority (0 when none)");
		for (unsigned p = 0; p < ARRAY_SIZE(prio_names); p++) {
			snprintf(lab, sizeof(lab), "prio=\"%s\"", prio_names[p]);
			gw_metric(m, "linli_queue_oldest_age_seconds", lab,
				  qs[p].oldest && now > qs[p].oldest ? now - qs[p].oldest : 0);
		}
	} else {
		gw_ctr_inc(gw, GW_CTR_DB_ERRORS);
	}

	gw_metric_head(m, "linli_modem_up", "gauge", "1 when the modem is connected and answering");
	gw_metric_head(m, "linli_modem_signal_percent", "gauge", "Signal strength of the last health poll");
	gw_metric_head(m, "linli_modem_registered", "gauge", "1 when registered on the network");
	gw_metric_head(m, "linli_modem_sim_used", "gauge", "Messages stored on the SIM");
	gw_metric_head(m, "linli_modem_sim_size", "gauge", "Message slots of the SIM");
	for (unsigned i = 0; i < gw->nmodems; i++) {
		const struct gw_modem *md = &gw->modem[i];

		gw_metric_label(md->cfg.name, esc, sizeof(esc));
		snprintf(lab, sizeof(lab), "modem=\"%s\"", esc);
		gw_metric(m, "linli_modem_up", lab, md->state == MDM_ST_READY);
		gw_metric(m, "linli_modem_signal_percent", lab, md->health.signal_pct);
		gw_metric(m, "linli_modem_registered", lab, md->health.registered);
		gw_metric(m, "linli_modem_sim_used", lab, md->health.sim_used);
		gw_metric(m, "linli_modem_sim_size", lab, md->health.sim_size);
	}
	gw_metric_head(m, "linli_db_errors_total", "counter", "Database operations that failed");
	gw_metric(m, "linli_db_errors_total", "", ctr(gw->ctrs, GW_CTR_DB_ERRORS));
	gw_metric_head(m, "linli_db_ok", "gauge", "0 while the database cannot commit (sends and SIM deletions held)");
	gw_metric(m, "linli_db_ok", "", !gw->db_degraded);
	gw_metric_head(m, "linli_db_faults_total", "counter",
		       "Failed commits that made the database degraded, by code");
	for (unsigned k = 0; k < _GW_DB_FAULTS; k++) {
		snprintf(lab, sizeof(lab), "code=\"%s\"", gw_db_fault_name(k));
		gw_metric(m, "linli_db_faults_total", lab, gw->db_fault_count[k]);
	}
}

char *gw_http_metrics_text(struct gw *gw, void *ctx)
{
	struct gw_metrics m = {.text = talloc_strdup(ctx, "")};

	if (!m.text)
		return NULL;
	gw_http_core_metrics(gw, &m);
	for (unsigned i = 0; i < W.n; i++)
		W.fn[i](gw, &m);
	if (m.nomem) {
		talloc_free(m.text);
		return NULL;
	}
	talloc_free(m.heads);
	return m.text;
}
