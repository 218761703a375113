/*
 * JSON in and out: strict parsing of request bodies (docs/api.md,
 * Conventions),
 * typed field access with validation messages that name the field, and the
 * success and error envelopes.
 */
#ifndef SIGNET_JSON_H
#define SIGNET_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "signet/err.h"

#define JSON_MAX_DEPTH	32

/*
 * Parse len bytes of buf (need not be NUL-terminated) as one JSON value:
 * strict syntax, valid UTF-8, nesting at most JSON_MAX_DEPTH, no trailing
 * garbage, no NUL in any string or key.  An empty body parses as {}.  On
 * SIG_OK *out owns the value (json_object_put it); on SIG_EINVAL msg (of
 * SIG_MSG_MAX bytes) says what is wrong.
 */
enum sig_err	json_parse_body(const char *buf, size_t len, json_object **out,
		    char *msg);

/*
 * json_parse_body without its fast path: every body through json-c's
 * strict tokenizer.  Same results by contract; the unit tests and the fuzz
 * target compare the two.
 */
enum sig_err	json_parse_body_reference(const char *buf, size_t len,
		    json_object **out, char *msg);

/*
 * Parse a record Signet wrote itself (len bytes, not NUL-terminated):
 * syntax only (json_parse_body's fast path, else json-c with one tokenizer
 * kept per process), none of the checks for outside input.  Returns the value (owned by the caller) or NULL.
 */
json_object	*json_parse_trusted(const char *buf, size_t len);

/*
 * Check that body is an object whose keys are all in allowed (NULL
 * terminated).  SIG_EINVAL names the first unknown field or says the body is
 * not an object.
 */
enum sig_err	json_only_fields(json_object *body, const char *const *allowed,
		    char *msg);

/*
 * The string field name of obj, of at most maxlen bytes.  Absent or null:
 * *out = NULL, and SIG_EINVAL "name is required" when required.  A present
 * value of another type, or too long: SIG_EINVAL.  *out is borrowed from obj.
 */
enum sig_err	json_string_field(json_object *obj, const char *name,
		    int required, size_t maxlen, const char **out, size_t *outlen,
		    char *msg);

/*
 * The integer field name of obj in [min, max].  Absent or null: *present = 0
 * (SIG_EINVAL when required).  A float, a string or a number out of range:
 * SIG_EINVAL.
 */
enum sig_err	json_int_field(json_object *obj, const char *name, int required,
		    int64_t min, int64_t max, int64_t *out, int *present,
		    char *msg);

/*
 * Serialise the success envelope {"data": data, "meta": {"request_id":
 * rid[, "has_more": b]}} (has_more < 0 leaves it out).  Takes ownership of
 * data.  Returns a malloc'd NUL-terminated string, or NULL on allocation
 * failure.
 */
char	*json_envelope_ok(json_object *data, const char *rid, int has_more);

/* The error envelope for e with message msg (NULL: the default message). */
char	*json_envelope_err(enum sig_err e, const char *msg, const char *rid);

/* Plain compact serialisation of o, malloc'd; o is not consumed. */
char	*json_dump(json_object *o);

/*
 * The text json-c prints for o with JSON_C_TO_STRING_PLAIN, plus
 * JSON_C_TO_STRING_NOSLASHESCAPE when noslash, byte for byte, malloc'd
 * (NULL when out of memory); *len (if len is not NULL) gets its length.
 */
char	*json_print(json_object *o, int noslash, size_t *len);

/* The string member name of o, or NULL when absent or not a string. */
const char	*json_str(json_object *o, const char *name);

/* The integer member name of o, or 0 when absent. */
int64_t	json_i64(json_object *o, const char *name);

/* A new reference to member name of o, or NULL (json null) when absent. */
json_object	*json_copy(json_object *o, const char *name);

/*
 * The time member name of o (Unix seconds, or microseconds when us) as an
 * RFC 3339 string, or NULL (json null) when it is 0 or absent.
 */
json_object	*json_time(json_object *o, const char *name, int us);

/*
 * The string member of object o whose key equals name without regard to
 * case, as HTTP header names compare (RFC 9110 section 5.1); the first such
 * member in o's order.  NULL when there is none; NULL with *bad set to 1
 * when that member is not a string (*bad is left alone otherwise).  The
 * string belongs to o.  o must be an object, not NULL.
 */
const char	*json_string_nocase(json_object *o, const char *name,
		    int *bad);

/* A new json string, or json null when s is NULL. */
json_object	*json_str_or_null(const char *s);

#endif
