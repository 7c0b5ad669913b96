/* Unit tests for secret: tokens, token hashes, password hashing and policy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "secret.h"

static int setup(void **state)
{
    (void)state;
    if (secret_init() != 0)
        return -1;
    secret_set_pwhash_cost(1); /* fast, weak argon2id for tests */
    return 0;
}

static void test_init_idempotent(void **state)
{
    (void)state;
    assert_int_equal(secret_init(), 0);
    assert_int_equal(secret_init(), 0);
}

static void test_token_format(void **state)
{
    (void)state;
    char tok[SECRET_TOKEN_LEN];
    assert_int_equal(secret_token_new(tok, sizeof tok), 0);
    assert_int_equal(strlen(tok), SECRET_TOKEN_CHARS);
    assert_int_equal(strlen(tok), 47);
    assert_memory_equal(tok, "wdt_", 4);
    for (size_t i = 4; i < strlen(tok); i++) {
        char c = tok[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            fail_msg("token %s has '%c' at %zu", tok, c, i);
    }
    assert_null(strchr(tok, '='));
    assert_true(secret_token_well_formed(tok));
}

static void test_token_buffer_size(void **state)
{
    (void)state;
    char tok[SECRET_TOKEN_LEN + 8];
    memset(tok, 'x', sizeof tok);
    assert_int_equal(secret_token_new(tok, SECRET_TOKEN_LEN - 1), -1);
    assert_string_equal(tok, "");
    assert_int_equal(secret_token_new(tok, 0), -1);
    assert_int_equal(secret_token_new(NULL, 100), -1);
    memset(tok, 'x', sizeof tok);
    assert_int_equal(secret_token_new(tok, SECRET_TOKEN_LEN), 0);
    assert_int_equal(strlen(tok), SECRET_TOKEN_CHARS);
    assert_int_equal(tok[SECRET_TOKEN_LEN], 'x'); /* nothing written beyond len */
}

static void test_token_unique(void **state)
{
    (void)state;
    enum { N = 200 };
    static char toks[N][SECRET_TOKEN_LEN];
    for (int i = 0; i < N; i++) {
        assert_int_equal(secret_token_new(toks[i], sizeof toks[i]), 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(toks[i], toks[j]);
    }
    /* every base64url symbol appears somewhere: the encoding is not biased
     * to a subset (200 * 43 symbols, each of 64 expected ~134 times) */
    int seen[256] = {0};
    for (int i = 0; i < N; i++)
        for (size_t k = 4; k < SECRET_TOKEN_CHARS; k++)
            seen[(unsigned char)toks[i][k]]++;
    const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t k = 0; k < sizeof alphabet - 1; k++)
        assert_true(seen[(unsigned char)alphabet[k]] > 0);
}

static void test_token_well_formed(void **state)
{
    (void)state;
    char tok[SECRET_TOKEN_LEN + 1];
    assert_int_equal(secret_token_new(tok, SECRET_TOKEN_LEN), 0);
    assert_true(secret_token_well_formed(tok));
    char bad[SECRET_TOKEN_LEN + 2];
    /* one character more, one less */
    snprintf(bad, sizeof bad, "%sA", tok);
    assert_false(secret_token_well_formed(bad));
    snprintf(bad, sizeof bad, "%.*s", SECRET_TOKEN_CHARS - 1, tok);
    assert_false(secret_token_well_formed(bad));
    /* a character outside base64url */
    snprintf(bad, sizeof bad, "%s", tok);
    bad[10] = '+';
    assert_false(secret_token_well_formed(bad));
    bad[10] = '=';
    assert_false(secret_token_well_formed(bad));
    /* wrong prefix */
    snprintf(bad, sizeof bad, "%s", tok);
    bad[0] = 'W';
    assert_false(secret_token_well_formed(bad));
    assert_false(secret_token_well_formed(""));
    assert_false(secret_token_well_formed("wdt_"));
    assert_false(secret_token_well_formed(NULL));
}

static void test_token_hash(void **state)
{
    (void)state;
    char h1[SECRET_HASH_HEX], h2[SECRET_HASH_HEX];
    /* SHA-256 test vectors (FIPS 180-2) */
    secret_token_hash("abc", h1);
    assert_string_equal(h1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    secret_token_hash("", h1);
    assert_string_equal(h1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    secret_token_hash(NULL, h2);
    assert_string_equal(h1, h2);
    /* deterministic; distinct tokens, distinct hashes */
    char tok[SECRET_TOKEN_LEN], other[SECRET_TOKEN_LEN];
    assert_int_equal(secret_token_new(tok, sizeof tok), 0);
    assert_int_equal(secret_token_new(other, sizeof other), 0);
    secret_token_hash(tok, h1);
    secret_token_hash(tok, h2);
    assert_string_equal(h1, h2);
    assert_int_equal(strlen(h1), 64);
    for (size_t i = 0; i < 64; i++)
        assert_non_null(strchr("0123456789abcdef", h1[i]));
    secret_token_hash(other, h2);
    assert_string_not_equal(h1, h2);
}

static void test_password_hash_verify(void **state)
{
    (void)state;
    char stored[SECRET_PWHASH_LEN];
    assert_int_equal(secret_password_hash("correct horse battery", stored), 0);
    assert_true(strncmp(stored, "$argon2id$", 10) == 0);
    assert_true(strlen(stored) < SECRET_PWHASH_LEN);
    assert_int_equal(secret_password_verify(stored, "correct horse battery"), 0);
    assert_int_equal(secret_password_verify(stored, "correct horse batterY"), -1);
    assert_int_equal(secret_password_verify(stored, "correct horse battery "), -1);
    assert_int_equal(secret_password_verify(stored, ""), -1);
    assert_int_equal(secret_password_verify(stored, NULL), -1);
    /* salted: the same password hashes differently, both verify */
    char again[SECRET_PWHASH_LEN];
    assert_int_equal(secret_password_hash("correct horse battery", again), 0);
    assert_string_not_equal(stored, again);
    assert_int_equal(secret_password_verify(again, "correct horse battery"), 0);
    /* UTF-8 passwords are bytes to argon2id */
    assert_int_equal(secret_password_hash("pässwörd-äöü", again), 0);
    assert_int_equal(secret_password_verify(again, "pässwörd-äöü"), 0);
    assert_int_equal(secret_password_verify(again, "passwort-aou"), -1);
    assert_int_equal(secret_password_hash(NULL, again), -1);
    assert_string_equal(again, "");
}

static void test_password_verify_malformed(void **state)
{
    (void)state;
    assert_int_equal(secret_password_verify("", "whatever123"), -1);
    assert_int_equal(secret_password_verify("$argon2id$garbage", "whatever123"), -1);
    assert_int_equal(secret_password_verify("plaintext-password", "plaintext-password"), -1);
    assert_int_equal(secret_password_verify(NULL, "whatever123"), -1);
    /* a stored string without a NUL inside its buffer size */
    char unterminated[SECRET_PWHASH_LEN + 1];
    memset(unterminated, 'a', sizeof unterminated);
    unterminated[SECRET_PWHASH_LEN] = '\0';
    assert_int_equal(secret_password_verify(unterminated, "whatever123"), -1);
}

static void test_password_cost(void **state)
{
    (void)state;
    char minimal[SECRET_PWHASH_LEN];
    assert_int_equal(secret_password_hash("cost-check-password", minimal), 0);
    assert_false(secret_password_needs_rehash(minimal));
    assert_non_null(strstr(minimal, "m=8,t=1,"));
    /* a hash at the minimal cost needs rehashing at the default cost, and
     * still verifies (the cost is read from the string) */
    secret_set_pwhash_cost(0);
    assert_true(secret_password_needs_rehash(minimal));
    assert_int_equal(secret_password_verify(minimal, "cost-check-password"), 0);
    secret_set_pwhash_cost(1);
    assert_true(secret_password_needs_rehash("not a hash"));
    assert_true(secret_password_needs_rehash(NULL));
}

static void test_equal(void **state)
{
    (void)state;
    assert_true(secret_equal("abcdef", "abcdef", 6));
    assert_false(secret_equal("abcdef", "abcdeF", 6));
    assert_false(secret_equal("Abcdef", "abcdef", 6));
    assert_true(secret_equal("abcdef", "abcxyz", 3));
    assert_true(secret_equal("x", "y", 0));
    char h1[SECRET_HASH_HEX], h2[SECRET_HASH_HEX];
    secret_token_hash("wdt_a", h1);
    secret_token_hash("wdt_a", h2);
    assert_true(secret_equal(h1, h2, SECRET_HASH_HEX));
    secret_token_hash("wdt_b", h2);
    assert_false(secret_equal(h1, h2, SECRET_HASH_HEX));
}

static void expect_acceptable(const char *pw)
{
    const char *why = "unset";
    if (secret_password_acceptable(pw, &why) != 0)
        fail_msg("rejected \"%s\": %s", pw, why);
    assert_null(why);
}

static const char *expect_unacceptable(const char *pw)
{
    const char *why = NULL;
    if (secret_password_acceptable(pw, &why) == 0)
        fail_msg("accepted \"%s\"", pw != NULL ? pw : "(null)");
    assert_non_null(why);
    return why;
}

static void test_password_policy_length(void **state)
{
    (void)state;
    assert_non_null(strstr(expect_unacceptable("123456789"), "at least 10"));
    expect_acceptable("1234567890");
    expect_unacceptable("");
    assert_non_null(strstr(expect_unacceptable(NULL), "required"));
    /* code points, not bytes: 10 two-byte characters (20 bytes) pass, 9
     * two-byte characters (18 bytes) do not */
    expect_acceptable("äöüßéèêëïî");
    expect_unacceptable("äöüßéèêëï");
    /* 10 code points of 1-4 bytes */
    expect_acceptable("a\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"
                      "bcdefg"); /* a ä € 😀 bcdefg */
    expect_unacceptable("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                        "\xf0\x9f\x98\x80"); /* 9 emoji, 36 bytes */
    /* the byte limit: 1024 accepted, 1025 not */
    char big[1100];
    memset(big, 'a', 1024);
    big[1024] = '\0';
    expect_acceptable(big);
    big[1024] = 'a';
    big[1025] = '\0';
    assert_non_null(strstr(expect_unacceptable(big), "1024"));
    /* 1024 bytes of 2-byte characters: 512 code points, accepted */
    for (int i = 0; i < 1024; i += 2) {
        big[i] = '\xc3';
        big[i + 1] = '\xa4';
    }
    big[1024] = '\0';
    expect_acceptable(big);
    /* why may be NULL */
    assert_int_equal(secret_password_acceptable("short", NULL), -1);
    assert_int_equal(secret_password_acceptable("long enough", NULL), 0);
}

static void test_password_policy_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "abcdefghij\x80",             /* lone continuation byte */
        "abcdefghij\xc3",             /* truncated sequence */
        "abcdefghij\xc3(",            /* bad continuation */
        "abcdefghij\xc0\xaf",         /* overlong '/' */
        "abcdefghij\xe0\x80\xaf",     /* overlong, 3 bytes */
        "abcdefghij\xf0\x80\x80\xaf", /* overlong, 4 bytes */
        "abcdefghij\xed\xa0\x80",     /* UTF-16 surrogate U+D800 */
        "abcdefghij\xf4\x90\x80\x80", /* above U+10FFFF */
        "abcdefghij\xf5\x80\x80\x80", /* invalid lead byte */
        "abcdefghij\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_non_null(strstr(expect_unacceptable(bad[i]), "UTF-8"));
    /* the edges that are valid */
    expect_acceptable("abcdefghi\xc2\x80");         /* U+0080 */
    expect_acceptable("abcdefghi\xef\xbf\xbf");     /* U+FFFF */
    expect_acceptable("abcdefghi\xf4\x8f\xbf\xbf"); /* U+10FFFF */
    expect_acceptable("abcdefghi\xed\x9f\xbf");     /* U+D7FF */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_idempotent),
        cmocka_unit_test(test_token_format),
        cmocka_unit_test(test_token_buffer_size),
        cmocka_unit_test(test_token_unique),
        cmocka_unit_test(test_token_well_formed),
        cmocka_unit_test(test_token_hash),
        cmocka_unit_test(test_password_hash_verify),
        cmocka_unit_test(test_password_verify_malformed),
        cmocka_unit_test(test_password_cost),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_password_policy_length),
        cmocka_unit_test(test_password_policy_utf8),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
