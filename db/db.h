/* The community database: the only part of linli that includes <sqlite3.h>.
 *
 * One struct db_context per open file; every statement is prepared once at open.
 * Return convention: 0 or a count on success, -errno on failure; SQLite codes are mapped once,
 * here: SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY -> -EEXIST, no row -> -ENOENT, SQLITE_BUSY/LOCKED ->
 * -EBUSY, SQLITE_FULL -> -ENOSPC, anything else -> -EIO (logged with sqlite3_errmsg).
 * All calls are made from one thread (linlid's main loop, or linlictl).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_context;

/* Open (creating if needed) the database at path, apply the numbered upgrade steps up to the
 * latest version (schema.sql is version 1, db/upgrade/NNN_*.sql is version NNN; each step in its
 * own transaction), and set WAL, foreign_keys=ON, synchronous=FULL, a busy timeout of 5 s.
 * -EPROTO (logged) when the file is newer than this build knows; -ENOENT when it cannot be
 * opened or created; -EIO when a step fails (the file stays at the version before it).
 * The context is allocated under talloc ctx; db_close() or freeing ctx closes it. */
int db_open(void *ctx, const char *path, struct db_context **dbc_out);
void db_close(struct db_context *dbc);
int db_version(struct db_context *dbc); /* PRAGMA user_version */
int db_latest_version(void);		/* the version db_open upgrades to */

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK; linlid groups many queue writes into one commit. */
int db_begin(struct db_context *dbc);
int db_commit(struct db_context *dbc);
int db_rollback(struct db_context *dbc);

/* EXPLAIN QUERY PLAN of one of the prepared statements by name (e.g. "sms_out_claim"), one cb per
 * plan line; for tests and diagnosis. -ENOENT for an unknown name. */
int db_explain(struct db_context *dbc, const char *stmt_name, void (*cb)(void *data, const char *line), void *data);

/* Normalise a phone number to E.164 with a leading '+': "+86 138-0013-8000", "8613800138000" and
 * "13800138000" (11 digits starting with 1 -> +86) all become "+8613800138000"; "+44..." is kept.
 * Short codes and non-numeric sender IDs (e.g. "10086", "ChinaMobile") are returned as given,
 * trimmed. Returns 0 or -EINVAL (empty, too long, illegal characters).
 * In detail: spaces, '-', '.', '(', ')' and '/' between digits are dropped; "00" is the
 * international prefix ("0086..." -> "+86..."); "+86 (0)571..." loses the trunk 0; only
 * 1[3-9]xxxxxxxxx counts as a Chinese mobile (10658888888 is a service number and stays); a
 * landline with its trunk prefix (0571 88001234, 10-12 digits) becomes +86571...; other digit
 * strings (short codes, 106... service numbers, up to 20 digits) are returned as digits; a '+'
 * number needs 7-15 digits not starting with 0; a string with a letter (any non-ASCII counts as
 * a letter) is a sender ID, returned trimmed if it is valid UTF-8 without control characters. */
int db_number_norm(const char *in, char *out, size_t outlen);

/* true when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF). */
bool db_utf8_valid(const char *s, size_t len);

/* ---- people ---- */

struct db_phone {
	int64_t id;
	int64_t household_id; /* 0 when the number belongs to no household (e.g. staff) */
	char number[32];      /* normalised */
	char name[64];
	char role[16]; /* "resident", "grid_worker", "staff", "runner" */
	char lang[8];  /* "zh-CN" (default) or "en" */
};

/* Look up a normalised number. 0, or -ENOENT when unknown (out may be NULL to test existence). */
int db_phone_get(struct db_context *dbc, const char *number, struct db_phone *out);

/* ---- inbox ---- */

enum db_sms_in_flags {
	DB_SMS_IN_INCOMPLETE = 1, /* concatenated message assembled with parts missing */
	DB_SMS_IN_BAD_TEXT = 2,	  /* text could not be decoded cleanly; raw holds the input */
};

struct db_sms_in {
	int64_t id;
	const char *channel; /* "gsm" or "sip" */
	const char *modem;   /* modem name, NULL for sip */
	const char *sender;  /* normalised when possible, else as received */
	const char *text;    /* UTF-8 */
	const char *raw;     /* raw input kept for diagnosis (hex PDUs, SIP body); may be NULL */
	int64_t smsc_ts;     /* SMSC time stamp, unix seconds, 0 if unknown */
	int64_t recv_ts;     /* when linlid got it, unix seconds */
	unsigned flags;	     /* enum db_sms_in_flags */
	const char *dedup;   /* unique key; the same key again -> -EEXIST */
	const char *state;   /* filled by db_sms_in_get: "new" or "done" */
};

/* Store a complete message in state "new". -EEXIST when the dedup key is already stored. */
int db_sms_in_add(struct db_context *dbc, const struct db_sms_in *m, int64_t *id_out);

/* One part of a concatenated message. */
struct db_sms_part {
	const char *modem;
	const char *sender;
	unsigned ref, total, seq; /* from the concat UDH */
	const char *text;	  /* this part's UTF-8 text */
	const char *raw;
	int64_t smsc_ts, recv_ts;
	unsigned flags;
	const char *dedup; /* unique per part; a part seen before (even one already assembled) -> -EEXIST */
};

