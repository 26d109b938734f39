/* The community database: the only part of linli that includes <sqlite3.h>.
 *
 * One struct db_context per open file; every statement is prepared once at open.
 * Return convention: 0 or a count on success, -errno on failure; SQLite codes are mapped once
 * (db/db.c): SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY -> -EEXIST, no row -> -ENOENT, another
 * constraint (CHECK, NOT NULL, FOREIGN KEY) -> -EINVAL, a trigger's RAISE -> -EPERM,
 * SQLITE_BUSY/LOCKED -> -EBUSY, SQLITE_FULL -> -ENOSPC, SQLITE_NOMEM -> -ENOMEM, SQLITE_READONLY
 * -> -EROFS, SQLITE_CORRUPT/NOTADB -> -EBADMSG, SQLITE_IOERR and anything else -> -EIO (all but
 * -EEXIST and -ENOENT logged with sqlite3_errmsg). A state change that is not in the request's or
 * the SOS incident's transition table -> -EPERM (logged).
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
/* path names a PostgreSQL database (postgresql://USER[:PASSWORD]@HOST[:PORT]/NAME[?...], libpq's
 * URI) rather than an SQLite file: db_open runs db/pg/ and the same statements there (issue 14). */
bool db_is_url(const char *path);
/* path as it may be shown in a log: a URL's password as "***" (talloc'd under ctx). */
char *db_path_shown(void *ctx, const char *path);
/* db_open for one community of a district's PostgreSQL database (`community CODE`): its rows live in
 * the schema linli_CODE (created on first use, listed in public.linli_community), so that the box
 * reads and writes its own community only and its references are numbered on their own. On SQLite
 * the file is the community: the code changes nothing there. -EINVAL: not 1 to DB_COMMUNITY_MAX of
 * a-z, 0-9 and _. */
#define DB_COMMUNITY_MAX 32
int db_open_community(void *ctx, const char *path, const char *community, struct db_context **dbc_out);
bool db_community_valid(const char *code);
/* linlid owns the database (its community, on PostgreSQL) while it runs: on SQLite the owner's lock
 * file (db_lock_owner) does it; on PostgreSQL a session advisory lock and a lease of lease_s seconds
 * (0: DB_LEASE_S) on the server's clock, in linli_owner. -EBUSY when another linlid holds it; when
 * that owner's lease has run out (its box froze or was cut off while the server kept its session),
 * its session is ended and the next db_own takes over. */
#define DB_LEASE_S 30
int db_own(struct db_context *dbc, int lease_s);
/* Renew the lease (every lease/3 seconds). -EPERM: another linlid took over while this one was cut
 * off or frozen; it must stop, as nothing it does is recorded any more. -EIO: the server is out of
 * reach now (the lease may run out). 0 on SQLite. */
int db_own_renew(struct db_context *dbc);
/* How long a statement waits for another connection's lock before it fails with -EBUSY (5 s from
 * db_open). An event loop sets it short, so that a lock held elsewhere does not stall it. */
void db_set_busy_timeout(struct db_context *dbc, int ms);
/* ---- backups (db_backup.c) ----
 * A consistent copy of the open database into dest (which must not exist), while linlid runs:
 * written beside it, checked, 0600, synced, renamed. *version: the copy's schema version. err gets
 * a sentence naming the file. -EEXIST: dest exists. */
int db_backup(struct db_context *dbc, const char *dest, int *version, char *err, size_t errlen);
/* Check a backup: a sound SQLite file (quick_check), a linli schema not newer than this build
 * (-EPROTO), the core tables (-EBADMSG otherwise). */
int db_backup_check(const char *path, int *version, char *err, size_t errlen);
/* Replace the database at db_path by the backup at src_path (checked first). The current file is
 * kept as db_path.pre-restore-TIME (its name in kept, "" when there was none). The caller holds the
 * owner's lock (no linlid on it); the restored file is upgraded by the next db_open. */
int db_restore(const char *src_path, const char *db_path, char *kept, size_t keptlen, char *err, size_t errlen);
/* The owner's lock: flock on db_path.lock, held by linlid while it runs (and by a restore), so that
 * two processes never own one database. -EBUSY: held by another. *fd: keep it open to hold it.
 * A PostgreSQL URL has no lock file (0, *fd -1): db_own does it there. */
int db_lock_owner(void *ctx, const char *db_path, int *fd);

/* The libosmocore log subsystem db/ logs to (linlid: DDB); DLGLOBAL until set. */
void db_set_log_category(int ss);
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
/* The same, but not a message whose previous attempt failed on this modem (last_modem): the
 * scheduler uses it while another modem is ready, so a retry goes out through another modem. */
int db_sms_out_claim_other(struct db_context *dbc, void *ctx, const char *modem, int64_t now, struct db_sms_out *out);
/* A claimed message whose send never started goes back to the queue as it was (the attempt is
 * not counted). -ENOENT when it is not 'sending'. */
int db_sms_out_release(struct db_context *dbc, int64_t id);
/* Whether a due modem message of priority prio or more urgent is waiting (errors: false, logged). */
bool db_sms_out_waiting(struct db_context *dbc, int prio, int64_t now);
/* Mark a queued message as to go through another modem than this one when there is one. */
int db_sms_out_avoid(struct db_context *dbc, int64_t id, const char *modem);
/* The same among the messages of one channel (db_sms_out_claim is channel "gsm"). */
int db_sms_out_claim_channel(struct db_context *dbc, void *ctx, const char *channel, const char *modem, int64_t now,
			     struct db_sms_out *out);

/* The modem accepted every part: "sent", with the message references ("12,13").
 * sent/retry/fail return -ENOENT when the message is unknown or not in a state they apply to:
 * sent and retry need "sending"; fail takes "queued" or "sending". */
int db_sms_out_sent(struct db_context *dbc, int64_t id, const char *refs, int64_t now);

/* Back to "queued", due at next_try, with the reason of the failed attempt. */
int db_sms_out_retry(struct db_context *dbc, int64_t id, int64_t next_try, const char *reason);

/* Store-and-send: still "sending" (its copies stay on the SIM, read back later), an attempt counted
 * with the reason; *attempts the attempts so far. -ENOENT when it is not "sending". */
int db_sms_out_kept(struct db_context *dbc, int64_t id, const char *reason, unsigned *attempts);

/* "failed" for good, with the reason. */
int db_sms_out_fail(struct db_context *dbc, int64_t id, const char *reason);

/* At start-up: every "sending" row (the crash window between AT+CMGS and its commit) goes back
 * to "queued"; *n is how many, and the stat "out_possible_dup" grows by it. Rows stored on a SIM
 * (store-and-send: copies in sms_out_copy) stay "sending" for db_sms_out_stored_list. */
int db_sms_out_recover(struct db_context *dbc, int *n);

