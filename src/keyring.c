/* One implementation of the endpoint signing-key rules for both kinds. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "signet/b64.h"
#include "signet/ids.h"
#include "signet/json.h"
#include "signet/keyring.h"
#include "signet/log.h"
#include "signet/usage.h"

#define HINT_LEN	4
#define PUBLIC_PREFIX	"whpk_"

static const char *const type_names[] = {
	[KEY_HMAC] = "hmac-sha256",
	[KEY_ED25519] = "ed25519",
};

static void	forget_list(json_object *rec);

int
keyring_type_parse(const char *s, enum keyring_type *t)
{
	size_t	 i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(s, type_names[i]) == 0) {
			*t = (enum keyring_type)i;
			return 0;
		}
	return -1;
}

enum sig_err
keyring_new_key(struct new_key *k, enum keyring_type type, int64_t expires_at)
{
	unsigned char	 pub[CRYPTO_ED25519_LEN];
	enum sig_err	 rc;

	memset(k, 0, sizeof(*k));
	k->type = type;
	k->expires_at = expires_at;
	if ((rc = ids_new("sk_", 16, k->id, sizeof(k->id))) != SIG_OK)
		return rc;
	k->created_at = ids_now_us() / 1000000;
	if (type == KEY_HMAC)
		return webhook_secret_new(k->secret);
	if ((rc = crypto_ed25519_new(k->seed, pub)) != SIG_OK)
		return rc;
	memcpy(k->public_key, PUBLIC_PREFIX, sizeof(PUBLIC_PREFIX) - 1);
	(void)b64_encode(pub, sizeof(pub), k->public_key +
	    sizeof(PUBLIC_PREFIX) - 1);
	return SIG_OK;
}

void
keyring_forget(struct new_key *k)
{
	crypto_wipe(k->secret, sizeof(k->secret));
	crypto_wipe(k->seed, sizeof(k->seed));
}

static json_object *
keys_of(json_object *rec)
{
	json_object	*keys;

	if (!json_object_object_get_ex(rec, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		keys = json_object_new_array();
		json_object_object_add(rec, "keys", keys);
	}
	return keys;
}

/* The keys of a record that is only read (it may be shared): NULL if none. */
static json_object *
keys_in(json_object *rec)
{
	json_object	*keys;

	return json_object_object_get_ex(rec, "keys", &keys) &&
	    json_object_is_type(keys, json_type_array) ? keys : NULL;
}

static size_t
nkeys(json_object *keys)
{
	return keys != NULL ? json_object_array_length(keys) : 0;
}

/* Records are written only by this module; a missing member reads as "". */
static const char *
field(json_object *o, const char *name)
{
	const char	*v = json_str(o, name);

	return v != NULL ? v : "";
}

/* Keys stored before there were types are HMAC keys. */
static enum keyring_type
type_of(json_object *key)
{
	return strcmp(field(key, "type"), type_names[KEY_ED25519]) == 0 ?
	    KEY_ED25519 : KEY_HMAC;
}

static int
is_current(json_object *key, int64_t now)
{
	int64_t	 exp = json_i64(key, "expires_at");

	return exp == 0 || now < exp;
}

/* How many current keys keys has, and how many of them never expire. */
static size_t
count_current(json_object *keys, int64_t now, size_t *lasting)
{
	json_object	*key;
	size_t		 i, n = 0;

	*lasting = 0;
	for (i = 0; i < nkeys(keys); i++) {
		key = json_object_array_get_idx(keys, i);
		if (!is_current(key, now))
			continue;
		n++;
		if (json_i64(key, "expires_at") == 0)
			(*lasting)++;
	}
	return n;
}

/* The index of the current key key_id in keys, or -1. */
static long
find_current(json_object *keys, const char *key_id, int64_t now)
{
	json_object	*key;
	size_t		 i;

	for (i = 0; i < nkeys(keys); i++) {
		key = json_object_array_get_idx(keys, i);
		if (strcmp(field(key, "id"), key_id) == 0 &&
		    is_current(key, now))
			return (long)i;
	}
	return -1;
}

/*
 * The stored entry of k (its public members; sealed, when not NULL, is the
 * sealed secret): what a key's view is made from.
 */
