/* The one table from enum sig_err to HTTP status, code and message. */
#include "config.h"

#include <stddef.h>

#include "signet/err.h"

static const struct sig_err_info table[SIG_ERR_COUNT] = {
	[SIG_OK] = { 200, "OK", "OK" },
	[SIG_EINVAL] = { 400, "INVALID_REQUEST", "The request is invalid" },
	[SIG_EUNAUTH] = { 401, "UNAUTHORIZED", "Invalid or missing API key" },
	[SIG_EFORBIDDEN] = { 403, "FORBIDDEN",
	    "This API key's role does not allow this action" },
	[SIG_EOTP] = { 403, "INVALID_OTP", "A valid X-OTP header is required" },
	[SIG_EOTPLOCKED] = { 429, "OTP_LOCKED",
	    "Too many wrong OTP codes: try again later" },
	[SIG_ENOTFOUND] = { 404, "NOT_FOUND", "Not found" },
	[SIG_EENDPOINT] = { 404, "ENDPOINT_NOT_FOUND", "Endpoint not found" },
	[SIG_EMETHOD] = { 405, "METHOD_NOT_ALLOWED",
	    "Method not allowed on this route" },
	[SIG_EMAXKEYS] = { 409, "MAX_SIGNING_KEYS_REACHED",
	    "Endpoint already has the maximum of 2 signing keys" },
	[SIG_ELASTKEY] = { 409, "CANNOT_DELETE_LAST_SIGNING_KEY",
	    "Cannot delete the last signing key" },
	[SIG_ETOOLARGE] = { 413, "PAYLOAD_TOO_LARGE",
	    "Request body is larger than the limit" },
	[SIG_EMEDIA] = { 415, "UNSUPPORTED_MEDIA_TYPE",
	    "Request body must be application/json" },
	[SIG_EINTERNAL] = { 500, "INTERNAL_ERROR", "An internal error occurred" },
	[SIG_EUNAVAIL] = { 503, "SERVICE_UNAVAILABLE",
	    "Storage is busy, try again" },
	[SIG_EFETCH] = { 400, "JWKS_FETCH_FAILED", "The JWKS URI could not be "
	    "fetched" },
	[SIG_EKEYIDUSED] = { 400, "KEY_ID_ALREADY_USED", "This keyId has "
	    "already been used in this enterprise" },
	[SIG_EREVOKED] = { 409, "KEY_ALREADY_REVOKED", "The key is already "
	    "revoked" },
	[SIG_EWSEXISTS] = { 409, "WORKSPACE_EXISTS", "This workspace slug is "
	    "taken" },
	[SIG_ENOTACTIVE] = { 409, "KEY_NOT_ACTIVE", "Only an active key can be "
	    "rolled" },
	[SIG_EFULL] = { 503, "SERVICE_UNAVAILABLE", "storage is full" },
	[SIG_ENOTMASTER] = { 503, "SERVICE_UNAVAILABLE", "This site is a "
	    "replica: send writes to the master" },
	[SIG_ENOQUORUM] = { 503, "SERVICE_UNAVAILABLE", "The change was not "
	    "confirmed by a quorum of sites in time: it may not survive a "
	    "failover; read it back before retrying" },
	[SIG_ERETRY] = { 503, "SERVICE_UNAVAILABLE",
	    "Storage is busy, try again" },
	[SIG_EEXISTS] = { 409, "CONFLICT", "Already exists" },
};

const struct sig_err_info *
sig_err_info(enum sig_err e)
{
	if ((unsigned)e >= SIG_ERR_COUNT || table[e].code == NULL)
		return &table[SIG_EINTERNAL];
	return &table[e];
}