/* Store-and-send: the n parts of message id, "sending", were stored at the SIM indexes index[]
 * (part k + 1 at index[k]) on modem (AT+CMGW); committed before any is sent from there. They stay
 * recorded with the outcome until each copy is deleted (db_sms_out_stored_gone). -ENOENT when
 * not sending. */
int db_sms_out_stored(struct db_context *dbc, int64_t id, const char *modem, const int *index, unsigned n);
/* The copies on modem's SIM, one cb a part, by message and part: sending, those of rows left
 * "sending" by a crash (to read back); otherwise those whose outcome is recorded but whose copy was
 * not deleted yet. Returns how many. */
int db_sms_out_stored_list(struct db_context *dbc, const char *modem, bool sending,
			   void (*cb)(void *data, int64_t id, int part, int index), void *data);
/* 1 when a message refers to a copy at SIM index on modem, 0 when none does, -errno. */
int db_sms_out_copy_known(struct db_context *dbc, const char *modem, int index);
/* At start-up: "sending" rows stored on a modem that is not among names (n of them; the modem is
 * no longer configured) go back to "queued", counted in "out_possible_dup" (at most 64 a call). */
int db_sms_out_stored_orphans(struct db_context *dbc, const char *const *names, unsigned n, int *requeued);
/* The copy at SIM index on modem is deleted: forget it (rows not "sending" only). */
int db_sms_out_stored_gone(struct db_context *dbc, const char *modem, int index);

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

/* ---- SOS ---- (db/db_sos.c: watches, bindings, incidents, attempts; upgrade step 003_sos.sql)
 *
 * Escalation "rungs": 1..99 are binding steps (approved bindings only), then DB_SOS_RUNG_GRID
 * (the grid worker of the watch's household), DB_SOS_RUNG_STAFF (phones with role staff) and
 * DB_SOS_RUNG_NEIGHBOURS (the primary phones of the other households of the same 联户 group). */

#define DB_SOS_RUNG_GRID       100
#define DB_SOS_RUNG_STAFF      101
#define DB_SOS_RUNG_NEIGHBOURS 102

struct db_device {
	int64_t id;
	char number[32];
	char imei[20];
	char person[64];
	char dialect[16];	 /* "setracker", "tk", "generic" */
	int64_t household_id;	 /* 0 when none */
	char household[32];	 /* household code, "" when none */
	char address[96];	 /* "1幢1单元101", "" when no household */
	char primary_number[32]; /* the household's primary phone, "" when none */
	int64_t programmed_at;
};

/* Add a watch; household_code may be NULL. -EEXIST (number taken), -ENOENT (no such household). */
int db_device_add(struct db_context *dbc, const char *number, const char *imei, const char *household_code,
		  const char *person, const char *dialect, int64_t *id_out);
/* Look a watch up by its (normalised) number, or by id when number is NULL. 0 or -ENOENT. */
int db_device_get(struct db_context *dbc, const char *number, int64_t id, struct db_device *out);
int db_device_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data);
/* Record that the programming commands were queued (reply NULL) or the watch's answer to them. */
int db_device_programmed(struct db_context *dbc, int64_t device_id, int64_t at, const char *reply);

struct db_binding {
	int64_t id, device_id, phone_id;
	char number[32]; /* the contact */
	int step;
	char state[12];	      /* pending approved removed */
	char code[12];	      /* approval code while pending, "" otherwise */
	char unbind_code[12]; /* while an unbinding waits for confirmation */
	char device_number[32];
};

/* A pending (or, approve true, approved) binding of number to the watch; a phone row is made for
 * a number the database does not know. An existing binding is reset to the new state/step/code
 * (a removed one comes back). */
int db_binding_put(struct db_context *dbc, int64_t device_id, const char *number, int step, bool approve,
		   const char *code, const char *by, int64_t now, int64_t *id_out);
/* The binding of number to the watch. 0 or -ENOENT. */
int db_binding_get(struct db_context *dbc, int64_t device_id, const char *number, struct db_binding *out);
/* The binding waiting for code (approval or unbinding) among the watches of the households whose
 * primary phone is primary_number, the code texted at or after since. 0 or -ENOENT. */
int db_binding_by_code(struct db_context *dbc, const char *primary_number, const char *code, int64_t since,
		       struct db_binding *out);
/* pending -> approved; -ENOENT when no such binding or it is removed. */
int db_binding_approve(struct db_context *dbc, int64_t binding_id, const char *by, int64_t now);
/* -> removed (location no longer sent). */
int db_binding_remove(struct db_context *dbc, int64_t binding_id, const char *by, int64_t now);
/* An unbinding waiting for confirmation with code (NULL clears it), texted at now. */
int db_binding_set_unbind(struct db_context *dbc, int64_t binding_id, const char *code, const char *by, int64_t now);
/* Every binding (of one watch when device_number is not NULL), one line each. */
int db_binding_list(struct db_context *dbc, const char *device_number, void (*cb)(void *data, const char *line),
		    void *data);

/* One person to alert on a rung. located: may receive the location (an approved binding). */
struct db_sos_contact {
	int64_t phone_id;
	char number[32];
	char name[64];
	bool located;
};
/* The contacts of one rung for a watch (approved bindings of that step, grid worker, staff or
 * neighbours); returns how many (cb for each), or -errno. The watch's own number is never one. */
int db_sos_contacts(struct db_context *dbc, int64_t device_id, int rung,
		    void (*cb)(void *data, const struct db_sos_contact *c), void *data);
/* The first rung after 'after' that has a contact, or -ENOENT when none is left. */
int db_sos_next_rung(struct db_context *dbc, int64_t device_id, int after);

struct db_sos_incident {
	int64_t id, device_id;
	char state[16]; /* raised notifying acknowledged resolved false_alarm */
	int step;	/* the rung alerted last (0 none yet) */
	int round;	/* 1.. */
	int64_t created, next_at, first_alert_at, first_sent_at, acked_at, resolved_at, last_alarm_at;
	char acked_by[32];
	bool has_pos;
	double lat, lon;
	char kind[16];
	char battery[16];
	char fix[8];
	int alarms;
	char *raw; /* talloc'd under the ctx given to the getter */
};

/* Whether an incident may go from state from to state to (resolved and false_alarm are final; a
 * state may always stay as it is). db_sos_incident_update refuses any other change: -EPERM. */
bool db_sos_transition_ok(const char *from, const char *to);

/* Insert a new incident from *inc (state, created, position, kind, battery, fix, raw); sets id. */
int db_sos_incident_add(struct db_context *dbc, struct db_sos_incident *inc);
/* Write back the mutable fields (state, step, round, next_at, first_alert_at, acked_*, resolved_at,
 * position, alarms, last_alarm_at, battery). -ENOENT for an unknown id, -EPERM when the state
 * change is not a transition of the incident (db_sos_transition_ok). */
