/* libFuzzer: request bodies through the strict JSON parser and field checks. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "signet/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fields[] = { "url", "description", "payload",
	    NULL };
	json_object	*o;
	const char	*s;
	size_t		 n;
	int64_t		 v;
	int		 present;
	char		 msg[SIG_MSG_MAX];

	if (json_parse_body((const char *)data, size, &o, msg) != SIG_OK)
		return 0;
	(void)json_only_fields(o, fields, msg);
	if (json_object_is_type(o, json_type_object)) {
		(void)json_string_field(o, "url", 1, 2048, &s, &n, msg);
		(void)json_int_field(o, "timestamp", 0, 0, INT64_MAX, &v,
		    &present, msg);
	}
	json_object_put(o);
	return 0;
}
