/*
 * One error type for the whole program.  SIG_OK is zero; every other value
 * maps, through one table in err.c, to an HTTP status, a machine code and a
 * default message (docs/api.md, Error codes).
 */
#ifndef SIGNET_ERR_H
#define SIGNET_ERR_H

enum sig_err {
	SIG_OK = 0,
	SIG_EINVAL,		/* 400 INVALID_REQUEST */
	SIG_EUNAUTH,		/* 401 UNAUTHORIZED */
	SIG_EFORBIDDEN,		/* 403 FORBIDDEN */
	SIG_EOTP,		/* 403 INVALID_OTP */
	SIG_EOTPLOCKED,		/* 429 OTP_LOCKED */
	SIG_ENOTFOUND,		/* 404 NOT_FOUND */
	SIG_EENDPOINT,		/* 404 ENDPOINT_NOT_FOUND */
	SIG_EMETHOD,		/* 405 METHOD_NOT_ALLOWED */
	SIG_EMAXKEYS,		/* 409 MAX_SIGNING_KEYS_REACHED */
	SIG_ELASTKEY,		/* 409 CANNOT_DELETE_LAST_SIGNING_KEY */
	SIG_ETOOLARGE,		/* 413 PAYLOAD_TOO_LARGE */
	SIG_EMEDIA,		/* 415 UNSUPPORTED_MEDIA_TYPE */
	SIG_EINTERNAL,		/* 500 INTERNAL_ERROR */
	SIG_EUNAVAIL,		/* 503 SERVICE_UNAVAILABLE */
	SIG_EFETCH,		/* 400 JWKS_FETCH_FAILED */
	SIG_EKEYIDUSED,		/* 400 KEY_ID_ALREADY_USED */
	SIG_EREVOKED,		/* 409 KEY_ALREADY_REVOKED */
	SIG_EWSEXISTS,		/* 409 WORKSPACE_EXISTS */
	SIG_ENOTACTIVE,		/* 409 KEY_NOT_ACTIVE */
	SIG_ENOTMASTER,		/* 503 SERVICE_UNAVAILABLE: a replica refuses writes */
	SIG_EFULL,		/* 503 SERVICE_UNAVAILABLE: storage is full */
	SIG_ENOQUORUM,		/* 503 SERVICE_UNAVAILABLE: too few sites acknowledged */
	SIG_ERETRY,		/* internal: the transaction lost a deadlock, run it again */
	SIG_EEXISTS,		/* internal: a unique key is already taken */
	SIG_ERR_COUNT
};

/* Room for a message that names the offending field. */
#define SIG_MSG_MAX	256

struct sig_err_info {
	int		 status;
	const char	*code;
	const char	*message;	/* default message when the caller gives none */
};

/*
 * The status, code and default message of an error.  Never NULL: values out
 * of range answer as SIG_EINTERNAL.
 */
const struct sig_err_info *sig_err_info(enum sig_err);

#endif
