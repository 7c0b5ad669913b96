/* login_guard: failed log-ins slow the guesser down without locking the
 * account owner out (docs/security.md "Lockout that protects without
 * locking out").
 *
 * Failures are counted per (user name, client address) and per client
 * address. The first LOGIN_PAIR_FREE failures of a pair, and the first
 * LOGIN_ADDR_FREE of an address (a shared ward workstation), cost nothing;
 * each further one makes that key wait before its next attempt, twice as
 * long as the time before (1 s, 2 s, 4 s ... at most 15 min). Attempts
 * during a wait are refused without checking the password and without
 * counting. A key is forgotten LOGIN_WINDOW_MS (an hour, longer than the
 * longest wait) after its last failure once its wait is over, never
 * earlier: failing on other names or from other
 * addresses cannot reset it. A success clears its pair (not its address).
 *
 * So someone hammering `physician` from one workstation waits longer and
 * longer, while the physician logging in from another workstation is not
 * slowed at all.
 *
 * The tables are fixed in size (set-associative); a key finds no place
 * only when every entry of its set is recent. Then a pair is not tracked
 * (its address still is), and an address that cannot be tracked must wait
 * LOGIN_OVERFLOW_MS: many thousand addresses failing at once is an attack
 * on the whole ward, and the server then fails closed for new addresses.
 * Thread-safe; `now` is monotonic ms. Private to server/api. */
#ifndef WARDD_LOGIN_GUARD_H
#define WARDD_LOGIN_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#define LOGIN_PAIR_FREE   5
#define LOGIN_ADDR_FREE   20
#define LOGIN_DELAY_MAX   (15 * 60 * 1000)
#define LOGIN_WINDOW_MS   (60 * 60 * 1000)
#define LOGIN_OVERFLOW_MS 1000

/* Milliseconds this (user, address) must still wait before an attempt; 0
 * when it may try now. */
int64_t login_guard_wait_ms(const char *user, const char *addr, int64_t now);
/* Records a failed attempt. Returns the wait it imposes on the pair or the
 * address (the larger), 0 when none: a non-zero result is a lockout. */
int64_t login_guard_failed(const char *user, const char *addr, int64_t now);
/* Records a success: the pair's failures are forgotten. */
void login_guard_succeeded(const char *user, const char *addr);
/* Forgets everything (tests). */
void login_guard_reset(void);

#endif
