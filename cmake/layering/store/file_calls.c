/*
 * Layering probe (cmake/layering/run_probe.cmake), compiled with the flags
 * of store/: it compiles, but the nm check with cmake/layering/store.allow
 * must reject every direct file-system call below. store/ goes through its
 * VFS seam (cairn_vfs), or the fault-injecting VFS of the tests would not
 * see the call.
 *
 * EXPECT: violations open pwrite fsync rename unlink
 */
#define _XOPEN_SOURCE 700

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int cairn__probe_file_calls(void);

int cairn__probe_file_calls(void)
{
	int fd = open("probe", O_RDWR);
	int n = 0;
	if (fd >= 0) {
		n += (int)pwrite(fd, "x", 1, 0);
		n += fsync(fd);
	}
	n += rename("probe", "probe2");
	n += unlink("probe2");
	return n;
}