int db_sos_incident_update(struct db_context *dbc, const struct db_sos_incident *inc);
int db_sos_incident_get(struct db_context *dbc, void *ctx, int64_t id, struct db_sos_incident *out);
/* The newest incident of the watch still raised/notifying, or acknowledged at or after
 * acked_since. 0 or -ENOENT. */
int db_sos_incident_open(struct db_context *dbc, void *ctx, int64_t device_id, int64_t acked_since,
			 struct db_sos_incident *out);
/* Ids of raised/notifying incidents whose next step is due (next_at <= now), oldest first: a
 * talloc array under ctx in *ids, the count returned. */
int db_sos_incident_due(struct db_context *dbc, void *ctx, int64_t now, int64_t **ids);
/* Ids of raised/notifying incidents (and of those acknowledged at or after acked_since) that
 * number may acknowledge: it is an approved binding of the watch or was alerted for the
 * incident. A talloc array under ctx; the count returned. */
int db_sos_ack_candidates(struct db_context *dbc, void *ctx, const char *number, int64_t acked_since, int64_t **ids);
/* How many incidents are raised/notifying. */
int db_sos_open_count(struct db_context *dbc);
/* Set first_sent_at of incidents whose first alert a modem has accepted since. Returns how many. */
int db_sos_fill_first_sent(struct db_context *dbc);
int db_sos_incident_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data);
/* The incident and its attempts (with the state and delivery of each SMS), one line each. */
int db_sos_incident_show(struct db_context *dbc, int64_t id, void (*cb)(void *data, const char *line), void *data);

/* Record one attempt (kind: alert update ack_notice ack_reply stop resend). */
int db_sos_attempt_add(struct db_context *dbc, int64_t incident_id, int64_t phone_id, const char *number, int step,
		       const char *kind, bool location, int64_t sms_out_id, int64_t at);
/* Every number alerted for the incident (kinds alert/resend), once, with whether it got the
 * location; returns how many. */
int db_sos_alerted(struct db_context *dbc, int64_t incident_id, void (*cb)(void *data, const struct db_sos_contact *c),
		   void *data);

/* An alert of an open incident whose SMS failed (or was reported undelivered) and that was not
 * sent again yet. */
struct db_sos_failed {
	int64_t attempt_id, incident_id, phone_id, sms_out_id;
	char number[32];
	int step;
	bool location;
	char *text;	/* talloc'd */
	char modem[32]; /* the modem it failed on ("" if none took it) */
};
/* Up to 16 of them (a talloc array under ctx), the count returned; each one is marked handled
 * (result) by db_sos_attempt_result. Only attempts whose number has fewer than max_resends
 * resends in that incident are returned. */
int db_sos_failed_alerts(struct db_context *dbc, void *ctx, int max_resends, struct db_sos_failed **out);
int db_sos_attempt_result(struct db_context *dbc, int64_t attempt_id, const char *result);

/* The second path: a call to a contact (channel 'call', kind 'call'), result NULL until linlid
 * starts it ('calling'), then what came of it. */
int db_sos_call_attempt_add(struct db_context *dbc, int64_t incident_id, int64_t phone_id, const char *number, int step,
			    int64_t at);
struct db_sos_call {
	int64_t attempt_id, incident_id, phone_id;
	char number[32], watch[32];
	char building[16], unit[16]; /* of the watch's household */
	bool open;		     /* the incident is still raised or notifying */
};
/* Up to 16 call attempts not started yet (a talloc array under ctx); the count or -errno. */
int db_sos_calls_pending(struct db_context *dbc, void *ctx, struct db_sos_call **out);
/* Calls that were under way when linlid stopped: marked lost. */
int db_sos_calls_lost(struct db_context *dbc);

/* true (and the time recorded) when no notice of this kind went to the watch's contacts within
 * interval seconds; false otherwise. */
bool db_sos_notice_allowed(struct db_context *dbc, int64_t device_id, const char *kind, int64_t now, int64_t interval);

/* ---- SOS for the staff console (gateway/sos/sos_http.c): rows as structs, no text lines ---- */

/* An incident with its watch, for lists: the incident's own fields and who and where. */
struct db_sos_incident_row {
	struct db_sos_incident inc;
	char watch[32];	    /* the watch's number */
	char wearer[64];    /* who wears it ("" when not recorded) */
	char household[32]; /* household code, "" when none */
	char address[96];   /* "1幢1单元101", "" when none */
	int alerts_sent;    /* alerts (and resends) a modem accepted */
};
/* Incidents, newest first, those not closed (raised, notifying, acknowledged) before the closed
 * ones; only the open ones when open_only. Up to limit after skipping offset, a talloc array
 * under ctx; the count. db_sos_incident_count: how many there are in all. */
int db_sos_incident_rows(struct db_context *dbc, void *ctx, bool open_only, int limit, int offset,
			 struct db_sos_incident_row **out);
int64_t db_sos_incident_count(struct db_context *dbc, bool open_only);
/* One incident as a row: 0 or -ENOENT. */
int db_sos_incident_row(struct db_context *dbc, void *ctx, int64_t id, struct db_sos_incident_row *out);

/* One attempt of an incident with its delivery: state is "queued", "sending", "sent",
 * "delivered", "failed" for an SMS, the call's result for a call ("pending" before it starts). */
struct db_sos_attempt_row {
	int64_t id;
	int step;
	char kind[16];	 /* alert update ack_notice ack_reply stop resend call */
	char channel[8]; /* sms call */
	char number[32];
	char name[64]; /* the phone's name, "" when none */
	char state[16];
	bool location;				  /* it carried the map link */
	int64_t queued_at, sent_at, delivered_at; /* 0 = not (yet) */
	char error[160];			  /* the send error, the delivery report's failure, the call's result */
};
/* Every attempt of the incident in the order made; a talloc array under ctx, the count. */
int db_sos_attempt_rows(struct db_context *dbc, void *ctx, int64_t incident_id, struct db_sos_attempt_row **out);

/* The incident's history (db/upgrade sos_event): raised, acknowledged, resolved, false alarm,
 * with who did it (a number, "web:NAME (NUMBER)", "linlictl") and why. */
struct db_sos_event {
	int64_t at;
	char actor[100];
	char from[16], to[16]; /* states; "" for from on the raising */
	char note[256];
};
int db_sos_event_add(struct db_context *dbc, int64_t incident_id, int64_t at, const char *actor, const char *from,
		     const char *to, const char *note);
int db_sos_event_rows(struct db_context *dbc, void *ctx, int64_t incident_id, struct db_sos_event **out);

/* What the watch sent while the incident was open (from its creation to its close, or now). */
struct db_sos_alarm {
	int64_t at;
	char channel[8];
	char *text; /* talloc'd */
};
int db_sos_alarm_rows(struct db_context *dbc, void *ctx, int64_t incident_id, struct db_sos_alarm **out);

