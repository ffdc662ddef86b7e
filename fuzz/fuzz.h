/*
 * fuzz.h -- what every fuzz target shares: the libFuzzer entry point and
 * an assertion that holds in every build (a failed check aborts, which
 * libFuzzer and the replay program both report as a crash).
 */
#ifndef CAIRN_FUZZ_H
#define CAIRN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                         \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

#endif /* CAIRN_FUZZ_H */
