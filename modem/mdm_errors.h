/* Classification of modem error codes: +CMS ERROR (3GPP TS 27.005 3.2.5, with the RP causes of
 * TS 24.011 E.2 and the TP-FCS values of TS 23.040 9.2.3.22) and +CME ERROR (TS 27.007 9.2).
 *
 * Pure C, no libgammu, so the table can be unit tested on its own.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "modem/mdm.h"

/* Class of a +CMS ERROR code; writes its standard name to reason (if not NULL). Codes not in the
 * table get a class by range (23.040 PID/DCS/command errors permanent, SC/MS errors transient,
 * manufacturer-specific >= 512 transient) and the name "unknown CMS code N". */
enum mdm_err_class mdm_classify_cms(int code, char *reason, size_t len);

/* Class of a +CME ERROR code, as for mdm_classify_cms(). SIM problems are MDM_ERR_MODEM (the
 * message can go out on another modem), busy/network conditions transient. */
enum mdm_err_class mdm_classify_cme(int code, char *reason, size_t len);

/* Parse a final result line "+CMS ERROR: 500" / "+CME ERROR: 14" (spaces optional). Returns the
 * code (>= 0) and sets *is_cms, or -1 when the line is not a numeric CMS/CME error. */
int mdm_parse_cm_error(const char *line, bool *is_cms);

const char *mdm_err_class_name(enum mdm_err_class cls);

/* true when a send's reason ("+CMS ERROR: 331 (...)", as the pool words it) says the modem has no
 * network service: CMS 331, CME 30 (no network service), CME 32 (emergency calls only). */
bool mdm_err_no_service(const char *reason);