/* Store a part (parts of one message share sender, ref and total). When it is the last one
 * missing, the message is assembled in seq order into sms_in ("new", dedup "<part dedup of seq 1>#msg"),
 * the parts are marked with its id, and *msg_id is set; otherwise *msg_id = 0. */
int db_sms_part_add(struct db_context *dbc, const struct db_sms_part *p, int64_t *msg_id);

/* Assemble every incomplete group whose newest part arrived before 'before' into an sms_in
 * message flagged DB_SMS_IN_INCOMPLETE (a missing part is shown as "[…]"), calling cb for each
 * new message id. Returns how many were assembled. */
int db_sms_part_expire(struct db_context *dbc, int64_t before, void (*cb)(void *data, int64_t msg_id), void *data);

/* Read one message (strings allocated under talloc ctx). */
int db_sms_in_get(struct db_context *dbc, void *ctx, int64_t id, struct db_sms_in *out);

/* Mark a message routed ("done") with an optional note of what was done with it. */
int db_sms_in_done(struct db_context *dbc, int64_t id, const char *note);

/* Call cb for every message still "new" (oldest first): what a restart must route again. */
int db_sms_in_foreach_new(struct db_context *dbc, void (*cb)(void *data, int64_t id), void *data);

/* ---- outbox ---- */

enum db_prio {
	DB_PRIO_SOS = 0,
	DB_PRIO_STAFF = 1,
	DB_PRIO_REPLY = 2,
	DB_PRIO_BULK = 3,
};

struct db_sms_out {
	int64_t id;
	int prio;
	char dest[32];
	char *text;   /* talloc'd under the ctx given to db_sms_out_claim */
	int attempts; /* including the one just claimed */
	int64_t created;
	char last_modem[32]; /* modem of the previous attempt, "" if none */
};

/* Queue a message ("queued", due now: next_try 0, so a fake clock still finds it due). */
int db_sms_out_add(struct db_context *dbc, const char *dest, const char *text, int prio, int64_t *id_out);
/* The same for a given channel: "gsm" (what db_sms_out_add queues) or "sip" (a reply to a SIP
 * sender, taken by db_sms_out_claim_channel(..., "sip", ...), never by a modem). */
int db_sms_out_add_channel(struct db_context *dbc, const char *channel, const char *dest, const char *text, int prio,
			   int64_t *id_out);

/* Take the most urgent due message (state "queued", next_try <= now; lowest prio first, then
 * oldest) and mark it "sending" on modem, attempts + 1. -ENOENT when nothing is due. */
int db_sms_out_claim(struct db_context *dbc, void *ctx, const char *modem, int64_t now, struct db_sms_out *out);
/* The same among the messages of one channel (db_sms_out_claim is channel "gsm"). */
int db_sms_out_claim_channel(struct db_context *dbc, void *ctx, const char *channel, const char *modem, int64_t now,
			     struct db_sms_out *out);

/* The modem accepted every part: "sent", with the message references ("12,13").
 * sent/retry/fail return -ENOENT when the message is unknown or not in a state they apply to:
 * sent and retry need "sending"; fail takes "queued" or "sending". */
int db_sms_out_sent(struct db_context *dbc, int64_t id, const char *refs, int64_t now);

/* Back to "queued", due at next_try, with the reason of the failed attempt. */
int db_sms_out_retry(struct db_context *dbc, int64_t id, int64_t next_try, const char *reason);

/* "failed" for good, with the reason. */
int db_sms_out_fail(struct db_context *dbc, int64_t id, const char *reason);

/* At start-up: every "sending" row (the crash window between AT+CMGS and its commit) goes back
 * to "queued"; *n is how many, and the stat "out_possible_dup" grows by it. */
int db_sms_out_recover(struct db_context *dbc, int *n);

/* A status report for message reference mr from modem: recorded on the newest "sent" message of
 * that modem whose refs contain mr; delivered (status < 0x20) / failed (>= 0x40) / pending.
 * -ENOENT when no message matches. */
int db_sms_out_report(struct db_context *dbc, const char *modem, unsigned mr, unsigned status, int64_t ts);

enum db_out_state { DB_OUT_QUEUED, DB_OUT_SENDING, DB_OUT_SENT, DB_OUT_FAILED, _NUM_DB_OUT };
/* Count rows per state into counts[_NUM_DB_OUT]. */
int db_sms_out_counts(struct db_context *dbc, int64_t counts[_NUM_DB_OUT]);
/* Inbox messages "new" and "done", and parts still waiting for the rest of their message
 * (n_parts_waiting may be NULL). */
int db_sms_in_counts(struct db_context *dbc, int64_t *n_new, int64_t *n_done, int64_t *n_parts_waiting);

/* ---- for show commands: one formatted line per row, newest first; returns how many ---- */
int db_sms_in_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data);
int db_sms_out_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data);

/* ---- persistent counters (table stat) ---- */
int db_stat_add(struct db_context *dbc, const char *name, int64_t delta);
int64_t db_stat_get(struct db_context *dbc, const char *name); /* 0 when absent (or on error, logged) */
/* cb for every counter, by name; returns how many. cb must not use the database. */
int db_stat_foreach(struct db_context *dbc, void (*cb)(void *data, const char *name, int64_t value), void *data);
