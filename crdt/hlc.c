/*
 * hlc.c -- the hybrid logical clock.
 *
 * A timestamp is (wall-clock ms, counter). Ticking takes the later of the
 * wall clock and the last timestamp, bumping the counter when the wall
 * clock has not moved past it. The counter never wraps: after 65,536
 * timestamps in one millisecond the clock refuses (CAIRN_EAGAIN) until the
 * wall clock passes that millisecond, because a wrapped counter would
 * reissue a timestamp and a carried one would drift the clock ahead of
 * every peer's skew check.
 */
#include "crdt_int.h"

void cairn_hlc_init(cairn_hlc *c, uint64_t resume, uint64_t max_skew_ms)
{
	c->last = resume;
	c->max_skew_ms = max_skew_ms ? max_skew_ms : CAIRN_DEFAULT_MAX_SKEW_MS;
}

int cairn_hlc_tick(cairn_hlc *c, uint64_t now_ms, uint64_t *out)
{
	if (now_ms > CAIRN_HLC_MAX_MS)
		return CAIRN_ERANGE;
	uint64_t last_ms = CAIRN_HLC_MS(c->last);
	uint64_t next;
	if (now_ms > last_ms) {
		next = CAIRN_HLC_MAKE(now_ms, 0);
	} else {
		if (CAIRN_HLC_COUNTER(c->last) == 0xFFFFu)
			return CAIRN_EAGAIN;
		next = c->last + 1;
	}
	c->last = next;
	*out = next;
	return 0;
}

int cairn_hlc_check(const cairn_hlc *c, uint64_t remote, uint64_t now_ms)
{
	uint64_t ms = CAIRN_HLC_MS(remote);
	if (ms > now_ms && ms - now_ms > c->max_skew_ms)
		return CAIRN_ECLOCK_SKEW;
	return 0;
}

int cairn_hlc_observe(cairn_hlc *c, uint64_t remote, uint64_t now_ms)
{
	int rc = cairn_hlc_check(c, remote, now_ms);
	if (rc)
		return rc;
	if (remote > c->last)
		c->last = remote;
	return 0;
}
