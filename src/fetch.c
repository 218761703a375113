/* Placeholder until the fetcher lands: every fetch fails. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "signet/fetch.h"

enum sig_err
fetch_https(const char *url, const struct fetch_opts *opts,
    struct fetch_result *res)
{
	(void)url;
	(void)opts;
	memset(res, 0, sizeof(*res));
	snprintf(res->reason, sizeof(res->reason), "fetching is not built yet");
	return SIG_EFETCH;
}

const char *
fetch_address_class(const struct sockaddr *sa)
{
	(void)sa;
	return "unknown";
}

int
fetch_parse_url(const char *url, char *host, char *port, char *path,
    char *reason)
{
	(void)url;
	(void)host;
	(void)port;
	(void)path;
	snprintf(reason, SIG_MSG_MAX, "not built yet");
	return -1;
}

long
fetch_parse_head(const char *buf, size_t len, int *status,
    long *content_length, int *chunked, long *max_age, int *location_seen)
{
	(void)buf;
	(void)len;
	(void)status;
	(void)content_length;
	(void)chunked;
	(void)max_age;
	(void)location_seen;
	return -1;
}