/* A watch with when it was last heard from and its last known battery. */
struct db_device_row {
	struct db_device dev;
	int64_t last_seen_at; /* the last message from its number, 0 = never */
	char battery[16];     /* of its newest incident, "" when unknown */
};
int db_device_rows(struct db_context *dbc, void *ctx, struct db_device_row **out);

/* A binding with the contact's name and its times. */
struct db_binding_row {
	struct db_binding b;
	char name[64];
	int64_t created, approved_at; /* 0 = not */
	char approved_by[100];
};
/* Bindings that are not removed, by watch and step: of one watch when device_id is not 0, only
 * pending ones when pending_only. A talloc array under ctx; the count. */
int db_binding_rows(struct db_context *dbc, void *ctx, int64_t device_id, bool pending_only,
		    struct db_binding_row **out);
/* One binding by id (removed ones too): 0 or -ENOENT. */
int db_binding_by_id(struct db_context *dbc, int64_t id, struct db_binding_row *out);

/* Incidents by state: cb for each state that has any. */
int db_sos_state_counts(struct db_context *dbc, void (*cb)(void *data, const char *state, int64_t n), void *data);

/* The SOS histograms: of the incidents raised at or after since, the time to the first alert a
 * modem accepted (first_sent_at - created) or to the acknowledgement (acked_at - created), for
 * those that have it; cumulative counts per bucket bound DB_SOS_HIST_LE. */
#define DB_SOS_HIST_NB 10
extern const int db_sos_hist_le[DB_SOS_HIST_NB]; /* 1 2 5 10 30 60 120 300 600 1800 seconds */
struct db_sos_hist {
	int64_t count;
	double sum;
	int64_t le[DB_SOS_HIST_NB];
};
enum db_sos_hist_kind {
	DB_SOS_HIST_FIRST_ALERT,
	DB_SOS_HIST_ACK,
};
int db_sos_hist(struct db_context *dbc, enum db_sos_hist_kind kind, int64_t since, struct db_sos_hist *out);

/* Settings linlid shares with linlictl (e.g. "community-number"). get: 0 or -ENOENT. */
int db_setting_set(struct db_context *dbc, const char *name, const char *value);
int db_setting_get(struct db_context *dbc, const char *name, char *buf, size_t len);

/* ---- requests ---- (db/db_request.c: 报事 requests and their event history, issue 3)
 *
 * state is one of DOMAIN.md's English names (received dispatched accepted in_progress returned
 * extended closed visited reopened merged); flags are enum db_request_flag bits. Open states are
 * everything but closed, visited and merged. */

enum db_request_flag {
	DB_REQ_OVERDUE = 1,	/* 超时: past its deadline while open */
	DB_REQ_REMINDED = 2,	/* 催办 sent to the assignee */
	DB_REQ_ESCALATED = 4,	/* 督办 sent to the duty staff */
	DB_REQ_URGENT = 8,	/* 紧急 */
	DB_REQ_UNVERIFIED = 16, /* reported by a number the database does not know */
};

struct db_request {
	int64_t id;
	char ref[8];
	char kind[8];		   /* "request" or "errand" */
	int64_t reporter_phone_id; /* 0 when unknown */
	char reporter[32];
	char reporter_name[64]; /* the phone's name, "" when unknown */
	char reporter_lang[8];	/* "zh-CN" when unknown */
	int64_t household_id;	/* 0 when none */
	char address[96];	/* "1幢1单元101", "" when no household */
	char *text;		/* talloc'd under the ctx given to the getter */
	char state[16];
	unsigned flags;
	int64_t deadline;	   /* unix seconds: the end of the deadline day, 0 none */
	int64_t assignee_phone_id; /* 0 when none (the duty staff) */
	char assignee[32];	   /* the assignee's number, "" when none */
	char rating[16];
	int64_t merged_into;
	int64_t created, updated;
	char source[8];	  /* "sms", "open311", "web", "voice" ("sms" when not set on add) */
	char service[24]; /* the Open311 service_code it was filed under, "" for the general 报事 */
	bool has_pos;	  /* lat, lon given (WGS-84) */
	double lat, lon;
	char place[200];	/* the address as a submitter wrote it (Open311 address_string), "" none */
	char grid[32];		/* read only: the code of the household's grid, "" none */
	char assignee_name[64]; /* read only: the assignee's name, "" none */
	char recording[256];	/* a request by voice: its WAV file (under recordings-dir), "" none */
	unsigned recording_s;	/* the recording's length in seconds */
};

/* Whether state is an open one (not closed, visited or merged). */
bool db_request_state_open(const char *state);
/* Whether a request may go from state from to state to (db/db_request.c has the table; a state
 * may always stay as it is). db_request_update refuses any other change: -EPERM. */
bool db_request_transition_ok(const char *from, const char *to);

/* Insert *r (ref, reporter_phone_id, reporter, household_id, text, state, flags, deadline,
 * assignee_phone_id, merged_into, created, source, service, position, place, recording, recording_s);
 * sets r->id. -EEXIST when the ref is taken. */
int db_request_add(struct db_context *dbc, struct db_request *r);
/* By ref, or by id when ref is NULL. 0 or -ENOENT. */
int db_request_get(struct db_context *dbc, void *ctx, const char *ref, int64_t id, struct db_request *out);
/* Write back state, flags, deadline, assignee_phone_id, rating, merged_into, updated. -ENOENT for an
 * unknown id, -EPERM when the state change is not a transition (db_request_transition_ok). */
int db_request_update(struct db_context *dbc, const struct db_request *r);
/* One event row: actor (a number, "staff..." or "system"), from_state NULL for the first. */
int db_request_event_add(struct db_context *dbc, int64_t request_id, const char *actor, int64_t at,
			 const char *from_state, const char *to_state, const char *note);

/* The open request (not merged) of reporter with exactly this text created at or after since,
 * newest first. 0 or -ENOENT. */
int db_request_find_dup(struct db_context *dbc, void *ctx, const char *reporter, const char *text, int64_t since,
			struct db_request *out);
/* The newest request (not merged) reported by number or, household_id > 0, from that household;
 * with state not NULL only requests in that state. 0 or -ENOENT. */
int db_request_latest(struct db_context *dbc, void *ctx, const char *number, int64_t household_id, const char *state,
		      struct db_request *out);
/* Ids of open requests that the overdue check must look at: past their deadline (deadline < now)
 * and not flagged overdue yet, or reminded but not escalated with deadline < escalate_before.
 * A talloc array under ctx; the count returned. */
int db_request_due(struct db_context *dbc, void *ctx, int64_t now, int64_t escalate_before, int64_t **ids);
/* Refs of the open requests assigned to phone_id, oldest first, into a talloc string "123456 234567"
 * (or "" when none); the count returned. */
