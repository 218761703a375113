/*
 * Socket options the libraries we use leave unset.  Berkeley DB 5.3's
 * repmgr leaves Nagle's algorithm on for its TCP connections: a small
 * message sent right after another (a commit record behind a log record,
 * an acknowledgement behind another) waits for the peer's delayed ACK,
 * about 40 ms, and every replicated write waited for it.  repmgr has no
 * setting for it, so a thread sets it from outside.
 */
#ifndef SIGNET_SOCKOPT_H
#define SIGNET_SOCKOPT_H

/*
 * Start, once per process (later calls do nothing), a detached thread that
 * turns TCP_NODELAY on for every TCP socket of the process, at start and
 * every 250 ms, as repmgr opens new connections when sites come and go.
 * Nothing else of the process minds: the FastCGI socket is a Unix one or a
 * listener, and a JWKS fetch gains from it too.  The thread inherits the
 * caller's signal mask: call it with every signal blocked.  A thread that
 * cannot start is logged (LOG_WARN), nothing more.
 */
void	sockopt_nodelay_start(void);

#endif
