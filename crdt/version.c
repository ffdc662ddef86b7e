/*
 * version.c -- the library's version (include/cairn/common.h). The build
 * checks that CAIRN_VERSION_STRING matches project() in CMakeLists.txt.
 */
#include "cairn/common.h"

const char *cairn_version(void)
{
	return CAIRN_VERSION_STRING;
}
