/* secret: bearer tokens, password hashing and constant-time comparison
 * (libsodium). No I/O besides the kernel's random source.
 *
 * Tokens (device tokens and staff session tokens) are 32 random bytes,
 * base64url without padding, prefixed "wdt_" so that a leaked token is
 * recognisable in logs and by secret scanners:
 *     wdt_<43 characters of [A-Za-z0-9_-]>          (47 characters)
 * The server stores only secret_token_hash(token) and finds a token by that
 * hash. Tokens carry 256 bits of entropy, so a fast hash (SHA-256) is right:
 * a slow password hash would only slow every request down.
 *
 * Passwords are stored as argon2id strings ("$argon2id$v=19$m=...") that
 * carry their own salt and cost; verification reads the cost from the
 * string, so a change of cost never invalidates stored hashes.
 *
 * Call secret_init() once at start-up, before any other function here. */
#ifndef WARDD_SECRET_H
#define WARDD_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Every token starts with this. */
#define SECRET_TOKEN_PREFIX "wdt_"
/* Random bytes in a token. */
#define SECRET_TOKEN_BYTES 32
/* Length of a token in characters: prefix + base64url(32 bytes) unpadded. */
#define SECRET_TOKEN_CHARS (4 + 43)
/* Buffer for a token and its NUL. */
#define SECRET_TOKEN_LEN (SECRET_TOKEN_CHARS + 1)
/* Buffer for a token hash: 64 lower-case hex digits of SHA-256 and a NUL. */
#define SECRET_HASH_HEX 65
/* Buffer for an argon2id password hash string and its NUL
 * (libsodium's crypto_pwhash_STRBYTES). */
#define SECRET_PWHASH_LEN 128
/* Password policy (docs/api.md "Users"): at least this many characters, counted
 * as Unicode code points, and at most this many bytes of UTF-8. */
#define SECRET_PASSWORD_MIN_CHARS 10
#define SECRET_PASSWORD_MAX_BYTES 1024

/* Initialises libsodium. Returns 0 (also when already initialised), or -1
 * when the library cannot be used (then the server must not start).
 * Thread-safe and idempotent. */
int secret_init(void);

/* Writes a new random token "wdt_..." (SECRET_TOKEN_CHARS characters and a
 * NUL) into out, which holds len bytes. Returns 0, or -1 when len is below
 * SECRET_TOKEN_LEN (out is then "" if len > 0). The caller shows the token
 * once and stores only secret_token_hash() of it. */
int secret_token_new(char *out, size_t len);

/* True when `token` has the shape secret_token_new() produces: the prefix
 * and 43 base64url characters. A cheap filter before a database look-up;
 * it does not say the token is known. NULL is not well formed. */
bool secret_token_well_formed(const char *token);

/* SHA-256 of the token's bytes (without the NUL) as 64 lower-case hex
 * digits and a NUL. Deterministic: the database key of a token. A NULL
 * token hashes as "". */
void secret_token_hash(const char *token, char out[SECRET_HASH_HEX]);

/* Hashes a password with argon2id (crypto_pwhash_str_alg, ALG_ARGON2ID13)
 * and a fresh random salt, at the cost chosen by secret_set_pwhash_cost().
 * Writes a NUL-terminated string of fewer than SECRET_PWHASH_LEN bytes.
 * Returns 0, or -1 (out of memory, or a NULL password; out is then "").
 * Slow on purpose (argon2id m = 19 MiB, t = 2: OWASP's floor; at most two
 * run at once, bounding memory): never call it
 * on a path an unauthenticated client can repeat without a rate limit. The
 * password policy is not checked here: see secret_password_acceptable(). */
int secret_password_hash(const char *password, char out[SECRET_PWHASH_LEN]);

/* Selects the cost of secret_password_hash(): minimal != 0 uses libsodium's
 * OPSLIMIT_MIN/MEMLIMIT_MIN (tests only: fast, and weak), 0 restores the
 * default m = 19 MiB, t = 2. Process-wide; set it
 * before worker threads start. */
void secret_set_pwhash_cost(int minimal);

/* Checks a password against a string from secret_password_hash(). Returns
 * 0 when it matches; -1 when it does not, when `stored` is not a valid hash
 * string, or either argument is NULL. Takes as long as the hash did. */
int secret_password_verify(const char *stored, const char *password);

/* True when `stored` was hashed at a cost other than the current one (or is
 * not an argon2id string), so that it should be re-hashed after the next
 * successful login. */
bool secret_password_needs_rehash(const char *stored);

/* Compares n bytes of a and b in time independent of their contents
 * (sodium_memcmp). True when equal. n == 0 is equal. */
bool secret_equal(const void *a, const void *b, size_t n);

/* Applies the password policy. Returns 0 when acceptable, or -1 with *why
 * (when why is not NULL) set to a static English sentence: the password is
 * missing, is not valid UTF-8, has fewer than SECRET_PASSWORD_MIN_CHARS
 * code points, or is longer than SECRET_PASSWORD_MAX_BYTES bytes. On
 * success *why is set to NULL. */
int secret_password_acceptable(const char *password, const char **why);

#endif
