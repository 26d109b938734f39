/* The community database as the SIP side sees it (db/upgrade/005_sip.sql). */
#pragma once

#include <stddef.h>

struct db_context;

/* The channel of a known number's phone ("gsm" or "sip", phone.channel) into buf.
 * 0, or -ENOENT when the number is unknown; -errno on a database error. */
int db_phone_channel(struct db_context *dbc, const char *number, char *buf, size_t len);

/* Set the channel of a known number's phone ("gsm" or "sip"). 0, -ENOENT when unknown,
 * -EINVAL for another channel. */
int db_phone_set_channel(struct db_context *dbc, const char *number, const char *channel);

/* A SIP account (Kamailio's subscriber table) for a known number: user name = the number,
 * plain password (auth_db calculate_ha1). 0, -ENOENT when the number is unknown, -EINVAL for an
 * empty password. Replaces the password of an existing account. */
int db_sip_account_set(struct db_context *dbc, const char *number, const char *password);
/* Remove it: 0 or -ENOENT. */
int db_sip_account_del(struct db_context *dbc, const char *number);

/* A peer allowed by address (Kamailio's address table): grp 1 trunk, 2 linlid's user agent; port 0
 * any. -EEXIST when it is there already. */
int db_sip_peer_add(struct db_context *dbc, int grp, const char *ip, int port);
int db_sip_peer_del(struct db_context *dbc, int grp, const char *ip, int port);
/* One line per peer ("trunk 127.0.0.1:0"); returns how many. */
int db_sip_peer_list(struct db_context *dbc, void (*cb)(void *data, const char *line), void *data);
