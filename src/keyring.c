/* One implementation of the endpoint signing-key rules for both kinds. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "signet/ids.h"
#include "signet/json.h"
#include "signet/keyring.h"
#include "signet/log.h"

#define HINT_LEN	4

static void	forget_list(json_object *rec);

enum sig_err
keyring_new_key(struct new_key *k)
{
	enum sig_err	 rc;

	memset(k, 0, sizeof(*k));
	if ((rc = ids_new("sk_", 16, k->id, sizeof(k->id))) != SIG_OK)
		return rc;
	k->created_at = ids_now_us() / 1000000;
	return webhook_secret_new(k->secret);
}

void
keyring_forget(struct new_key *k)
{
	crypto_wipe(k->secret, sizeof(k->secret));
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

enum sig_err
keyring_add(const struct master_key *mk, json_object *rec,
    const struct new_key *k)
{
	json_object	*keys = keys_of(rec), *key;
	char		*sealed;
	enum sig_err	 rc;

	if (json_object_array_length(keys) >= KEYRING_MAX_KEYS)
		return SIG_EMAXKEYS;
	forget_list(rec);
	rc = crypto_seal(mk, k->id, k->secret, strlen(k->secret), &sealed);
	if (rc != SIG_OK)
		return rc;
	key = json_object_new_object();
	json_object_object_add(key, "id", json_object_new_string(k->id));
	json_object_object_add(key, "secret", json_object_new_string(sealed));
	json_object_object_add(key, "hint", json_object_new_string(
	    k->secret + strlen(k->secret) - HINT_LEN));
	json_object_object_add(key, "created_at",
	    json_object_new_int64(k->created_at));
	json_object_array_add(keys, key);
	free(sealed);
	return SIG_OK;
}

enum sig_err
keyring_remove(json_object *rec, const char *key_id)
{
	json_object	*keys = keys_of(rec);
	size_t		 i, n = json_object_array_length(keys);

	for (i = 0; i < n; i++) {
		if (strcmp(field(json_object_array_get_idx(keys, i), "id"),
		    key_id) != 0)
			continue;
		if (n == 1)
			return SIG_ELASTKEY;
		forget_list(rec);
		json_object_array_del_idx(keys, i, 1);
		return SIG_OK;
	}
	return SIG_ENOTFOUND;
}

static json_object *
key_view(const char *id, const char *hint, int64_t created_at)
{
	json_object	*o = json_object_new_object();
	char		 ts[32];

	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "key_hint", json_object_new_string(hint));
	json_object_object_add(o, "created_at",
	    json_object_new_string(ids_time(created_at, 0, ts)));
	return o;
}

/*
 * The key listing is kept on the record it was made from (json-c's
 * userdata of rec), with its serialisation: a record shared by the store's
 * cache then answers every listing without building or printing it again.
 * keyring_add and keyring_remove, which change the keys, drop it.
 */
static int
print_kept(json_object *jso, struct printbuf *pb, int level, int flags)
{
	const char	*text = json_object_get_userdata(jso);

	(void)level;
	(void)flags;
	return printbuf_memappend(pb, text, (int)strlen(text));
}

static void
put_kept(json_object *jso, void *list)
{
	(void)jso;
	json_object_put(list);
}

static void
forget_list(json_object *rec)
{
	json_object_set_userdata(rec, NULL, NULL);
}

json_object *
keyring_list(json_object *rec)
{
	json_object	*keys = keys_in(rec), *out, *k;
	const char	*s;
	char		*text;
	size_t		 i, n = nkeys(keys);

	if ((out = json_object_get_userdata(rec)) != NULL)
		return json_object_get(out);
	out = json_object_new_array();
	for (i = 0; i < n; i++) {
		k = json_object_array_get_idx(keys, i);
		json_object_array_add(out, key_view(field(k, "id"),
		    field(k, "hint"), json_i64(k, "created_at")));
	}
	/* The envelope's flags: json_envelope_ok prints data this way. */
	s = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL || (text = strdup(s)) == NULL)
		return out;
	json_object_set_serializer(out, print_kept, text,
	    json_object_free_userdata);
	json_object_set_userdata(rec, json_object_get(out), put_kept);
	return out;
}

