/* The rules for what may be appended to the log, in C.
 *
 * sql/schema.sql enforces the same rules with the same words for writers
 * that use plain SQL; these let the programs refuse bad input before
 * touching the database. Each function returns NULL when the input is
 * valid, else a one-line reason (a static string).
 */
#ifndef SSELOG_VALIDATE_H
#define SSELOG_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#define STREAM_NAME_MAX 200

/* 1-200 characters of A-Z a-z 0-9 . _ - : / @, in /-separated segments
 * that are neither empty nor "." nor "..". */
const char *validate_stream(const char *name);

/* Non-empty, no CR, LF or NUL; the sselog. prefix is reserved for the types
 * sselog gives meaning to, of which only sselog.close may be appended. */
const char *validate_event_type(const char *type);

/* An Idempotency-Key: 1-128 visible ASCII characters (! to ~). */
const char *validate_idem_key(const char *key);

/* Valid UTF-8 without NUL bytes. */
const char *validate_data(const char *data, size_t len);

/* True when the len bytes at s are well-formed UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t len);

/* A copy of the len bytes at s in which each maximal ill-formed
 * subsequence (Unicode 15, section 3.9, "U+FFFD Substitution of Maximal
 * Subparts") and each NUL byte is replaced by U+FFFD, so that it passes
 * validate_data(). Sets *out_len. Returns the copy, which the caller
 * frees, or NULL when memory runs out. */
char *utf8_repair(const char *s, size_t len, size_t *out_len);

#endif