int db_request_open_refs(struct db_context *dbc, void *ctx, int64_t phone_id, char **refs);

/* Where a household is and who looks after it: address, and its grid's worker (number "" when the
 * grid has none). 0 or -ENOENT. */
struct db_place {
	char address[96];
	struct db_phone worker; /* worker.id 0 when none */
};
int db_request_place(struct db_context *dbc, int64_t household_id, struct db_place *out);
/* The active phones with role staff, by id; returns how many (cb for each). */
int db_staff_foreach(struct db_context *dbc, void (*cb)(void *data, const struct db_phone *p), void *data);
/* A phone by id. 0 or -ENOENT. */
int db_phone_get_id(struct db_context *dbc, int64_t id, struct db_phone *out);
/* What the holiday table says of date "YYYY-MM-DD": 1 off, 2 make-up working day, 0 no entry. */
int db_holiday_kind(struct db_context *dbc, const char *date);

/* One line per request (newest first; open_only: only open ones); returns how many. */
int db_request_list(struct db_context *dbc, bool open_only, int limit, void (*cb)(void *data, const char *line),
		    void *data);
/* The request and its events, one line each. -ENOENT when unknown. */
int db_request_show(struct db_context *dbc, const char *ref, void (*cb)(void *data, const char *line), void *data);

/* What the staff console and Open311 list requests by (db_request_query); every field is
 * optional (NULL / 0: no condition). */
struct db_request_filter {
	const char *state;    /* exactly this state */
	const char *kind;     /* "request" or "errand" */
	const char *grid;     /* the code of the household's grid */
	bool overdue;	      /* only open ones flagged 超时 or past their deadline at now */
	int open;	      /* 1: only open states, 2: only closed ones (closed, visited, merged) */
	const char *q;	      /* a ref, a reporter's number, or a piece of the text or address */
	const char *service;  /* the Open311 service_code ("request" also matches the general ones) */
	const char *refs;     /* a comma list of refs ("123456,234567") */
	int64_t since, until; /* created at or after since, at or before until */
	int64_t now;
	int limit, offset; /* the page (limit 0: 50) */
};
/* The requests matching f, newest first, one page: a talloc array under ctx in *out (strings under
 * it), the count returned; *total (may be NULL) is how many match in all. */
int db_request_query(struct db_context *dbc, void *ctx, const struct db_request_filter *f, struct db_request **out,
		     int *total);
struct db_request_event {
	int64_t at;
	char actor[100];
	char from[16]; /* "" for the first */
	char to[16];
	char *note; /* NULL when none */
};
/* The events of a request, oldest first: a talloc array under ctx, the count returned. */
int db_request_events(struct db_context *dbc, void *ctx, int64_t request_id, struct db_request_event **out);
/* The newest event of a request that changed its state (remarks that keep it are left out: a staff
 * note, a merged repeat, a 延期 ask); from "" for the first. 0, -ENOENT when none. */
int db_request_last_change(struct db_context *dbc, void *ctx, int64_t request_id, struct db_request_event *out);

/* 延期 asked by SMS (table request_extension): the assignee asks for days more working days with a
 * reason; the staff approve (state approved: the extension itself is rq_extend's) or refuse
 * (refused, with the reason), or nobody does by expires (expired); void when the request was no
 * longer open. At most one ask of a request is asked at a time, and its code is unique among the
 * asked ones. */
struct db_extension {
	int64_t id, request_id;
	char ref[8];	     /* read only: the request's */
	char asker[32];	     /* the number that asked */
	char asker_name[64]; /* read only: its phone's name, "" none */
	char asker_lang[8];  /* read only: its phone's language, "zh-CN" when unknown */
	unsigned days;	     /* 1..10 */
	char *reason;	     /* talloc'd under the ctx given to the getter */
	char code[8];	     /* the approval code */
	char state[12];	     /* asked approved refused expired void */
	int64_t created, expires;
};
/* Insert x (state asked); -EEXIST when its request has an asked one or its code is taken. */
int db_extension_add(struct db_context *dbc, struct db_extension *x);
/* The asked (waiting) ask of a request, or the asked one with code; 0, -ENOENT. */
int db_extension_asked(struct db_context *dbc, void *ctx, int64_t request_id, struct db_extension *out);
int db_extension_by_code(struct db_context *dbc, void *ctx, const char *code, struct db_extension *out);
/* Decide the asked ask id: state approved, refused, expired or void, by whom, the reason of a
 * refusal (may be NULL); -ENOENT when it was no longer asked. */
int db_extension_decide(struct db_context *dbc, int64_t id, const char *state, const char *by, const char *decision,
			int64_t at);
/* Decide whatever ask of request_id is asked (the staff extended it some other way); how many. */
int db_extension_decide_asked(struct db_context *dbc, int64_t request_id, const char *state, const char *by,
			      int64_t at);
/* The asked asks whose time is up (expires <= now), oldest first: a talloc array, the count. */
int db_extension_lapsed(struct db_context *dbc, void *ctx, int64_t now, struct db_extension **out);
/* For the metrics: cb once per kind and open state with how many requests are in it and how many
 * of them are overdue at now (flagged 超时 or past the deadline); returns how many calls. */
int db_request_open_counts(struct db_context *dbc, int64_t now,
			   void (*cb)(void *data, const char *kind, const char *state, int64_t n, int64_t overdue),
			   void *data);

/* ---- errands, points, registration, holidays, digest ---- (db/db_errand.c, upgrade 004_errands.sql)
 *
 * Errands are requests of kind "errand" (the functions above). The points table is a ledger:
 * entries are added, never changed; the balance is their sum. */

/* The active phones with a role ("runner", "staff", ...), by id; returns how many (cb for each;
 * cb may use the database). At most 256. */
int db_role_foreach(struct db_context *dbc, const char *role, void (*cb)(void *data, const struct db_phone *p),
		    void *data);
/* 1 when the phone is a registration waiting for approval (state pending), 0 when active. */
int db_phone_pending(struct db_context *dbc, int64_t phone_id);

/* Add a ledger entry. request_id 0 for none; an errand credits once: -EEXIST for a second entry
 * with the same request_id. */
int db_points_add(struct db_context *dbc, int64_t phone_id, long delta, const char *reason, int64_t request_id,
		  const char *actor, int64_t at);
/* The sum of the entries of a phone (0 when none) into *balance; returns how many entries. */
int db_points_balance(struct db_context *dbc, int64_t phone_id, int64_t *balance);
struct db_points_entry {
	long delta;
	char reason[64];
	int64_t at;
	char actor[100]; /* db_points_entries only */
	char ref[8];	 /* the errand credited, "" none (db_points_entries only) */
};
/* The newest n entries of a phone, newest first, into out[]; returns how many. */
int db_points_last(struct db_context *dbc, int64_t phone_id, struct db_points_entry *out, int n);
/* The newest n entries of a phone with who wrote them, newest first: a talloc array under ctx,
 * the count returned. */
