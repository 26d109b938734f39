/* Random numbers for codes and references: getrandom(2), and a clock mix only if the kernel
 * cannot give any (never for anything that guards access on its own). */
#pragma once

#include <stddef.h>
#include <stdint.h>

uint32_t gw_random_u32(void);
/* n decimal digits (n < len) into buf, the first one not 0. Returns buf. */
char *gw_random_digits(char *buf, size_t len, unsigned n);
