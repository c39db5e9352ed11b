/* Numbers from outside: event ids, counts, durations.
 *
 * Each parser takes the whole string, accepts only what it documents
 * (no sign, no spaces, no hex, no exponent) and checks the range, so
 * `abc`, `-1`, `1e3`, ` 5` and a twenty-digit id are all refused. Each
 * returns NULL on success, else a one-line reason (a static string).
 */
#ifndef SSELOG_NUMBER_H
#define SSELOG_NUMBER_H

#include <stdint.h>

/* A plain decimal integer from 0 to max (max <= INT64_MAX). */
const char *parse_uint(const char *s, int64_t max, int64_t *out);

/* An event id: a plain decimal integer that fits in 63 bits. */
const char *parse_event_id(const char *s, int64_t *out);

/* A duration: a positive integer followed by one unit, s, m, h, d or w
 * (30m, 12h, 7d). The result is in milliseconds. */
const char *parse_duration_ms(const char *s, int64_t *out_ms);

/* An age: a duration as above, or zero (0, or 0 with a unit: 0s, 0d). */
const char *parse_age_ms(const char *s, int64_t *out_ms);

#endif
