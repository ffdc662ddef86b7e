/*
 * Layering probe (cmake/layering/run_probe.cmake), compiled with the flags
 * of net/proto/: it compiles, but the nm check with
 * cmake/layering/net_proto.allow must reject every call below. The engines
 * are sans-I/O (bytes and `now` in, bytes and events out), or the
 * simulator could not run them under its seeded scheduler.
 *
 * EXPECT: violations socket send recv open clock_gettime
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>

int cairn__probe_io_calls(void);

int cairn__probe_io_calls(void)
{
	struct timespec ts;
	char b[1] = {0};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int n = (int)send(s, b, 1, 0) + (int)recv(s, b, 1, 0);
	n += open("probe", O_RDONLY);
	n += clock_gettime(CLOCK_REALTIME, &ts);
	return n;
}