static json_object *
entry(const struct new_key *k, const char *sealed)
{
	json_object	*key = json_object_new_object();
	const char	*text = k->type == KEY_HMAC ? k->secret : k->public_key;
	/* An HMAC secret's last characters; a public key's before the '='. */
	size_t		 end = strlen(text) - (k->type == KEY_HMAC ? 0 : 1);

	json_object_object_add(key, "id", json_object_new_string(k->id));
	json_object_object_add(key, "type",
	    json_object_new_string(type_names[k->type]));
	if (sealed != NULL)
		json_object_object_add(key, "secret",
		    json_object_new_string(sealed));
	json_object_object_add(key, "hint", json_object_new_string_len(text +
	    end - HINT_LEN, HINT_LEN));
	json_object_object_add(key, "created_at",
	    json_object_new_int64(k->created_at));
	json_object_object_add(key, "expires_at",
	    json_object_new_int64(k->expires_at));
	if (k->type == KEY_ED25519)
		json_object_object_add(key, "public_key",
		    json_object_new_string(k->public_key));
	return key;
}

/* Seal k into a key entry of rec. */
static enum sig_err
append(const struct master_key *mk, json_object *rec, const struct new_key *k)
{
	char		*sealed;
	enum sig_err	 rc;

	if (k->type == KEY_HMAC)
		rc = crypto_seal(mk, k->id, k->secret, strlen(k->secret),
		    &sealed);
	else
		rc = crypto_seal(mk, k->id, k->seed, sizeof(k->seed), &sealed);
	if (rc != SIG_OK)
		return rc;
	forget_list(rec);
	json_object_array_add(keys_of(rec), entry(k, sealed));
	free(sealed);
	return SIG_OK;
}

enum sig_err
keyring_add(const struct master_key *mk, json_object *rec,
    const struct new_key *k, int64_t now)
{
	size_t	 lasting;

	if (count_current(keys_of(rec), now, &lasting) >= KEYRING_MAX_KEYS)
		return SIG_EMAXKEYS;
	return append(mk, rec, k);
}

enum sig_err
keyring_rotate(const struct master_key *mk, json_object *rec,
    const struct new_key *k, int64_t grace, int64_t now)
{
	json_object	*keys = keys_of(rec), *key = NULL;
	size_t		 i, lasting;
	enum sig_err	 rc;

	if (count_current(keys, now, &lasting) > 1)
		return SIG_EMAXKEYS;
	for (i = 0; i < nkeys(keys); i++) {
		key = json_object_array_get_idx(keys, i);
		if (is_current(key, now))
			break;
	}
	if ((rc = append(mk, rec, k)) != SIG_OK)
		return rc;
	if (i < nkeys(keys))
		json_object_object_add(key, "expires_at",
		    json_object_new_int64(now + grace));
	return SIG_OK;
}

enum keyring_type
keyring_current_type(json_object *rec, int64_t now)
{
	json_object	*keys = keys_in(rec), *key;
	size_t		 i;

	for (i = nkeys(keys); i-- > 0;) {
		key = json_object_array_get_idx(keys, i);
		if (is_current(key, now))
			return type_of(key);
	}
	return KEY_HMAC;
}

/* Whether key i going away (or getting an expiry) leaves a lasting key. */
static int
leaves_lasting(json_object *keys, long i, int64_t now)
{
	size_t	 lasting;

	(void)count_current(keys, now, &lasting);
	return lasting > 1 || json_i64(json_object_array_get_idx(keys,
	    (size_t)i), "expires_at") != 0;
}

enum sig_err
keyring_remove(json_object *rec, const char *key_id, int64_t now)
{
	json_object	*keys = keys_of(rec);
	long		 i;

	if ((i = find_current(keys, key_id, now)) < 0)
		return SIG_ENOTFOUND;
	if (!leaves_lasting(keys, i, now))
		return SIG_ELASTKEY;
	forget_list(rec);
	json_object_array_del_idx(keys, (size_t)i, 1);
	return SIG_OK;
}

enum sig_err
keyring_set_expiry(json_object *rec, const char *key_id, int64_t expires_at,
    int64_t now)
{
	json_object	*keys = keys_of(rec);
	long		 i;

	if ((i = find_current(keys, key_id, now)) < 0)
		return SIG_ENOTFOUND;
	if (expires_at != 0 && !leaves_lasting(keys, i, now))
		return SIG_ELASTKEY;
	forget_list(rec);
	json_object_object_add(json_object_array_get_idx(keys, (size_t)i),
	    "expires_at", json_object_new_int64(expires_at));
	return SIG_OK;
}

json_object *
keyring_expired(json_object *rec, int64_t now)
{
	json_object	*keys = keys_in(rec), *key, *ids = NULL;
	size_t		 i;

	for (i = nkeys(keys); i-- > 0;) {
		key = json_object_array_get_idx(keys, i);
		if (is_current(key, now))
			continue;
		if (ids == NULL)
			ids = json_object_new_array();
		json_object_array_add(ids, json_object_new_string(field(key,
		    "id")));
		json_object_array_del_idx(keys, i, 1);
	}
	if (ids != NULL)
		forget_list(rec);
	return ids;
}