int db_points_entries(struct db_context *dbc, void *ctx, int64_t phone_id, int n, struct db_points_entry **out);
/* One line per phone with entries (number, name, role, balance, entries; highest balance first),
 * or, number not NULL, the balance and every entry of that phone. Returns how many lines. */
int db_points_list(struct db_context *dbc, const char *number, void (*cb)(void *data, const char *line), void *data);

struct db_registration {
	int64_t id, phone_id;
	char number[32];
	char name[64];
	char address[64];
	int64_t household_id; /* the household the address matched or staff chose, 0 none */
	char state[12];	      /* pending linked approved rejected */
	int64_t created;
	char household[32];	    /* db_registration_query only: the household's code, "" none */
	char household_address[96]; /* and its address */
};
/* A phone for a registration: active in household_id when linked, else pending with no
 * household; sets *phone_id. -EEXIST when the number is known. */
int db_phone_register(struct db_context *dbc, const char *number, const char *name, int64_t household_id, bool active,
		      int64_t *phone_id);
/* Record a registration (r->state, r->created set by the caller); sets r->id. */
int db_registration_add(struct db_context *dbc, struct db_registration *r);
/* The newest pending registration of number. 0 or -ENOENT. */
int db_registration_pending(struct db_context *dbc, const char *number, struct db_registration *out);
/* Decide a pending registration: "approved" (phone active in household_id) or "rejected" (phone
 * row deleted). -ENOENT when it is no longer pending. */
int db_registration_decide(struct db_context *dbc, const struct db_registration *r, const char *state,
			   int64_t household_id, const char *by, int64_t at, const char *note);
/* One line per registration (pending ones only unless all), newest first; returns how many. */
int db_registration_list(struct db_context *dbc, bool all, void (*cb)(void *data, const char *line), void *data);
/* The registrations in state (NULL: all), newest first, at most 500: a talloc array under ctx, the
 * count returned. */
int db_registration_query(struct db_context *dbc, void *ctx, const char *state, struct db_registration **out);

/* Households whose room column is room (or room followed by "室"): cb with id and the address
 * columns; returns how many. */
int db_household_by_room(struct db_context *dbc, const char *room,
			 void (*cb)(void *data, int64_t id, const char *building, const char *unit, const char *room),
			 void *data);
/* The household with that code: id and address ("3幢2单元501"). 0 or -ENOENT. */
int db_household_find(struct db_context *dbc, const char *code, int64_t *id, char *address, size_t addrlen);
/* The address of a household ("3幢2单元501"). 0 or -ENOENT. */
int db_household_address(struct db_context *dbc, int64_t id, char *address, size_t addrlen);
/* 1 when a phone of the household has exactly this name, 0 otherwise. */
int db_household_has_name(struct db_context *dbc, int64_t household_id, const char *name);

/* Holiday table: kind "off" (a public holiday) or "workday" (调休, a weekend made a working day).
 * set: insert or replace (*replaced says which); remove: -ENOENT when absent. */
int db_holiday_set(struct db_context *dbc, const char *date, const char *kind, const char *name, bool *replaced);
int db_holiday_remove(struct db_context *dbc, const char *date);
/* One line per entry ("2026-10-01 off 国庆节") from date from (NULL: all), by date; returns how many. */
int db_holiday_list(struct db_context *dbc, const char *from, void (*cb)(void *data, const char *line), void *data);

/* For the daily digest: open requests (kind request), how many of them are overdue at now, and
 * the refs of the oldest n ("123456 234567") as a talloc string under ctx. */
int db_request_digest(struct db_context *dbc, void *ctx, int64_t now, int n, int *open, int *overdue, char **refs);

/* ---- broadcasts and opt-out ---- (db/db_notice.c, upgrade 012_broadcast.sql, issue 12) */

/* Opt number out of broadcasts (out true: 退订) or back in (订阅); via says how ("sms",
 * "staff:NAME"). Opting out also withdraws the broadcast texts still queued to it. Returns 1 when
 * it changed, 0 when it already was so, -errno. */
int db_optout_set(struct db_context *dbc, const char *number, bool out, const char *via, int64_t now);
/* 1 when number opted out, 0 when not, -errno. */
int db_optout_is(struct db_context *dbc, const char *number);
/* One line per number that opted out ("2026-12-02 10:15 +8613800138002 邹丽 sms"); how many. */
int db_optout_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data);

/* Whom a broadcast reaches: "all" (every active phone), "grid" CODE, "group" CODE (the active
 * phones of their households), "role" ROLE (every active phone with that role); never a number
 * that opted out, a registration still pending or a watch. */
struct db_broadcast_scope {
	char kind[8];	/* "all", "grid", "group", "role" */
	char code[32];	/* the grid or group code, the role; "" for all */
	char label[64]; /* its name: "第一网格", "1幢联户组", the role, "" for all */
};
/* Find what a staff member named: a grid or group by code (W1, W1-1) or name (第一网格).
 * 0 with s filled, -ENOENT. */
int db_broadcast_scope_find(struct db_context *dbc, const char *name, struct db_broadcast_scope *s);
/* How many numbers the scope reaches now. */
int db_broadcast_count(struct db_context *dbc, const struct db_broadcast_scope *s);
/* Call cb for each number the scope reaches now (in phone order); how many, or -errno. */
int db_broadcast_recipients(struct db_context *dbc, const struct db_broadcast_scope *s,
			    int (*cb)(void *data, const char *number), void *data);

struct db_broadcast {
	int64_t id;
	char sender[40];
	struct db_broadcast_scope scope;
	char *text; /* talloc'd under the ctx of the call that filled it */
	char state[12];
	char code[8];
	int64_t created, send_at, queued_at, done_at;
	int recipients;
};
/* Add a broadcast (state "confirm" with code, or "scheduled" when code is NULL); *id. */
int db_broadcast_add(struct db_context *dbc, const struct db_broadcast *b, int64_t *id);
/* 0 with b filled (text under ctx), -ENOENT. */
int db_broadcast_get(struct db_context *dbc, void *ctx, int64_t id, struct db_broadcast *b);
/* The sender's broadcast waiting for confirmation with that code, made at since or later. */
int db_broadcast_by_code(struct db_context *dbc, void *ctx, const char *sender, const char *code, int64_t since,
			 struct db_broadcast *b);
/* Move a broadcast from state from to state to (confirm -> scheduled, scheduled -> queued with
 * recipients, queued -> done, * -> cancelled, confirm -> expired), setting the time that goes with
 * it. 0, -ENOENT when it is not in state from. */
