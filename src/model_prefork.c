/*
 * model_prefork.c: --model=prefork (placeholder until the pool lands).
 */
#include "config.h"

#include "log.h"
#include "server.h"

int
model_prefork_run(struct server *srv)
{
	log_warnx("the prefork model is not built yet: use --model=fork");
	(void)srv;
	return 64;
}
