#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <jwt.h>

/* A token longer than this is refused unread: no grant needs more, and
 * the request head that carries it is limited anyway. */
#define TOKEN_MAX 8192
/* Key files are small: a PEM public key is well under 4 KiB. */
#define KEY_FILE_MAX 65536
/* RFC 7518, 3.2: an HMAC key at least as long as the hash output. */
#define HMAC_KEY_MIN 32
/* "nbf": a little leeway for clocks that disagree by a second. */
#define NBF_LEEWAY 1

struct key {
	jwt_alg_t alg;
	unsigned char *bytes;
	size_t len;
};

struct token_keys {
	struct key *keys;
	size_t n;
	char *audience, *issuer;
};

void
token_claims_free(struct token_claims *c)
{
	free(c->sub);
	for (size_t i = 0; i < c->n_subscribe; i++)
		free(c->subscribe[i]);
	free(c->subscribe);
	for (size_t i = 0; i < c->n_publish; i++)
		free(c->publish[i]);
	free(c->publish);
	memset(c, 0, sizeof *c);
}

struct token_keys *
token_keys_new(void)
{
	return calloc(1, sizeof(struct token_keys));
}

void
token_keys_free(struct token_keys *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->n; i++) {
		/* The secret does not outlive its use in memory. */
		explicit_bzero(k->keys[i].bytes, k->keys[i].len);
		free(k->keys[i].bytes);
	}
	free(k->keys);
	free(k->audience);
	free(k->issuer);
	free(k);
}

static bool
alg_is_hmac(jwt_alg_t alg)
{
	return alg == JWT_ALG_HS256 || alg == JWT_ALG_HS384 ||
	    alg == JWT_ALG_HS512;
}

/* The algorithms we take: libjwt's names, less "none". */
static jwt_alg_t
alg_from_name(const char *name)
{
	jwt_alg_t alg = jwt_str_alg(name);

	return alg == JWT_ALG_NONE ? JWT_ALG_INVAL : alg;
}

/* Reads a whole key file. Returns its bytes (the caller frees them) and
 * sets *len, or NULL with a reason in err. */