int
keyring_mark_verified(json_object *rec, const char *key_id, int64_t at_us)
{
	json_object	*keys = keys_in(rec), *key;
	size_t		 i;

	for (i = 0; i < nkeys(keys); i++) {
		key = json_object_array_get_idx(keys, i);
		if (strcmp(field(key, "id"), key_id) != 0)
			continue;
		if (json_i64(key, "last_verified_at") >= at_us / 1000000)
			return 0;
		forget_list(rec);
		json_object_object_add(key, "last_verified_at",
		    json_object_new_int64(at_us / 1000000));
		return 1;
	}
	return -1;
}

/* When key last verified, in seconds: the record's or the table's. */
static int64_t
last_verified(json_object *key)
{
	int64_t	 stored = json_i64(key, "last_verified_at");
	int64_t	 seen = usage_seen(field(key, "id")) / 1000000;

	return seen > stored ? seen : stored;
}

int64_t
keyring_next_expiry(json_object *rec)
{
	json_object	*keys = keys_in(rec);
	int64_t		 exp, next = 0;
	size_t		 i;

	for (i = 0; i < nkeys(keys); i++) {
		exp = json_i64(json_object_array_get_idx(keys, i), "expires_at");
		if (exp != 0 && (next == 0 || exp < next))
			next = exp;
	}
	return next;
}

/* A time of a key, or null for 0. */
static json_object *
time_or_null(int64_t t)
{
	char	 ts[32];

	return t != 0 ? json_object_new_string(ids_time(t, 0, ts)) : NULL;
}

static json_object *
key_view(json_object *key)
{
	json_object	*o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(field(key,
	    "id")));
	json_object_object_add(o, "type",
	    json_object_new_string(type_names[type_of(key)]));
	json_object_object_add(o, "key_hint", json_object_new_string(field(key,
	    "hint")));
	json_object_object_add(o, "created_at",
	    time_or_null(json_i64(key, "created_at")));
	json_object_object_add(o, "expires_at",
	    time_or_null(json_i64(key, "expires_at")));
	json_object_object_add(o, "last_verified_at",
	    time_or_null(last_verified(key)));
	if (type_of(key) == KEY_ED25519)
		json_object_object_add(o, "public_key",
		    json_object_new_string(field(key, "public_key")));
	return o;
}

/*
 * The key listing is kept on the record it was made from (json-c's
 * userdata of rec), with its serialisation, until the next expiry among
 * its keys: a record shared by the store's cache then answers every
 * listing without building or printing it again.  Whatever changes the
 * keys drops it.
 */
struct kept {
	json_object	*list;
	int64_t		 until;		/* 0: for ever */
	int64_t		 verified;	/* the sum of the keys' last_verified */
};

/* The sum of the last verification times of rec's current keys. */
static int64_t
verified_sum(json_object *keys, int64_t now)
{
	json_object	*key;
	int64_t		 sum = 0;
	size_t		 i;

	for (i = 0; i < nkeys(keys); i++) {
		key = json_object_array_get_idx(keys, i);
		if (is_current(key, now))
			sum += last_verified(key);
	}
	return sum;
}

static int
print_kept(json_object *jso, struct printbuf *pb, int level, int flags)
{
	const char	*text = json_object_get_userdata(jso);

	(void)level;
	(void)flags;
	return printbuf_memappend(pb, text, (int)strlen(text));
}

static void
put_kept(json_object *jso, void *arg)
{
	struct kept	*k = arg;

	(void)jso;
	json_object_put(k->list);
	free(k);
}

static void
forget_list(json_object *rec)
{
	json_object_set_userdata(rec, NULL, NULL);
}

