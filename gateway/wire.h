/* The wiring of linlid (gateway/wire.c). */
#pragma once

struct gw;

/* Register every part with the core, in the order the router and the ring hooks use by default
 * (routes/sms.rules' handlers line may reorder the router), and set the callbacks between
 * features. 0, or -errno. */
int gw_wire(struct gw *gw);

/* Install the VTY of the core and of every feature (before the config file is read). */
void gw_wire_vty(struct gw *gw);