static unsigned char *
read_key_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	unsigned char *bytes = malloc(KEY_FILE_MAX + 1);
	size_t got = 0;
	if (bytes == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t n = read(fd, bytes + got, KEY_FILE_MAX + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > KEY_FILE_MAX) {
			snprintf(err, errlen, "%s: a key file of more than %d bytes",
			    path, KEY_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	bytes[got] = '\0';	/* PEM is text: OpenSSL reads it as a string */
	*len = got;
	return bytes;
fail:
	explicit_bzero(bytes, got);
	free(bytes);
	close(fd);
	return NULL;
}

/* Loads the key file for alg: an HMAC secret less one trailing newline,
 * or a PEM key of the kind wanted (public to verify, private to sign).
 * Returns the bytes, or NULL with a reason in err. */
static unsigned char *
load_key(jwt_alg_t alg, const char *path, bool private_key, size_t *len,
    char *err, size_t errlen)
{
	unsigned char *bytes = read_key_file(path, len, err, errlen);
	if (bytes == NULL)
		return NULL;
	if (alg_is_hmac(alg)) {
		if (*len > 0 && bytes[*len - 1] == '\n')
			bytes[--*len] = '\0';
		if (*len < HMAC_KEY_MIN) {
			snprintf(err, errlen, "%s: an %s secret needs at least "
			    "%d bytes (RFC 7518), this one has %zu", path,
			    jwt_alg_str(alg), HMAC_KEY_MIN, *len);
			goto fail;
		}
		return bytes;
	}
	const char *want = private_key ? "PRIVATE KEY-----" : "-----BEGIN PUBLIC KEY-----";
	const char *text = (const char *)bytes;
	if (strstr(text, "-----BEGIN") == NULL || strstr(text, want) == NULL) {
		snprintf(err, errlen, "%s: %s needs a PEM %s key (%s)", path,
		    jwt_alg_str(alg), private_key ? "private" : "public",
		    private_key ? "-----BEGIN ... PRIVATE KEY-----" : want);
		goto fail;
	}
	return bytes;
fail:
	explicit_bzero(bytes, *len);
	free(bytes);
	return NULL;
}

int
token_keys_add(struct token_keys *k, const char *spec, char *err,
    size_t errlen)
{
	const char *colon = strchr(spec, ':');
	char name[16];

	if (colon == NULL || colon == spec || colon[1] == '\0' ||
	    (size_t)(colon - spec) >= sizeof name) {
		snprintf(err, errlen, "--jwt-key %s: want ALG:FILE, such as HS256:/etc/sselog/secret",
		    spec);
		return -1;
	}
	memcpy(name, spec, (size_t)(colon - spec));
	name[colon - spec] = '\0';
	jwt_alg_t alg = alg_from_name(name);
	if (alg == JWT_ALG_INVAL) {
		snprintf(err, errlen, "--jwt-key %s: unknown algorithm %s (HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512)",
		    spec, name);
		return -1;
	}
	struct key key = { .alg = alg };
	key.bytes = load_key(alg, colon + 1, false, &key.len, err, errlen);
	if (key.bytes == NULL)
		return -1;
	struct key *grown = realloc(k->keys, (k->n + 1) * sizeof *grown);
	if (grown == NULL) {
		snprintf(err, errlen, "--jwt-key %s: out of memory", spec);
		explicit_bzero(key.bytes, key.len);
		free(key.bytes);
		return -1;
	}
	k->keys = grown;
	k->keys[k->n++] = key;
	return 0;
}

int
token_keys_expect(struct token_keys *k, const char *audience,
    const char *issuer)
{
	char *aud = NULL, *iss = NULL;

	if ((audience != NULL && (aud = strdup(audience)) == NULL) ||
	    (issuer != NULL && (iss = strdup(issuer)) == NULL)) {
		free(aud);
		return -1;
	}
	free(k->audience);
	free(k->issuer);
	k->audience = aud;
	k->issuer = iss;
	return 0;
}

const char *
token_status_reason(enum token_status s)
{
	switch (s) {
	case TOKEN_VALID: return "the token is valid";
	case TOKEN_MALFORMED: return "the token is not a well-formed JWT";
	case TOKEN_BAD_ALG: return "the token's algorithm is not one this server verifies";
	case TOKEN_BAD_SIGNATURE: return "the token's signature does not verify";
	case TOKEN_NO_EXP: return "the token has no exp claim";
	case TOKEN_EXPIRED: return "the token has expired";
	case TOKEN_NOT_YET_VALID: return "the token is not valid yet (nbf)";
	case TOKEN_BAD_AUDIENCE: return "the token is for another audience (aud)";
	case TOKEN_BAD_ISSUER: return "the token is from another issuer (iss)";
	case TOKEN_BAD_CLAIM: return "the token's sub or sselog claim has the wrong type";
	case TOKEN_NO_MEMORY: return "out of memory";
	}
	return "the token is invalid";
}

/* A NumericDate (RFC 7519, 2): seconds, possibly with a fraction. */
static bool
numeric_date(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (!isfinite(d) || d < -9e15 || d > 9e15)
			return false;
		/* Whole seconds; a date before 1970 rounds up, which
		 * matters to nothing here. */
		*out = (int64_t)d;
		return true;
	}
	return false;
}

static bool
audience_names(json_t *aud, const char *want)
{
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (json_is_array(aud)) {
		size_t i;
		json_t *v;
		json_array_foreach(aud, i, v) {
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), want) == 0)
				return true;
		}
	}
	return false;
}

/* Copies an array of strings (absent: none). Returns TOKEN_VALID,
 * TOKEN_BAD_CLAIM for another shape, or TOKEN_NO_MEMORY. */
static enum token_status
copy_strings(json_t *array, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (array == NULL)
		return TOKEN_VALID;
	if (!json_is_array(array))
		return TOKEN_BAD_CLAIM;
	size_t count = json_array_size(array), i;
	json_t *v;
	if (count == 0)
		return TOKEN_VALID;
	if ((*out = calloc(count, sizeof **out)) == NULL)
		return TOKEN_NO_MEMORY;
	json_array_foreach(array, i, v) {
		if (!json_is_string(v))
			return TOKEN_BAD_CLAIM;
		if (((*out)[i] = strdup(json_string_value(v))) == NULL)
			return TOKEN_NO_MEMORY;
		(*n)++;
	}
	return TOKEN_VALID;
}

enum token_status
token_claims_in_force(const struct token_claims *c, int64_t now)
{
	if (now >= c->exp)
		return TOKEN_EXPIRED;
	if (now + NBF_LEEWAY < c->nbf)
		return TOKEN_NOT_YET_VALID;
	return TOKEN_VALID;
}