json_object *
keyring_list(json_object *rec, int64_t now)
{
	json_object	*keys = keys_in(rec), *out, *key;
	struct kept	*k = json_object_get_userdata(rec);
	const char	*s;
	char		*text;
	int64_t		 exp, until = 0, verified = verified_sum(keys, now);
	size_t		 i, n = nkeys(keys);

	/* The times are read before the views: a later verify rebuilds. */
	if (k != NULL && (k->until == 0 || now < k->until) &&
	    k->verified == verified)
		return json_object_get(k->list);
	out = json_object_new_array();
	for (i = 0; i < n; i++) {
		key = json_object_array_get_idx(keys, i);
		if (!is_current(key, now))
			continue;
		json_object_array_add(out, key_view(key));
		exp = json_i64(key, "expires_at");
		if (exp != 0 && (until == 0 || exp < until))
			until = exp;
	}
	/* The envelope's flags: json_envelope_ok prints data this way. */
	s = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || (text = strdup(s)) == NULL)
		return out;
	if ((k = malloc(sizeof(*k))) == NULL) {
		free(text);
		return out;
	}
	json_object_set_serializer(out, print_kept, text,
	    json_object_free_userdata);
	k->list = json_object_get(out);
	k->until = until;
	k->verified = verified;
	json_object_set_userdata(rec, k, put_kept);
	return out;
}

json_object *
keyring_get(json_object *rec, const char *key_id, int64_t now)
{
	json_object	*keys = keys_in(rec);
	long		 i;

	if ((i = find_current(keys, key_id, now)) < 0)
		return NULL;
	return key_view(json_object_array_get_idx(keys, (size_t)i));
}

json_object *
keyring_new_key_json(const struct new_key *k)
{
	json_object	*o, *key = entry(k, NULL);

	o = key_view(key);
	json_object_put(key);
	if (k->type == KEY_HMAC)
		json_object_object_add(o, "signing_secret",
		    json_object_new_string(k->secret));
	return o;
}

/* The 32 bytes of an Ed25519 key's public_key into pub: 0, or -1. */
static int
public_bytes(json_object *key, unsigned char *pub)
{
	const char	*s = field(key, "public_key");
	unsigned char	 buf[CRYPTO_ED25519_LEN + 3];
	size_t		 n;

	if (strncmp(s, PUBLIC_PREFIX, sizeof(PUBLIC_PREFIX) - 1) != 0 ||
	    b64_decode(s + sizeof(PUBLIC_PREFIX) - 1, strlen(s) -
	    (sizeof(PUBLIC_PREFIX) - 1), buf, &n) != 0 ||
	    n != CRYPTO_ED25519_LEN)
		return -1;
	memcpy(pub, buf, CRYPTO_ED25519_LEN);
	return 0;
}

json_object *
keyring_jwks(json_object *rec, int64_t now)
{
	json_object	*keys = keys_in(rec), *key, *jwk, *out;
	unsigned char	 pub[CRYPTO_ED25519_LEN];
	char		 x[64];
	size_t		 i;

	out = json_object_new_array();
	for (i = nkeys(keys); i-- > 0;) {
		key = json_object_array_get_idx(keys, i);
		if (!is_current(key, now) || type_of(key) != KEY_ED25519 ||
		    public_bytes(key, pub) != 0)
			continue;
		(void)b64url_encode(pub, sizeof(pub), x);
		jwk = json_object_new_object();
		json_object_object_add(jwk, "kty", json_object_new_string("OKP"));
		json_object_object_add(jwk, "crv",
		    json_object_new_string("Ed25519"));
		json_object_object_add(jwk, "x", json_object_new_string(x));
		json_object_object_add(jwk, "kid", json_object_new_string(field(key,
		    "id")));
		json_object_object_add(jwk, "alg", json_object_new_string("EdDSA"));
		json_object_object_add(jwk, "use", json_object_new_string("sig"));
		json_object_array_add(out, jwk);
	}
	return out;
}

/*
 * Unseal key's secret into sk (cap bytes): an HMAC key's bytes, or an
 * Ed25519 key's 32-byte seed.  Returns 0, or -1 (logged, without any
 * secret) when the record does not authenticate.
 */
static int
unseal(const struct master_key *mk, json_object *key, unsigned char *sk,
    size_t *sklen)
{
	/* A "whsec_" secret, its GCM tag, the NUL. */
	unsigned char	 secret[WEBHOOK_SECRET_LEN + 64];
	size_t		 n;
	int		 rc = 0;

	if (crypto_open_buf(mk, field(key, "id"), field(key, "secret"), secret,
	    sizeof(secret) - 1, &n) != SIG_OK) {
		crypto_wipe(secret, sizeof(secret));
		log_msg(LOG_ERR, "signing key %s does not unseal: wrong master "
		    "key or damaged record", field(key, "id"));
		return -1;
	}
	if (type_of(key) == KEY_ED25519) {
		if (n != CRYPTO_ED25519_LEN)
			rc = -1;
		else {
			memcpy(sk, secret, n);
			*sklen = n;
		}
	} else {
		secret[n] = '\0';
		rc = webhook_secret_key((const char *)secret, sk, sklen);
	}
	crypto_wipe(secret, sizeof(secret));
	return rc;
}

