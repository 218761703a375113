/* libFuzzer: REQUEST_URI splitting, the router and query strings. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signet/routes.h"
#include "signet/http.h"
#include "signet/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "DELETE",
	    "PATCH", "get" };
	struct route_match m;
	char		*uri, *path, *query, v[128];

	if (size < 1 || (uri = malloc(size + 1)) == NULL)
		return 0;
	memcpy(uri, data + 1, size - 1);
	uri[size - 1] = '\0';
	if (http_split_uri(uri, &path, &query) == SIG_OK) {
		(void)router_match(app_routes, app_nroutes,
		    methods[data[0] % 5], path, &m);
		(void)http_query_get(query, "limit", v, sizeof(v));
		(void)http_query_get(query, "starting_after", v, sizeof(v));
		free(path);
		free(query);
	}
	(void)http_is_json_type(uri);
	free(uri);
	return 0;
}
