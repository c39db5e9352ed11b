/* Where a request's token is: the Authorization header (RFC 6750, 2.1),
 * a cookie (RFC 6265, 5.4), or the access_token query parameter. Pure:
 * the header's text in, a copy of the token out. */
#ifndef SSELOG_CREDENTIAL_H
#define SSELOG_CREDENTIAL_H

/* The token of an "Authorization: Bearer TOKEN" header (the scheme in any
 * case), as a new string in *out. Returns 1 when there is one, 0 when the
 * header is absent or of another scheme (Basic, which the web server may
 * have checked itself), -1 when memory runs out. A Bearer header without
 * a token (or with spaces in it) gives the empty string: a token that was
 * given and is invalid. */
int credential_bearer(const char *authorization, char **out);

/* The value of the cookie named name in a Cookie header, as a new string
 * in *out (the first such cookie; quotes around the value removed).
 * Returns 1 when there is one, 0 when not, -1 when memory runs out. */
int credential_cookie(const char *cookie_header, const char *name,
    char **out);

#endif
