/*
 * Small named validators for every kind of field that comes from outside.
 * Each takes the value and its length (values may come from JSON strings,
 * which the JSON layer has already checked for embedded NULs).
 */
#ifndef SIGNET_VALIDATE_H
#define SIGNET_VALIDATE_H

#include <stddef.h>

/*
 * An absolute https:// URL with a non-empty host, at most 2048 bytes, with
 * no whitespace or control characters and a valid port if one is given.
 * Returns 1 when valid.
 */
int	valid_https_url(const char *s, size_t len);

/*
 * prefix followed by exactly nhex lowercase hex digits, e.g.
 * valid_prefixed_hex("ep_...", "ep_", 32).  Returns 1 when valid.
 */
int	valid_prefixed_hex(const char *s, const char *prefix, size_t nhex);

/* "ak_" + 24 lowercase hex: an API key id. */
int	valid_apikey_id(const char *s);

/*
 * A UUIDv7 in canonical form: 36 characters, lowercase hex, dashes at
 * 8-13-18-23, version nibble 7, variant bits 10 (RFC 9562).  Returns 1 when
 * valid.
 */
int	valid_uuid_v7(const char *s);

/* A workspace slug: [a-z0-9][a-z0-9-]{0,62}.  Returns 1 when valid. */
int	valid_slug(const char *s);

/* A string of 1..max bytes, valid as an identifier for signing (msg_id). */
int	valid_msg_id(const char *s, size_t len);

#endif
