/*
 * Layering probe (cmake/layering/run_probe.cmake), compiled with the flags
 * of crdt/: it compiles, but the nm check with cmake/layering/crdt.allow must
 * reject every clock read, random number, environment lookup, file and
 * stdio call below; the core takes such things as arguments.
 *
 * EXPECT: violations clock_gettime time rand random getenv fopen open read write printf
 */
#define _XOPEN_SOURCE 700

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int cairn__probe_impure_calls(void);

int cairn__probe_impure_calls(void)
{
	struct timespec ts;
	char buf[8] = {0};
	FILE *f;
	int fd;
	int n = 0;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		n += (int)ts.tv_nsec;
	n += (int)time(NULL);
	n += rand();
	n += (int)random();
	if (getenv("HOME") != NULL)
		n++;
	f = fopen("/dev/null", "r");
	if (f != NULL)
		n++;
	fd = open("/dev/null", O_RDONLY);
	if (read(fd, buf, sizeof buf) > 0)
		n++;
	if (write(fd, buf, 1) > 0)
		n++;
	printf("%d\n", n);
	return n;
}