/* Checks the claims of a verified token and copies what we use. */
static enum token_status
read_claims(const struct token_keys *k, json_t *claims, int64_t now,
    struct token_claims *out)
{
	enum token_status s;
	json_t *v;

	if (!json_is_object(claims))
		return TOKEN_MALFORMED;
	if ((v = json_object_get(claims, "exp")) == NULL)
		return TOKEN_NO_EXP;
	if (!numeric_date(v, &out->exp))
		return TOKEN_BAD_CLAIM;
	out->nbf = INT64_MIN;
	/* An "nbf" of the wrong type in a token that has expired anyway
	 * says "expired", as it always has. */
	if ((v = json_object_get(claims, "nbf")) != NULL &&
	    !numeric_date(v, &out->nbf))
		return now >= out->exp ? TOKEN_EXPIRED : TOKEN_BAD_CLAIM;
	if ((s = token_claims_in_force(out, now)) != TOKEN_VALID)
		return s;
	if (k->audience != NULL &&
	    !audience_names(json_object_get(claims, "aud"), k->audience))
		return TOKEN_BAD_AUDIENCE;
	if (k->issuer != NULL) {
		v = json_object_get(claims, "iss");
		if (!json_is_string(v) ||
		    strcmp(json_string_value(v), k->issuer) != 0)
			return TOKEN_BAD_ISSUER;
	}
	if ((v = json_object_get(claims, "sub")) != NULL) {
		if (!json_is_string(v))
			return TOKEN_BAD_CLAIM;
		if ((out->sub = strdup(json_string_value(v))) == NULL)
			return TOKEN_NO_MEMORY;
	}
	json_t *grants = json_object_get(claims, "sselog");
	if (grants == NULL)
		return TOKEN_VALID;
	if (!json_is_object(grants))
		return TOKEN_BAD_CLAIM;
	s = copy_strings(json_object_get(grants, "subscribe"),
	    &out->subscribe, &out->n_subscribe);
	if (s != TOKEN_VALID)
		return s;
	return copy_strings(json_object_get(grants, "publish"),
	    &out->publish, &out->n_publish);
}

/* Decodes base64url without padding (RFC 7515, 2) into out, which has
 * room for at least len * 3 / 4 bytes. Returns the bytes decoded, or -1
 * for a character outside the alphabet. (libjwt has a decoder but does
 * not export it.) */
