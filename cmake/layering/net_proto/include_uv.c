/*
 * Layering probe (cmake/layering/run_probe.cmake), compiled with the flags
 * of net/proto/: the sans-I/O engines may not include libuv (the event
 * loop belongs to net/io/). It must fail to compile on an identifier
 * poisoned by net_proto_guard.h.
 *
 * EXPECT: poisoned
 * REQUIRES: cairn::dep::uv
 */
#include <uv.h>

int cairn__probe_include_uv(void);

int cairn__probe_include_uv(void)
{
	return 0;
}
