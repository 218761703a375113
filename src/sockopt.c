/* The TCP_NODELAY sweeping thread (sockopt.h says why). */
#include "config.h"

#include <pthread.h>
#include <time.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "signet/log.h"
#include "signet/sockopt.h"

#define NODELAY_EVERY_MS	250
#define NODELAY_MAX_FD		1024

static void	 nodelay_sweep(void);
static void	*nodelay_thread(void *);

static void
nodelay_sweep(void)
{
	struct sockaddr_storage ss;
	socklen_t	 len;
	int		 fd, type, one = 1, on;

	for (fd = 0; fd < NODELAY_MAX_FD; fd++) {
		len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
		    type != SOCK_STREAM)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		len = sizeof(on);
		if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0 &&
		    on == 0)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
	}
}

static void *
nodelay_thread(void *arg)
{
	struct timespec	 ts = { 0, NODELAY_EVERY_MS * 1000000L };

	(void)arg;
	for (;;) {
		nodelay_sweep();
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void
sockopt_nodelay_start(void)
{
	static int	 started;
	pthread_t	 th;
	pthread_attr_t	 attr;

	if (started)
		return;
	started = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&th, &attr, nodelay_thread, NULL) != 0)
		log_msg(LOG_WARN, "replication: no TCP_NODELAY thread");
	pthread_attr_destroy(&attr);
}