json_object *
keyring_new_key_json(const struct new_key *k)
{
	json_object	*o;

	o = key_view(k->id, k->secret + strlen(k->secret) - HINT_LEN,
	    k->created_at);
	json_object_object_add(o, "signing_secret",
	    json_object_new_string(k->secret));
	return o;
}

/*
 * Unseal key i of rec into its HMAC key bytes.  Returns 0, or -1 (logged,
 * without any secret) when the record does not authenticate.
 */
static int
unseal(const struct master_key *mk, json_object *key, unsigned char *hk,
    size_t *hklen)
{
	/* A "whsec_" secret, its GCM tag, the NUL. */
	unsigned char	 secret[WEBHOOK_SECRET_LEN + 64];
	size_t		 n;
	int		 rc;

	if (crypto_open_buf(mk, field(key, "id"), field(key, "secret"), secret,
	    sizeof(secret) - 1, &n) != SIG_OK) {
		crypto_wipe(secret, sizeof(secret));
		log_msg(LOG_ERR, "signing key %s does not unseal: wrong master "
		    "key or damaged record", field(key, "id"));
		return -1;
	}
	secret[n] = '\0';
	rc = webhook_secret_key((const char *)secret, hk, hklen);
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

enum sig_err
keyring_sign(const struct master_key *mk, json_object *rec,
    const char *msg_id, int64_t timestamp, const char *payload, size_t plen,
    char **header)
{
	json_object	*keys = keys_in(rec);
	unsigned char	 hk[WEBHOOK_KEY_MAX];
	size_t		 i, n = nkeys(keys), hklen, len = 0, clen;
	char		*out, *content, buf[CONTENT_ON_STACK];

	*header = NULL;
	if ((content = webhook_content(msg_id, timestamp, payload, plen, buf,
	    sizeof(buf), &clen)) == NULL)
		return SIG_EINTERNAL;
	if ((out = malloc(n * (WEBHOOK_SIG_LEN + 1) + 1)) == NULL) {
		drop_content(content, buf);
		return SIG_EINTERNAL;
	}
	out[0] = '\0';
	for (i = n; i-- > 0;) {
		if (unseal(mk, json_object_array_get_idx(keys, i), hk,
		    &hklen) != 0) {
			drop_content(content, buf);
			free(out);
			return SIG_EINTERNAL;
		}
		if (len > 0)
			out[len++] = ' ';
		webhook_sign_content(hk, hklen, content, clen, out + len);
		crypto_wipe(hk, sizeof(hk));
		len += strlen(out + len);
	}
	drop_content(content, buf);
	*header = out;
	return SIG_OK;
}

int
keyring_verify(const struct master_key *mk, json_object *rec,
    const char *msg_id, int64_t timestamp, const char *payload, size_t plen,
    const char *sigheader, char *key_id)
{
	json_object	*keys = keys_in(rec), *key;
	unsigned char	 hk[WEBHOOK_KEY_MAX];
	char		 expected[WEBHOOK_SIG_LEN + 1], *content;
	char		 buf[CONTENT_ON_STACK];
	size_t		 i, n = nkeys(keys), hklen, clen;
	int		 found = 0;

	if ((content = webhook_content(msg_id, timestamp, payload, plen, buf,
	    sizeof(buf), &clen)) == NULL)
		return -1;
	/* Every key is tried, so timing says nothing about which matched. */
	for (i = n; i-- > 0;) {
		key = json_object_array_get_idx(keys, i);
		if (unseal(mk, key, hk, &hklen) != 0) {
			drop_content(content, buf);
			return -1;
		}
		webhook_sign_content(hk, hklen, content, clen, expected);
		crypto_wipe(hk, sizeof(hk));
		if (webhook_header_has(sigheader, expected) && !found) {
			found = 1;
			snprintf(key_id, IDS_MAX, "%s", field(key, "id"));
		}
	}
	drop_content(content, buf);
	return found;
}
