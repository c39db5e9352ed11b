/* Stream patterns: which streams a grant covers.
 *
 * A pattern is a stream name in which a segment may be "*" (any one
 * segment), the last segment may be "**" (any number of further segments,
 * none included), and "{user}" anywhere stands for the principal: the
 * REMOTE_USER the web server authenticated, or a token's "sub". Every other
 * character matches itself. Pure: no allocation, no I/O.
 */
#ifndef SSELOG_PATTERN_H
#define SSELOG_PATTERN_H

#include <stdbool.h>

/* Returns NULL when pattern is well formed, else a one-line reason (a
 * static string): what a rules file or `sselog token` reports. */
const char *pattern_validate(const char *pattern);

/* True when stream (a valid stream name) matches pattern. user is the
 * principal, or NULL for nobody: then a pattern with {user} matches
 * nothing. A principal that could not be one segment of a stream name (a
 * "/" in it, say) matches nothing either, so that a grant of user/{user}/... never
 * reaches into another user's streams. A malformed pattern matches
 * nothing. */
bool pattern_match(const char *pattern, const char *stream,
    const char *user);

#endif