int db_broadcast_move(struct db_context *dbc, int64_t id, const char *from, const char *to, int64_t now,
		      int recipients);
/* The first scheduled broadcast due at now (send_at <= now): 0 with b, -ENOENT; *next (may be NULL)
 * the send_at of the next one not yet due, 0 when none. */
int db_broadcast_due(struct db_context *dbc, void *ctx, int64_t now, struct db_broadcast *b, int64_t *next);
/* Waiting for confirmation since before `before`: expired. How many. */
int db_broadcast_expire(struct db_context *dbc, int64_t before);
/* Tie outgoing message msg_id to broadcast id. */
int db_broadcast_tag(struct db_context *dbc, int64_t msg_id, int64_t id);
struct db_broadcast_progress {
	int total, queued, sending, sent, failed, delivered, delivery_failed;
};
int db_broadcast_progress(struct db_context *dbc, int64_t id, struct db_broadcast_progress *p);
/* The ids of broadcasts in state queued with no message left queued or sending, nor one sent after
 * before whose delivery report is still awaited (under ctx); how many. */
int db_broadcast_finished(struct db_context *dbc, void *ctx, int64_t before, int64_t **ids);
/* One line per broadcast, newest first ("#3 2026-12-02 10:15 queued group W1-1 42 ..."); how many. */
int db_broadcast_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data);

/* ---- the staff inbox (留言) ---- (db/db_memo.c, upgrade 013_memo.sql, issue 12) */

struct db_memo {
	int64_t id;
	char sender[32];
	int64_t household_id;
	char to_number[32]; /* "" when it went to the duty staff */
	char *text;	    /* under the ctx of the call that filled it */
	int64_t created, replied_at;
	char replied_by[40];
};
/* The active grid worker of number's household's grid: 0 with worker/name, -ENOENT. */
int db_memo_worker(struct db_context *dbc, const char *number, char *worker, size_t wlen, char *name, size_t nlen);
/* The numbers of the active staff phones (the duty staff), a talloc array under ctx; how many. */
int db_memo_staff(struct db_context *dbc, void *ctx, char ***numbers);
int db_memo_add(struct db_context *dbc, const struct db_memo *m, int64_t *id);
int db_memo_get(struct db_context *dbc, void *ctx, int64_t id, struct db_memo *m);
/* Record the answer; -ENOENT when the memo is unknown. */
int db_memo_reply(struct db_context *dbc, int64_t id, const char *by, const char *reply, int64_t now);
/* One line per memo, newest first ("#12 2026-12-02 10:15 +86... -> +86...: text | reply"). */
int db_memo_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data);

/* ---- the staff console (gateway/core/http.c) ---- (db/db_token.c, db_outbox.c, db_people.c) */

/* A staff token: only its SHA-256 is stored (token_hash, hex). */
struct db_token {
	int64_t id;
	char number[32]; /* the phone it belongs to */
	char name[64];	 /* that phone's name ("" when none) */
	char role[12];	 /* "readonly", "staff", "operator" */
	char label[64];
	int64_t created_at, revoked_at, last_used_at; /* 0: never */
};

/* The hex SHA-256 of a token (65 bytes with the NUL) into hex. 0, or -EIO. */
int db_token_hash(const char *token, char hex[65]);
/* Store a new token for number (normalised; an active phone of the database, else -ENOENT) with
 * role (else -EINVAL) and label (NULL: none); *id_out its id. -EEXIST for a token stored before. */
int db_token_add(struct db_context *dbc, const char *token, const char *number, const char *role, const char *label,
		 int64_t now, int64_t *id_out);
/* The token that is not revoked and whose phone is still active: by its text (db_token_check,
 * which also records now as its last use, at most once a minute) or by id (db_token_valid). 0, or -ENOENT. */
int db_token_check(struct db_context *dbc, const char *token, int64_t now, struct db_token *out);
int db_token_valid(struct db_context *dbc, int64_t id, struct db_token *out);
/* Revoke a token: -ENOENT when unknown or revoked already. */
int db_token_revoke(struct db_context *dbc, int64_t id, int64_t now);
/* Every token (revoked ones too), oldest first, into a talloc array under ctx; the count. */
int db_token_list(struct db_context *dbc, void *ctx, struct db_token **out);

/* ---- a district's street office (PostgreSQL, issue 14: db_district.c) ----
 * Opened for a community of a district (db_open_community on PostgreSQL), a box also serves the
 * street office: its tokens (in the database's public schema, not a community's) each see a scope of
 * communities, read-only. Everything here is -ENOTSUP on SQLite (the file is one community) or
 * without `community`. */
#define DB_DISTRICT_SCOPE_MAX 64 /* communities in one token's scope */
struct db_district_token {
	int64_t id;
	char label[64];
	char scope[DB_DISTRICT_SCOPE_MAX * (DB_COMMUNITY_MAX + 1)]; /* "alpha,beta" */
	int64_t created_at, revoked_at, last_used_at;		    /* 0: never */
};
/* Store a new token (at least 16 characters) seeing scope ("alpha,beta": communities of the
 * district, else -ENOENT; malformed: -EINVAL); *id_out its id. */
int db_district_token_add(struct db_context *dbc, const char *token, const char *label, const char *scope, int64_t now,
			  int64_t *id_out);
/* The token that is not revoked, by its text (db_district_token_check, which also sets its last use
 * to now) or by id (db_district_token_valid, for a page's session), into *out; -ENOENT when none. */
int db_district_token_check(struct db_context *dbc, const char *token, int64_t now, struct db_district_token *out);
int db_district_token_valid(struct db_context *dbc, int64_t id, struct db_district_token *out);
/* Every token (a talloc array under ctx); the count or -errno. */
int db_district_token_list(struct db_context *dbc, void *ctx, struct db_district_token **out);
int db_district_token_revoke(struct db_context *dbc, int64_t id, int64_t now);
/* community is one of scope's. */
bool db_district_in_scope(const char *scope, const char *community);

struct db_district_request {
	char community[DB_COMMUNITY_MAX + 1];
	char ref[8];
	char kind[12];
	char state[16];
	char text[512];
	char grid[32];
	int64_t created, updated, deadline; /* deadline 0: none */
	bool open, overdue;
};
struct db_district_filter {
	const char *community; /* NULL: every community of the scope */
	bool open;	       /* open ones only */
	bool overdue;	       /* open and overdue only */
	unsigned limit;	       /* 0: 100 */
};
typedef void (*db_district_request_fn)(const struct db_district_request *r, void *data);
/* The requests of scope's communities, newest first; the count or -errno. */
int db_district_requests(struct db_context *dbc, const char *scope, const struct db_district_filter *f, int64_t now,
			 db_district_request_fn fn, void *data);
