/* secret: tokens, password hashing, constant-time comparison (contract in
 * include/secret.h). All cryptography is libsodium's. */
#include "secret.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

_Static_assert(SECRET_HASH_HEX == crypto_hash_sha256_BYTES * 2 + 1, "SECRET_HASH_HEX");
_Static_assert(SECRET_PWHASH_LEN == crypto_pwhash_STRBYTES, "SECRET_PWHASH_LEN");
_Static_assert(sizeof SECRET_TOKEN_PREFIX - 1 == 4, "SECRET_TOKEN_CHARS assumes a 4-byte prefix");
_Static_assert(SECRET_TOKEN_CHARS - 4 + 1 ==
                   sodium_base64_ENCODED_LEN(SECRET_TOKEN_BYTES,
                                             sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "SECRET_TOKEN_CHARS");

/* Non-zero: tests asked for the minimal argon2id cost. */
static atomic_int pwhash_minimal;

int secret_init(void)
{
    /* sodium_init() returns 1 when already initialised; it is thread-safe. */
    return sodium_init() < 0 ? -1 : 0;
}

int secret_token_new(char *out, size_t len)
{
    if (out == NULL)
        return -1;
    if (len < SECRET_TOKEN_LEN) {
        if (len > 0)
            out[0] = '\0';
        return -1;
    }
    unsigned char raw[SECRET_TOKEN_BYTES];
    randombytes_buf(raw, sizeof raw);
    const size_t prefix = sizeof SECRET_TOKEN_PREFIX - 1;
    memcpy(out, SECRET_TOKEN_PREFIX, prefix);
    sodium_bin2base64(out + prefix, len - prefix, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

static bool is_base64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

bool secret_token_well_formed(const char *token)
{
    const size_t prefix = sizeof SECRET_TOKEN_PREFIX - 1;
    if (token == NULL || strncmp(token, SECRET_TOKEN_PREFIX, prefix) != 0)
        return false;
    size_t i = prefix;
    while (i < SECRET_TOKEN_CHARS && is_base64url(token[i]))
        i++;
    return i == SECRET_TOKEN_CHARS && token[i] == '\0';
}

void secret_token_hash(const char *token, char out[SECRET_HASH_HEX])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    if (token == NULL)
        token = "";
    crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, SECRET_HASH_HEX, digest, sizeof digest);
}

/* argon2id at OWASP's recommended floor (m = 19 MiB, t = 2, p = 1)
 * rather than libsodium's "interactive" 64 MiB: a login must not cost a
 * quarter of the server's memory budget. Parameters live in each stored
 * hash, so hashes made at another cost still verify. */
#define PWHASH_OPS 2ULL
#define PWHASH_MEM ((size_t)19 * 1024 * 1024)
/* At most this many argon2id computations at once: bounds peak memory
 * (2 x 19 MiB) however many logins arrive together. */
#define PWHASH_CONCURRENT 2

static pthread_mutex_t pwhash_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pwhash_free = PTHREAD_COND_INITIALIZER;
static int pwhash_running;

static void pwhash_enter(void)
{
    pthread_mutex_lock(&pwhash_lock);
    while (pwhash_running >= PWHASH_CONCURRENT)
        pthread_cond_wait(&pwhash_free, &pwhash_lock);
    pwhash_running++;
    pthread_mutex_unlock(&pwhash_lock);
}

static void pwhash_leave(void)
{
    pthread_mutex_lock(&pwhash_lock);
    pwhash_running--;
    pthread_cond_signal(&pwhash_free);
    pthread_mutex_unlock(&pwhash_lock);
}

static unsigned long long pwhash_ops(void)
{
    return atomic_load(&pwhash_minimal) ? crypto_pwhash_OPSLIMIT_MIN : PWHASH_OPS;
}

static size_t pwhash_mem(void)
{
    return atomic_load(&pwhash_minimal) ? crypto_pwhash_MEMLIMIT_MIN : PWHASH_MEM;
}

void secret_set_pwhash_cost(int minimal)
{
    atomic_store(&pwhash_minimal, minimal != 0);
}

int secret_password_hash(const char *password, char out[SECRET_PWHASH_LEN])
{
    int rc;

    out[0] = '\0';
    if (password == NULL)
        return -1;
    pwhash_enter();
    rc = crypto_pwhash_str_alg(out, password, strlen(password), pwhash_ops(), pwhash_mem(),
                               crypto_pwhash_ALG_ARGON2ID13);
    pwhash_leave();
    if (rc != 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* A stored hash must be a NUL-terminated string inside its buffer size. */
static bool stored_ok(const char *stored)
{
    return stored != NULL && strnlen(stored, SECRET_PWHASH_LEN) < SECRET_PWHASH_LEN;
}

int secret_password_verify(const char *stored, const char *password)
{
    int rc;

    if (!stored_ok(stored) || password == NULL)
        return -1;
    pwhash_enter();
    rc = crypto_pwhash_str_verify(stored, password, strlen(password));
    pwhash_leave();
    return rc == 0 ? 0 : -1;
}

bool secret_password_needs_rehash(const char *stored)
{
    if (!stored_ok(stored))
        return true;
    return crypto_pwhash_str_needs_rehash(stored, pwhash_ops(), pwhash_mem()) != 0;
}

bool secret_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return true;
    return sodium_memcmp(a, b, n) == 0;
}

/* Counts the code points of a NUL-terminated string, or returns SIZE_MAX
 * when it is not well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
static size_t utf8_code_points(const unsigned char *s)
{
    size_t count = 0;
    while (*s != '\0') {
        unsigned char c = *s;
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            extra = 0;
            cp = c;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07u;
        } else {
            return SIZE_MAX; /* continuation byte, 0xc0/0xc1, or 0xf5.. */
        }
        for (size_t i = 1; i <= extra; i++) {
            if ((s[i] & 0xc0u) != 0x80u)
                return SIZE_MAX; /* also stops at the NUL */
            cp = (cp << 6) | (s[i] & 0x3fu);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return SIZE_MAX;
        s += extra + 1;
        count++;
    }
    return count;
}

int secret_password_acceptable(const char *password, const char **why)
{
    const char *reason = NULL;
    if (password == NULL) {
        reason = "a password is required";
    } else if (strnlen(password, SECRET_PASSWORD_MAX_BYTES + 1) > SECRET_PASSWORD_MAX_BYTES) {
        reason = "password must be at most 1024 bytes long";
    } else {
        size_t n = utf8_code_points((const unsigned char *)password);
        if (n == SIZE_MAX)
            reason = "password is not valid UTF-8";
        else if (n < SECRET_PASSWORD_MIN_CHARS)
            reason = "password must be at least 10 characters long";
    }
    if (why != NULL)
        *why = reason;
    return reason == NULL ? 0 : -1;
}
