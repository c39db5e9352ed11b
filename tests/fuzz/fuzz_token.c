/* Fuzz target: the token a request brings (src/token.h, src/credential.h).
 *
 * Input: a mode byte, then text. Mode 0: the text is a token, verified
 * against an HS256 key and an ES256 key. Mode 1: the text is a JSON
 * claims object, which is signed here with the HS256 key (libjwt) and
 * then verified, so that the claims, not only the framing, are reached.
 * Mode 2: the text is an Authorization header and a Cookie header (split
 * at the first NUL).
 *
 * Checks: a valid token has an exp after now, and its grants are strings
 * without a NUL; a token signed here with a key verifies only if its
 * claims pass (exp to come, nbf past); the token taken from a Bearer
 * header has no space and is a suffix of the header; a cookie's value has
 * no ';'.
 */
#include <jwt.h>
#include <unistd.h>

#include "credential.h"
#include "fuzz.h"
#include "token.h"

#define NOW 1800000000

static struct token_keys *keys;
static const char secret[] = "fuzz-secret-fuzz-secret-fuzz-secret-0123";

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/sselog-fuzz-secret-XXXXXX", spec[64], err[256];
	int fd = mkstemp(path);

	(void)argc;
	(void)argv;
	CHECK(fd >= 0);
	CHECK(write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret));
	close(fd);
	keys = token_keys_new();
	CHECK(keys != NULL);
	snprintf(spec, sizeof spec, "HS256:%s", path);
	CHECK(token_keys_add(keys, spec, err, sizeof err) == 0);
	unlink(path);
	return 0;
}

static void
check_claims(const struct token_claims *c)
{
	CHECK(c->exp > NOW);
	for (size_t i = 0; i < c->n_subscribe; i++)
		CHECK(c->subscribe[i] != NULL);
	for (size_t i = 0; i < c->n_publish; i++)
		CHECK(c->publish[i] != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint8_t mode = take_u8(&in) % 3;
	char *text = take_string(&in, NULL);
	struct token_claims c;

	if (mode == 0) {
		if (token_verify(keys, text, NOW, &c) == TOKEN_VALID) {
			check_claims(&c);
			token_claims_free(&c);
		}
	} else if (mode == 1) {
		jwt_t *j = NULL;
		char *token = NULL;
		if (jwt_new(&j) == 0 && jwt_add_grants_json(j, text) == 0 &&
		    jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)secret,
		    (int)strlen(secret)) == 0)
			token = jwt_encode_str(j);
		jwt_free(j);
		if (token != NULL) {
			enum token_status s = token_verify(keys, token, NOW, &c);
			if (s == TOKEN_VALID) {
				check_claims(&c);
				token_claims_free(&c);
			}
			/* Signed with the key: only the claims can fail it. */
			CHECK(s != TOKEN_BAD_SIGNATURE && s != TOKEN_BAD_ALG);
			free(token);
		}
	} else {
		char *cookie = take_string(&in, NULL), *got;
		if (credential_bearer(text, &got) == 1) {
			CHECK(strchr(got, ' ') == NULL);
			CHECK(strstr(text, got) != NULL);
			free(got);
		}
		if (credential_cookie(cookie, "sselog_token", &got) == 1) {
			CHECK(strchr(got, ';') == NULL);
			free(got);
		}
		free(cookie);
	}
	free(text);
	return 0;
}
