/*
 * libFuzzer: the small parsers of outside input: signet.conf settings,
 * Standard Webhooks headers, RFC 3339 times, decimal numbers, URLs and
 * Origins, and the field validators.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signet/config.h"
#include "signet/ids.h"
#include "signet/validate.h"
#include "signet/webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	unsigned char	 key[WEBHOOK_KEY_MAX];
	char		*s, *eq, msg[SIG_MSG_MAX], host[VALID_DOMAIN_MAX + 1];
	struct url	 u;
	int64_t		 t;
	size_t		 klen;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if ((eq = strchr(s, '=')) != NULL) {
		*eq = '\0';
		(void)config_set(&cfg, s, eq + 1, msg);
		*eq = '=';
	}
	(void)webhook_header_has(s, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	(void)webhook_parse_timestamp(s, &t);
	(void)webhook_secret_key(s, key, &klen);
	(void)ids_parse_time(s, &t);
	(void)valid_https_url(s, strlen(s));
	(void)parse_decimal(s, strlen(s), 0, INT64_MAX, &t);
	(void)url_parse(s, strlen(s), &u);
	(void)url_origin_host(s, host, sizeof(host));
	(void)valid_domain(s, strlen(s));
	(void)valid_kid(s);
	(void)valid_uuid_v7(s);
	(void)valid_slug(s);
	(void)valid_msg_id(s, strlen(s));
	free(s);
	return 0;
}
