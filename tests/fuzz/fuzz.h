/* Helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Each target splits the fuzzer's bytes into the arguments of the function
 * under test with a struct input, calls it, and checks the result against
 * a reference written independently of src/ (a different algorithm, not a
 * copy): a disagreement, like a sanitizer report, ends the run with the
 * input saved as a crash file.
 */
#ifndef SSELOG_FUZZ_H
#define SSELOG_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed check: say which and where, then abort so that libFuzzer saves
 * the input. */
#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
		    __LINE__, #cond); \
		abort(); \
	} \
} while (0)

struct input {
	const uint8_t *p;
	size_t left;
};

/* One byte, or 0 once the input is used up. */
static inline uint8_t
take_u8(struct input *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

/* n bytes (n <= 8) as a little-endian integer; missing bytes are 0. */
static inline uint64_t
take_uint(struct input *in, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)take_u8(in) << (8 * i);
	return v;
}

/* The bytes up to the next NUL (not included) or the end of the input, as
 * a new NUL-terminated string of exactly that size, so that the sanitizer
 * catches a read past its end. Sets *len when len is not NULL. */
static inline char *
take_string(struct input *in, size_t *len)
{
	const uint8_t *nul = memchr(in->p, '\0', in->left);
	size_t n = nul ? (size_t)(nul - in->p) : in->left;
	char *s = malloc(n + 1);

	CHECK(s != NULL);
	if (n > 0)
		memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n;
	in->left -= n;
	if (nul != NULL) {
		in->p++;
		in->left--;
	}
	if (len != NULL)
		*len = n;
	return s;
}

/* A copy of the rest of the input in a block of exactly its size. */
static inline uint8_t *
take_rest(struct input *in, size_t *len)
{
	uint8_t *s = malloc(in->left ? in->left : 1);

	CHECK(s != NULL);
	if (in->left > 0)
		memcpy(s, in->p, in->left);
	*len = in->left;
	in->p += in->left;
	in->left = 0;
	return s;
}

/* Pieces of pseudo-random sizes, to feed an incremental parser as a
 * socket would: mostly 0 to 40 bytes, one time in 16 up to big - 1 (big a
 * power of two). The sizes come from a seed taken from the input, so that
 * a failure reproduces from the saved input. */
struct pieces {
	uint32_t rng;		/* xorshift32, never 0 */
	size_t big;
};

static inline void
pieces_init(struct pieces *ps, struct input *in, size_t big)
{
	ps->rng = (uint32_t)take_uint(in, 2) << 8 | 1;
	ps->big = big;
}

/* A copy of the next piece of the len bytes at bytes, from *off, in a
 * block of exactly its size (so that the sanitizer catches a read past
 * it); sets *n to its size and moves *off past it. The caller frees it. */
static inline void *
piece_take(struct pieces *ps, const void *bytes, size_t len, size_t *off,
    size_t *n)
{
	ps->rng ^= ps->rng << 13;
	ps->rng ^= ps->rng >> 17;
	ps->rng ^= ps->rng << 5;
	size_t want = ps->rng % 16 == 0 ? (ps->rng >> 8) & (ps->big - 1) :
	    ps->rng % 41;
	*n = want < len - *off ? want : len - *off;
	uint8_t *piece = malloc(*n ? *n : 1);
	CHECK(piece != NULL);
	if (*n > 0)
		memcpy(piece, (const uint8_t *)bytes + *off, *n);
	*off += *n;
	return piece;
}

/* True when the len bytes at s hold no CR, LF or NUL. */
static inline bool
one_line(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return false;
	return true;
}

#endif
