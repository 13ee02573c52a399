/*
 * clock: felix's one time source, CLOCK_MONOTONIC in ns, on the bottom floor
 * (clock.c: no part depends on main.c for it; a unit test may link its own
 * felix_now_ns instead, to drive time).
 */
#ifndef PETREL_FELIX_CLOCK_H
#define PETREL_FELIX_CLOCK_H

#include <stdint.h>

uint64_t felix_now_ns(void);

/* ms from now until at (rounded up), 0 when past; at == 0: -1 (none). */
static inline int felix_ms_until(uint64_t at)
{
	uint64_t now;

	if (!at)
		return -1;
	now = felix_now_ns();
	if (at <= now)
		return 0;
	at = (at - now + 999999) / 1000000;
	return at > 3600000 ? 3600000 : (int)at;
}

#endif
