/* Broadcast notices (通知: 停水, 停电, 防汛) and opting out of them (退订/订阅) (issue 12).
 *
 * Staff send a notice to a grid, a 联户 group, a role or everyone: by SMS from a staff phone,
 * `通知 <scope> <text>`, answered with the number of recipients and a code, and sent only when the
 * same phone answers `发送 <code>` within the confirmation window (`timer notice X1`, 30 min); or
 * by `linlictl broadcast SCOPE TEXT [--at TIME]` (scheduled, no code: the operator is at the box).
 * The notice is queued as one bulk message per recipient (DB_PRIO_BULK: the scheduler always
 * takes an SOS alert, a staff text or a reply first, so a notice to thousands delays them by at
 * most the send under way on each modem); when every message is final the sender is texted the
 * counts (sent, delivered, failed). `linlictl broadcast show ID` shows them at any time.
 *
 * 退订/TD/STOP from any number stops notices to it (what is already queued to it is withdrawn);
 * 订阅/DY undoes it. It never stops SOS alerts, replies to the person's own requests or binding
 * texts: only broadcasts read the opt-out list. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <osmocom/core/tdef.h>

struct gw;
struct db_context;
struct db_broadcast_scope;

enum nt_timer {
	NT_T_CONFIRM = -1, /* a notice waits this long for its 发送 code (1800 s) */
	NT_T_REPORTS = -2, /* and its delivery reports this long after each send, before the counts go
			    * to the sender (600 s) */
};
extern struct osmo_tdef nt_tdefs[];

/* What staff named as a scope: 全部/ALL, a role (居民 网格员 工作人员 跑腿员 or resident ...), a
 * group or grid by code or name. 0 with s filled, -ENOENT. */
int nt_scope_parse(struct db_context *dbc, const char *name, struct db_broadcast_scope *s);
/* How a scope reads in a text to staff ("第一网格(W1)", "全部"). */
const char *nt_scope_label(const struct db_broadcast_scope *s, char *buf, size_t len);

/* `linlictl broadcast ...` / `linlictl optout ...` (notice_ctl.c): the exit status. */
int nt_ctl_cmd(void *ctx, struct db_context *dbc, const char *cmd, int argc, char **argv);
#define NT_CTL_USAGE                                                                                                   \
	"  broadcast SCOPE TEXT... [--at 'YYYY-MM-DD HH:MM']  a notice to all, a role, a grid or a group\n"            \
	"  broadcast list [N] | show ID | cancel ID   notices and their progress (sent, delivered, failed)\n"          \
	"  optout list | add NUMBER | remove NUMBER  who gets no notices (退订); SOS and replies still go\n"

/* Register the router's handler ("notice") and the due work ("broadcast"). */
int nt_init(struct gw *gw);
