/* The group call's records (db/db_call.c, schema db/upgrade/006_calls.sql): one row per 6995 call
 * and one per leg, and the look-ups the call needs (who is calling, whom to ring).
 * Same conventions as db.h: 0 or a count, -errno; -ENOENT when there is no such row. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct db_context;

/* Who is calling: the phone, its household and group, and where the household is. */
struct db_call_caller {
	int64_t phone_id;
	int64_t household_id; /* 0 when the phone belongs to no household */
	int64_t grp_id;	      /* 0 when none */
	char number[32];
	char building[16], unit[16], room[16];
};
/* The active phone with this normalised number; -ENOENT when unknown. */
int db_call_caller_get(struct db_context *dbc, const char *number, struct db_call_caller *out);

/* One household to ring: its primary number (or its first active phone when it has no primary). */
struct db_call_target {
	int64_t phone_id;
	int64_t household_id;
	char number[32];
};
/* Every household of group grp_id except household except_hh, one target each, in household
 * order; up to max into out; returns how many. */
int db_call_targets(struct db_context *dbc, int64_t grp_id, int64_t except_hh, struct db_call_target *out, int max);
/* The escalation after the neighbours: rung 0 the grid worker of the group's grid, rung 1 the
 * first active staff phone. 0 (out filled) or -ENOENT when that rung has nobody. */
int db_call_escalation(struct db_context *dbc, int64_t grp_id, int rung, struct db_call_target *out);

struct db_call {
	int64_t id;
	char caller[32];
	int64_t caller_phone_id, household_id, grp_id; /* 0 = NULL */
	char sip_call_id[128];
	char state[16];
	int64_t started, started_ms, dialed_ms, first_join_at, ended_at; /* 0 = NULL */
	char end_reason[24];
	char note[128];
};
/* Insert (caller .. started_ms); sets c->id. */
int db_call_add(struct db_context *dbc, struct db_call *c);
/* Write back state, dialed_ms, first_join_at, ended_at, end_reason, note. */
int db_call_update(struct db_context *dbc, const struct db_call *c);

struct db_call_leg {
	int64_t id, call_id;
	char kind[16]; /* caller neighbour grid_worker staff */
	char number[32];
	int64_t phone_id, household_id;
	int64_t invited_at, answered_at, joined_at, ended_at;
	char result[16];
	int sip_status;
};
int db_call_leg_add(struct db_context *dbc, struct db_call_leg *l);
/* Write back the times, result and sip_status. */
int db_call_leg_update(struct db_context *dbc, const struct db_call_leg *l);

/* One line per call, newest first; returns how many. */
int db_call_list(struct db_context *dbc, int limit, void (*cb)(void *data, const char *line), void *data);
/* The call and its legs, one line each; -ENOENT when unknown. */
int db_call_show(struct db_context *dbc, int64_t id, void (*cb)(void *data, const char *line), void *data);

/* For the staff console: the newest calls (up to limit), the legs of one call, as talloc arrays
 * under ctx; the count or -errno. */
int db_call_rows(struct db_context *dbc, void *ctx, int limit, struct db_call **out);
int db_call_leg_rows(struct db_context *dbc, void *ctx, int64_t call_id, struct db_call_leg **out);
/* Calls not released yet. */
int db_call_active(struct db_context *dbc);
/* At start: every call not released (and every leg not ended) belonged to a process that died,
 * since calls live only as long as their process: released, ended at now, with reason as the
 * call's end_reason and the legs' result where they had none, note where the call had none.
 * How many calls, or -errno. */
int db_call_close_stale(struct db_context *dbc, int64_t now, const char *reason, const char *note);
