# tests/cli/token.sh: `sselog token` signs what it is asked to, with the
# key given, and refuses what no verifier could use. (That sselog-fcgi
# verifies these tokens is tested behind the web servers.)
. "$SRCDIR/tests/cli/lib.sh"

KEYS=$SRCDIR/tests/keys

# The JSON of a token's part N (1 header, 2 claims), base64url decoded.
part() {	# N TOKEN
	printf '%s' "$2" | cut -d . -f "$1" | tr '_-' '/+' |
	    awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d
}

run sselog token --key "$KEYS/hs256.secret" --alg HS256 --sub ci \
    --subscribe 'build/**' --subscribe 'user/{user}/**' --publish 'build/7' \
    --ttl 2h --audience sselog --issuer tests
is_status "token: exit 0" 0
is_quiet "token: nothing on stderr"
tok=$(cat "$OUT")
check "token: one line of three base64url parts" \
    sh -c "printf '%s' '$tok' | grep -Eqx '[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+'"
is "the header names HS256" "$(part 1 "$tok" | sed 's/.*"alg":"\([^"]*\)".*/\1/')" HS256
claims=$(part 2 "$tok")
now=$(date +%s)
iat=$(printf '%s' "$claims" | sed 's/.*"iat":\([0-9]*\).*/\1/')
exp=$(printf '%s' "$claims" | sed 's/.*"exp":\([0-9]*\).*/\1/')
check "iat is now" test $((iat - now)) -le 2 -a $((now - iat)) -le 2
is "exp is iat + 2h" "$((exp - iat))" 7200
is "the claims: sub, aud, iss and the grants" \
    "$(printf '%s' "$claims" | sed -e 's/"iat":[0-9]*,//' -e 's/"exp":[0-9]*,//')" \
    '{"aud":"sselog","iss":"tests","sselog":{"publish":["build/7"],"subscribe":["build/**","user/{user}/**"]},"sub":"ci"}'
# The signature is HMAC-SHA256 of header.claims with the secret, less its
# trailing newline: checked with openssl, not with sselog.
secret=$(cat "$KEYS/hs256.secret")
want=$(printf '%s' "${tok%.*}" | openssl dgst -sha256 -mac HMAC \
    -macopt "key:$secret" -binary | base64 | tr '+/' '-_' | tr -d '=')
is "the HS256 signature is the HMAC of the secret without its newline" \
    "${tok##*.}" "$want"

run sselog token --key "$KEYS/es256-private.pem" --alg ES256
is_status "ES256 with a PEM private key: exit 0" 0
tok=$(cat "$OUT")
part 2 "$tok" >claims
check "without --sub and grants: only iat and exp" \
    grep -Eqx '\{"exp":[0-9]+,"iat":[0-9]+\}' claims
# The signature verifies with the public key (openssl wants DER for EC).
printf '%s' "${tok%.*}" >signed
printf '%s' "${tok##*.}" | tr '_-' '/+' |
    awk '{ while (length($0) % 4) $0 = $0 "="; print }' | base64 -d >sig.raw
python3 - sig.raw sig.der <<'PY'
import sys
raw = open(sys.argv[1], 'rb').read()
def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80:
        b = b'\0' + b
    return b'\x02' + bytes([len(b)]) + b
body = der_int(raw[:32]) + der_int(raw[32:])
open(sys.argv[2], 'wb').write(b'\x30' + bytes([len(body)]) + body)
PY
check "the ES256 signature (r||s, 64 bytes) verifies with the public key" \
    openssl dgst -sha256 -verify "$KEYS/es256-public.pem" -signature sig.der signed
is "... and is 64 bytes, as JWS wants" "$(wc -c <sig.raw)" 64

run sselog token --key "$KEYS/rs256-private.pem" --alg RS256 --sub a
is_status "RS256 with a PEM private key: exit 0" 0

# Refused, with one line and nothing printed.
run sselog token --alg HS256
refused "no --key: exit 2" 2 "needs --key FILE and --alg ALG"
run sselog token --key "$KEYS/hs256.secret"
refused "no --alg: exit 2" 2 "needs --key FILE and --alg ALG"
run sselog token --key "$KEYS/hs256.secret" --alg none
refused "--alg none: exit 1" 1 "unknown algorithm none"
run sselog token --key "$KEYS/es256-public.pem" --alg ES256
refused "a public key cannot sign: exit 1" 1 "needs a PEM private key"
run sselog token --key missing.key --alg HS256
refused "a missing key file: exit 1" 1 "missing.key: No such file or directory"
printf 'short\n' >short.secret
run sselog token --key short.secret --alg HS256
refused "a secret under 32 bytes: exit 1" 1 "at least 32 bytes"
run sselog token --key "$KEYS/hs256.secret" --alg HS256 --subscribe 'a/**/b'
refused "a bad pattern: exit 2" 2 "--subscribe a/**/b: ** must be the last segment"
run sselog token --key "$KEYS/hs256.secret" --alg HS256 --publish 'x-*'
refused "a * inside a segment: exit 2" 2 "--publish x-*: * must be a whole segment"
run sselog token --key "$KEYS/hs256.secret" --alg HS256 --ttl 0s
refused "--ttl 0s: exit 2" 2 "--ttl 0s"
run sselog token --key "$KEYS/hs256.secret" --alg HS256 extra
refused "an operand: exit 2" 2 "token takes no arguments"
run sselog token --key "$KEYS/hs256.secret" --alg HS256 --since 3
refused "an option of another command: exit 2" 2 "unknown option --since"

done_testing