typedef void (*db_district_summary_fn)(const char *community, int64_t total, int64_t open, int64_t overdue, void *data);
/* Per community of scope (every one, with zeros when it has none): requests, open, overdue. */
int db_district_summary(struct db_context *dbc, const char *scope, int64_t now, db_district_summary_fn fn, void *data);

/* The queue of messages not sent yet, per priority (enum db_prio): how many are queued and when
 * the oldest of them was queued (0 when none). */
struct db_queue_stat {
	int64_t depth;
	int64_t oldest;
};
int db_sms_out_queue_stats(struct db_context *dbc, struct db_queue_stat stat[4]);
/* How many messages queued at or after since have failed for good. */
int db_sms_out_failed_since(struct db_context *dbc, int64_t since, int64_t *n);

/* One outgoing message for GET /api/v1/sms/{id}. */
struct db_sms_out_info {
	int64_t id;
	char dest[32];
	char state[12];	   /* queued sending sent failed */
	char delivery[12]; /* none pending delivered failed */
	int parts, attempts, prio;
	char error[128];
	int64_t created, sent_at, delivered_at;
};
int db_sms_out_get(struct db_context *dbc, int64_t id, struct db_sms_out_info *out);

/* The send API's delivery callbacks: a message's sender is told (a POST to its callback_url)
 * of "sent", then "delivered" or "failed"; an event not told yet is due again after a try that
 * failed, at the time db_callback_result set. */
int db_sms_out_set_callback(struct db_context *dbc, int64_t id, const char *url);
struct db_callback {
	int64_t id; /* the message */
	char url[512];
	char event[12]; /* sent delivered failed */
	char dest[32];
	char error[128]; /* the message's error, "" when none */
	int tries;	 /* tries of this event so far */
};
/* Up to n messages whose newest event is due to be told at now, oldest first, into a talloc
 * array under ctx; the count. */
int db_callback_due(struct db_context *dbc, void *ctx, int64_t now, int n, struct db_callback **out);
/* Record a try of event (http_status 0: no answer; error NULL when none). told: the sender has
 * it (or it was given up), so the next event is due; else the same one again at next_try. */
int db_callback_result(struct db_context *dbc, int64_t id, const char *event, int http_status, const char *error,
		       bool told, int64_t now, int64_t next_try);

/* A household and its phones (GET /api/v1/households). */
struct db_hh_phone {
	char number[32], name[64], role[16], lang[8];
	bool active;
};
struct db_household {
	int64_t id;
	char code[32], building[32], unit[32], room[32], grid[32], group[32];
	struct db_hh_phone *phones; /* talloc array under the array of households */
	unsigned nphones;
};
/* Households whose code, address, phone number or name contains q (NULL or "": all), by code,
 * per_page of them from offset, into a talloc array under ctx; the count (and *total, the count
 * of every match). */
int db_household_list(struct db_context *dbc, void *ctx, const char *q, int offset, int per_page,
		      struct db_household **out, int64_t *total);

struct db_group {
	char code[32], name[64], grid[32];
	int64_t households;
};
/* Every 联户 group with its count of households, by code, into a talloc array under ctx. */
int db_group_list(struct db_context *dbc, void *ctx, struct db_group **out);

/* Change a phone (number normalised): each field that is not NULL (active < 0: unchanged;
 * active 0 makes it 'pending', as a registration waiting, so nothing is sent to it); out (may
 * be NULL) gets the phone as it is now. -ENOENT for an unknown number, -EINVAL for a role or
 * lang the schema refuses. */
int db_phone_update(struct db_context *dbc, const char *number, const char *name, const char *role, const char *lang,
		    int active, struct db_hh_phone *out);

/* ---- watch supervision ---- (db/db_watch.c, upgrade 014_watch_supervision.sql, issue 12) */

struct db_watch_silent {
	int64_t device_id;
	char number[32];
	int64_t last_seen; /* the watch's last message, or when it was added */
};
/* Watches with an approved binding, no open supervision, and nothing from them since before
 * `since` (a talloc array under ctx); how many. */
int db_watch_silent(struct db_context *dbc, void *ctx, int64_t since, struct db_watch_silent **out);
/* Open a silent supervision of the watch; -EEXIST when one is open. */
/* Open a supervision of the watch, kind "silent" (nothing heard for watch-silent-hours) or
 * "battery" (its last report said the battery is low); -EEXIST when one of that kind is open. */
int db_watch_open(struct db_context *dbc, int64_t device_id, const char *kind, int64_t last_seen, int64_t now,
		  int told);
/* Close the watch's open supervision: 1 when there was one, 0 when not. */
int db_watch_close(struct db_context *dbc, int64_t device_id, const char *kind, int64_t now);
/* 1 when the watch has an open supervision of that kind, 0 when not. */
int db_watch_is_open(struct db_context *dbc, int64_t device_id, const char *kind);
/* One line per open supervision ("+8613912340001 邹丽 silent since 2026-12-01 09:00, told 3"). */
int db_watch_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data);

/* ---- senders stored but not routed ---- (db/db_sender.c, upgrade 015_senders.sql, issue 12) */

/* Whether number's messages are held at now: 0 not held, 1 blocked by staff, 2 parked (a flood;
 * *until when it ends), -errno. until may be NULL. */
int db_sender_held(struct db_context *dbc, const char *number, int64_t now, int64_t *until);
/* Park number until `until` (a flood), or block it (until 0: until unblocked); replaces a park. */
int db_sender_hold(struct db_context *dbc, const char *number, bool block, const char *reason, const char *by,
		   int64_t now, int64_t until);
/* Release a park or a block (by whom, when): 1 when there was one, 0 when not. */
int db_sender_release(struct db_context *dbc, const char *number, const char *by, int64_t now);
/* 1 when staff released number at since or later (the flood limit then leaves it alone), 0 not. */
int db_sender_released(struct db_context *dbc, const char *number, int64_t since);
/* Whether number may never be held: a watch, or an active phone with role staff or grid_worker. */
int db_sender_exempt(struct db_context *dbc, const char *number);
/* One line per held number ("+86... parked until 10:30 (22 in 10 min) by flood-limit"). */
int db_sender_list(struct db_context *dbc, int64_t now, void (*cb)(void *data, const char *line), void *data);

/* ---- locate on demand ---- (db/db_watch.c, upgrade 016_locate.sql, issue 12) */

/* The watches number is an approved contact of (device ids, a talloc array under ctx); how many. */
int db_locate_watches(struct db_context *dbc, void *ctx, const char *number, int64_t **ids);
int db_locate_add(struct db_context *dbc, int64_t device_id, const char *number, int64_t now);
/* The contacts waiting for the watch's position since `since` (numbers, a talloc array under ctx,
 * each once), and mark them answered at now; how many. */
int db_locate_take(struct db_context *dbc, void *ctx, int64_t device_id, int64_t since, int64_t now, char ***numbers);
