/*
 * Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 30 s
 * steps, 6 digits for Signet's OTP header; base32 (RFC 4648 section 6) for
 * the enrolment secret.
 */
#ifndef SIGNET_TOTP_H
#define SIGNET_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_STEP	30
#define TOTP_DIGITS	6
#define TOTP_SECRET_LEN	20	/* bytes, as RFC 4226 recommends */

/* The code for counter (unix time / step) with digits digits. */
uint32_t	totp_code(const unsigned char *key, size_t klen,
		    uint64_t counter, int digits);

/*
 * Check a 6-digit code against the steps now-1, now, now+1.  A step at or
 * before last_used (the last step accepted for this key, 0 for none) never
 * matches, so each code works once.  Returns the matching step, or 0.
 * Every candidate is computed and compared in constant time.
 */
uint64_t	totp_check(const unsigned char *key, size_t klen,
		    const char *code, int64_t now, uint64_t last_used);

/* Base32 (no padding) of n bytes into out (room for (n * 8 + 4) / 5 + 1). */
void	totp_base32(const unsigned char *in, size_t n, char *out);

#endif
