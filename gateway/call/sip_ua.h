/* linlid's SIP user agent (sofia-sip NUA) on the osmocom loop.
 *
 * sofia-sip runs its reactor as a glib GSource (su_glib); that source lives in a GMainContext of
 * its own, which gateway/call/sip_ua.c drives from osmo_select: glib's poll fds become osmo_fds, its
 * timeout an osmo_timer, and check/dispatch run from the main loop. Everything stays on the main
 * thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <sofia-sip/nua.h>

/* Create the NUA bound to sip:bind_ip:port (UDP), with auto-answer, auto-alert and media off
 * (the caller builds its own SDP). Events go to cb with magic. 0 or -errno (logged). */
int sip_ua_start(const char *bind_ip, uint16_t port, nua_callback_f cb, nua_magic_t *magic, nua_t **nua_out);
/* nua_shutdown, wait (running the loop) up to timeout_ms for it to finish, destroy everything. */
void sip_ua_stop(unsigned timeout_ms);
/* Run the osmocom loop until done() is true or timeout_ms passed; returns done(). For shutdown. */
bool sip_ua_run_until(bool (*done)(void), unsigned timeout_ms);
/* Called by the event callback on nua_r_shutdown with a final status. */
void sip_ua_shutdown_done(void);
