/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a keyed hash for tables whose keys strangers choose. Without the
 * key, names that share a bucket cannot be found faster than by trying,
 * where with FNV or any unkeyed hash they cost nothing to compute.
 *
 * Written here because Debian ships no small C library that provides it;
 * about forty lines, checked against the paper's test vectors in
 * tests/unit/test_hub.c.
 */
#ifndef SSELOG_SIPHASH_H
#define SSELOG_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* Returns the 64-bit SipHash-2-4 of the len bytes at data under key (its
 * bytes read as two little-endian words, as the paper does). */
uint64_t siphash24(const unsigned char key[SIPHASH_KEY_LEN],
    const void *data, size_t len);

/* Fills key from the kernel's random source, which blocks only early in
 * boot, before its pool is seeded. Returns 0, or -1 with errno set. */
int siphash_random_key(unsigned char key[SIPHASH_KEY_LEN]);

#endif