/*
 * The signed bytes of a message go to the stack when they fit: a payload
 * of a KiB or more was the one large allocation of a sign request.
 */
#define CONTENT_ON_STACK	4096

static void
drop_content(char *content, const char *buf)
{
	if (content != buf)
		free(content);
}

/* The entry of one key for the signed bytes into out; 0, or -1. */
static int
sign_one(const struct master_key *mk, json_object *key, const char *content,
    size_t clen, char *out)
{
	unsigned char	 sk[WEBHOOK_KEY_MAX], pub[CRYPTO_ED25519_LEN];
	unsigned char	 sig[WEBHOOK_ASIG_BYTES];
	size_t		 sklen;
	int		 rc = 0;

	if (unseal(mk, key, sk, &sklen) != 0)
		return -1;
	if (type_of(key) == KEY_HMAC)
		webhook_sign_content(sk, sklen, content, clen, out);
	else if (public_bytes(key, pub) != 0 ||
	    crypto_ed25519_sign(sk, pub, content, clen, sig) != SIG_OK)
		rc = -1;
	else
		webhook_v1a_entry(sig, out);
	crypto_wipe(sk, sizeof(sk));
	return rc;
}

enum sig_err
keyring_sign(const struct master_key *mk, json_object *rec,
    const char *msg_id, int64_t timestamp, const char *payload, size_t plen,
    int64_t now, char **header)
{
	json_object	*keys = keys_in(rec), *key;
	size_t		 i, n = nkeys(keys), len = 0, clen;
	char		*out, *content, buf[CONTENT_ON_STACK];

	*header = NULL;
	if ((content = webhook_content(msg_id, timestamp, payload, plen, buf,
	    sizeof(buf), &clen)) == NULL)
		return SIG_EINTERNAL;
	if ((out = malloc(n * (WEBHOOK_ASIG_LEN + 1) + 1)) == NULL) {
		drop_content(content, buf);
		return SIG_EINTERNAL;
	}
	out[0] = '\0';
	for (i = n; i-- > 0;) {
		key = json_object_array_get_idx(keys, i);
		if (!is_current(key, now))
			continue;
		if (len > 0)
			out[len++] = ' ';
		if (sign_one(mk, key, content, clen, out + len) != 0) {
			drop_content(content, buf);
			free(out);
			return SIG_EINTERNAL;
		}
		len += strlen(out + len);
	}
	drop_content(content, buf);
	*header = out;
	return SIG_OK;
}

/* Whether a v1a entry of sigheader is key's signature of content. */
static int
verify_v1a(json_object *key, const char *content, size_t clen,
    const char *sigheader)
{
	unsigned char	 pub[CRYPTO_ED25519_LEN], sig[WEBHOOK_ASIG_BYTES];
	const char	*p = sigheader;
	int		 found = 0;

	if (public_bytes(key, pub) != 0)
		return 0;
	while (webhook_v1a_next(&p, sig))
		if (crypto_ed25519_verify(pub, content, clen, sig))
			found = 1;
	return found;
}

int
keyring_verify(const struct master_key *mk, json_object *rec,
    const char *msg_id, int64_t timestamp, const char *payload, size_t plen,
    const char *sigheader, int64_t now, char *key_id)
{
	json_object	*keys = keys_in(rec), *key;
	unsigned char	 hk[WEBHOOK_KEY_MAX];
	char		 expected[WEBHOOK_SIG_LEN + 1], *content;
	char		 buf[CONTENT_ON_STACK];
	size_t		 i, n = nkeys(keys), hklen, clen;
	int		 found = 0, match;

	if ((content = webhook_content(msg_id, timestamp, payload, plen, buf,
	    sizeof(buf), &clen)) == NULL)
		return -1;
	/* Every key is tried, so timing says nothing about which matched. */
	for (i = n; i-- > 0;) {
		key = json_object_array_get_idx(keys, i);
		if (!is_current(key, now))
			continue;
		if (type_of(key) == KEY_ED25519)
			match = verify_v1a(key, content, clen, sigheader);
		else {
			if (unseal(mk, key, hk, &hklen) != 0) {
				drop_content(content, buf);
				return -1;
			}
			webhook_sign_content(hk, hklen, content, clen,
			    expected);
			crypto_wipe(hk, sizeof(hk));
			match = webhook_header_has(sigheader, expected);
		}
		if (match && !found) {
			found = 1;
			snprintf(key_id, IDS_MAX, "%s", field(key, "id"));
		}
	}
	drop_content(content, buf);
	return found;
}
