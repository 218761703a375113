/* libFuzzer: the JWKS fetcher's URL parser and HTTP response-head parser. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signet/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 host[256], port[6], path[2049], reason[SIG_MSG_MAX], *s;
	long	 clen, max_age;
	int	 status, chunked, location;

	(void)fetch_parse_head((const char *)data, size, &status, &clen,
	    &chunked, &max_age, &location);
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)fetch_parse_url(s, host, port, path, reason);
	free(s);
	return 0;
}
