/* Segment-by-segment matching of a decoded path against the route table. */
#include "config.h"

#include <string.h>

#include "signet/router.h"

static int
split(char *path, char **seg)
{
	int	 n = 0;
	char	*p = path;

	if (*p != '/')
		return -1;
	while (*p == '/') {
		*p++ = '\0';
		if (n == ROUTER_MAX_SEGMENTS)
			return -1;
		seg[n++] = p;
		p += strcspn(p, "/");
	}
	/* "/" alone is one empty segment: treat as no segments. */
	if (n == 1 && *seg[0] == '\0')
		return 0;
	return n;
}

/* Whether pattern matches the segments; captures go to m when it does. */
static int
match_one(const char *pattern, char **seg, int nseg, struct route_match *m)
{
	const char	*p = pattern;
	size_t		 len;
	int		 i = 0, np = 0;

	while (*p == '/') {
		p++;
		len = strcspn(p, "/");
		if (i == nseg || *seg[i] == '\0')
			return 0;
		if (len == 2 && p[0] == '{' && p[1] == '}') {
			if (np == ROUTER_MAX_PARAMS)
				return 0;
			m->params[np++] = seg[i];
		} else if (strlen(seg[i]) != len || strncmp(seg[i], p, len) != 0)
			return 0;
		i++;
		p += len;
	}
	if (i != nseg)
		return 0;
	m->nparams = np;
	return 1;
}

enum sig_err
router_match(const struct route *routes, size_t n, const char *method,
    char *path, struct route_match *m)
{
	char		*seg[ROUTER_MAX_SEGMENTS];
	const char	*matched_pattern = NULL;
	size_t		 i;
	int		 nseg;

	memset(m, 0, sizeof(*m));
	if ((nseg = split(path, seg)) < 0)
		return SIG_ENOTFOUND;
	for (i = 0; i < n; i++) {
		struct route_match tmp;

		/*
		 * Once a pattern matched, only routes of that same pattern
		 * count: a literal route shadows a parametric one.
		 */
		if (matched_pattern != NULL &&
		    strcmp(routes[i].pattern, matched_pattern) != 0)
			continue;
		memset(&tmp, 0, sizeof(tmp));
		if (!match_one(routes[i].pattern, seg, nseg, &tmp))
			continue;
		matched_pattern = routes[i].pattern;
		if (strcmp(routes[i].method, method) == 0) {
			*m = tmp;
			m->route = &routes[i];
			return SIG_OK;
		}
		if (m->allow[0] != '\0')
			strncat(m->allow, ", ", sizeof(m->allow) -
			    strlen(m->allow) - 1);
		strncat(m->allow, routes[i].method, sizeof(m->allow) -
		    strlen(m->allow) - 1);
	}
	return matched_pattern != NULL ? SIG_EMETHOD : SIG_ENOTFOUND;
}