static ssize_t
base64url_decode(const char *in, size_t len, unsigned char *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		const char *p = in[i] != '\0' ? strchr(alphabet, in[i]) : NULL;
		if (p == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (ssize_t)n;
}

/* True when token is three segments of base64url joined by dots (RFC
 * 7515, 7.1), the header and the claims not empty; *unsigned_ is set when
 * the signature is empty (alg none, refused before any decoding). libjwt
 * 1.10 writes past the end of its buffer when it decodes an empty segment
 * ("h..", valgrind shows it): nothing else reaches jwt_decode(). */
static bool
well_framed(const char *token, bool *unsigned_)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = token;

	for (int segment = 0; segment < 3; segment++) {
		size_t len = strspn(p, alphabet);
		if (segment == 2)
			*unsigned_ = len == 0;
		else if (len == 0)
			return false;
		p += len;
		if (segment < 2 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

/* The algorithm a token's header names ("alg"), read before any key is
 * chosen. Returns TOKEN_VALID and sets *alg (JWT_ALG_INVAL for a name we
 * do not know), or TOKEN_MALFORMED. */
static enum token_status
header_alg(const char *token, jwt_alg_t *alg)
{
	size_t len = strcspn(token, ".");
	unsigned char head[TOKEN_MAX];

	if (token[len] != '.' || len == 0)
		return TOKEN_MALFORMED;
	ssize_t n = base64url_decode(token, len, head);
	if (n <= 0)
		return TOKEN_MALFORMED;
	json_t *h = json_loadb((const char *)head, (size_t)n,
	    JSON_REJECT_DUPLICATES, NULL);
	json_t *name = h != NULL ? json_object_get(h, "alg") : NULL;
	enum token_status s = TOKEN_MALFORMED;
	if (json_is_string(name)) {
		*alg = jwt_str_alg(json_string_value(name));
		s = TOKEN_VALID;
	}
	json_decref(h);
	return s;
}

enum token_status
token_verify(const struct token_keys *k, const char *token, int64_t now,
    struct token_claims *out)
{
	jwt_t *verified = NULL;
	enum token_status s;

	memset(out, 0, sizeof *out);
	bool unsigned_token = false;
	if (strnlen(token, TOKEN_MAX + 1) > TOKEN_MAX ||
	    !well_framed(token, &unsigned_token))
		return TOKEN_MALFORMED;
	/* First the algorithm the header claims: the keys of that
	 * algorithm, and no other, then verify it. */
	jwt_alg_t alg;
	if ((s = header_alg(token, &alg)) != TOKEN_VALID)
		return s;
	if (alg == JWT_ALG_NONE || alg == JWT_ALG_INVAL)
		return TOKEN_BAD_ALG;
	if (unsigned_token)
		return TOKEN_MALFORMED;
	bool have_key = false;
	for (size_t i = 0; i < k->n && verified == NULL; i++) {
		if (k->keys[i].alg != alg)
			continue;
		have_key = true;
		if (jwt_decode(&verified, token, k->keys[i].bytes,
		    (int)k->keys[i].len) != 0)
			verified = NULL;
	}
	if (!have_key)
		return TOKEN_BAD_ALG;
	if (verified == NULL)
		return TOKEN_BAD_SIGNATURE;
	/* Belt and braces: the verified token has the algorithm we chose. */
	if (jwt_get_alg(verified) != alg) {
		jwt_free(verified);
		return TOKEN_BAD_ALG;
	}
	char *text = jwt_get_grants_json(verified, NULL);
	jwt_free(verified);
	if (text == NULL)
		return TOKEN_MALFORMED;
	json_t *claims = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (claims == NULL)
		return TOKEN_MALFORMED;
	s = read_claims(k, claims, now, out);
	json_decref(claims);
	if (s != TOKEN_VALID)
		token_claims_free(out);
	return s;
}

static json_t *
string_array(const char *const *strings, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_string(strings[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The claims of a new token as JSON text (the caller frees it). */
static char *
mint_claims(const struct token_mint *m)
{
	json_t *claims = json_object(), *grants = json_object();
	char *text = NULL;

	if (claims == NULL || grants == NULL)
		goto out;
	if (json_object_set_new(claims, "iat", json_integer(m->now)) == -1 ||
	    json_object_set_new(claims, "exp",
	    json_integer(m->now + m->ttl)) == -1)
		goto out;
	if (m->sub != NULL &&
	    json_object_set_new(claims, "sub", json_string(m->sub)) == -1)
		goto out;
	if (m->audience != NULL &&
	    json_object_set_new(claims, "aud", json_string(m->audience)) == -1)
		goto out;
	if (m->issuer != NULL &&
	    json_object_set_new(claims, "iss", json_string(m->issuer)) == -1)
		goto out;
	if (m->n_subscribe > 0 && json_object_set_new(grants, "subscribe",
	    string_array(m->subscribe, m->n_subscribe)) == -1)
		goto out;
	if (m->n_publish > 0 && json_object_set_new(grants, "publish",
	    string_array(m->publish, m->n_publish)) == -1)
		goto out;
	if (json_object_size(grants) > 0) {
		if (json_object_set(claims, "sselog", grants) == -1)
			goto out;
	}
	text = json_dumps(claims, JSON_COMPACT);
out:
	json_decref(grants);
	json_decref(claims);
	return text;
}

char *
token_mint(const struct token_mint *m, char *err, size_t errlen)
{
	jwt_alg_t alg = alg_from_name(m->alg);
	jwt_t *jwt = NULL;
	char *claims = NULL, *token = NULL;
	unsigned char *key;
	size_t len;

	if (alg == JWT_ALG_INVAL) {
		snprintf(err, errlen, "unknown algorithm %s (HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512)",
		    m->alg);
		return NULL;
	}
	if ((key = load_key(alg, m->key_file, true, &len, err, errlen)) == NULL)
		return NULL;
	if ((claims = mint_claims(m)) == NULL || jwt_new(&jwt) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (jwt_add_grants_json(jwt, claims) != 0) {
		snprintf(err, errlen, "cannot add the claims: %s", strerror(errno));
		goto out;
	}
	if (jwt_set_alg(jwt, alg, key, (int)len) != 0) {
		snprintf(err, errlen, "%s: cannot use it as an %s key: %s",
		    m->key_file, m->alg, strerror(errno));
		goto out;
	}
	if ((token = jwt_encode_str(jwt)) == NULL)
		snprintf(err, errlen, "%s: cannot sign with it as an %s key",
		    m->key_file, m->alg);
out:
	jwt_free(jwt);
	free(claims);
	explicit_bzero(key, len);
	free(key);
	return token;
}
