/*
 * The handlers, one file per resource, named in the route table
 * (routes.c).  app.c authenticates, parses the body and picks the handler;
 * the handler validates its path ids and fields, calls its resource module
 * through ctx_run, and leaves a result or an error message in the ctx.
 */
#ifndef SIGNET_HANDLERS_H
#define SIGNET_HANDLERS_H

#include "signet/ctx.h"
#include "signet/err.h"

/* handler_health.c */
enum sig_err	h_healthz(struct ctx *);
enum sig_err	h_metrics(struct ctx *);

/*
 * handler_endpoints.c: endpoints and their signing keys, for both kinds;
 * the route's arg names the kind.
 */
struct endpoint_kind;
extern const struct endpoint_kind endpoint_outbound, endpoint_inbound;

enum sig_err	h_endpoint_create(struct ctx *);
enum sig_err	h_endpoint_list(struct ctx *);
enum sig_err	h_endpoint_get(struct ctx *);
enum sig_err	h_endpoint_delete(struct ctx *);
enum sig_err	h_signing_key_create(struct ctx *);
enum sig_err	h_signing_key_list(struct ctx *);
enum sig_err	h_signing_key_delete(struct ctx *);
enum sig_err	h_signing_key_get(struct ctx *);
enum sig_err	h_signing_key_update(struct ctx *);
enum sig_err	h_signing_key_rotate(struct ctx *);
enum sig_err	h_endpoint_jwks(struct ctx *);
enum sig_err	h_endpoint_sign(struct ctx *);
enum sig_err	h_endpoint_verify(struct ctx *);

/* handler_audit.c: GET /v1/audit-events. */
enum sig_err	h_audit_list(struct ctx *);

/* handler_enterprises.c: enterprises and their registered public keys. */
enum sig_err	h_enterprise_create(struct ctx *);
enum sig_err	h_enterprise_list(struct ctx *);
enum sig_err	h_enterprise_get(struct ctx *);
enum sig_err	h_ent_key_register(struct ctx *);
enum sig_err	h_ent_key_list(struct ctx *);
enum sig_err	h_ent_key_get(struct ctx *);
enum sig_err	h_ent_key_revoke(struct ctx *);
enum sig_err	h_ent_verify(struct ctx *);

/* handler_workspaces.c: workspaces and their key pairs. */
enum sig_err	h_workspace_create(struct ctx *);
enum sig_err	h_workspace_list(struct ctx *);
enum sig_err	h_wskey_create(struct ctx *);
enum sig_err	h_wskey_list(struct ctx *);
enum sig_err	h_wskey_get(struct ctx *);
enum sig_err	h_wskey_update(struct ctx *);
enum sig_err	h_wskey_roll(struct ctx *);
enum sig_err	h_wskey_delete(struct ctx *);
enum sig_err	h_ws_jwks(struct ctx *);
enum sig_err	h_ws_verify_token(struct ctx *);

#endif
