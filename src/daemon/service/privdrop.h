/*
 * privdrop.h: --user and --group.
 *
 * privdrop_resolve() looks the names up once, at start-up, while errors
 * can still reach the terminal (unknown user or group: -1 and a message
 * naming it), and keeps the answer: later drops make no NSS lookup, so a
 * child never opens /etc/passwd or talks to a name service.
 * privdrop_apply() is setgroups (the user's groups, or the single group),
 * setresgid, setresuid, then proof: every id is the target and regaining
 * root fails.  It returns -1 with a message on any failure; the caller
 * must then not serve.
 */
#ifndef ECHOD_PRIVDROP_H
#define ECHOD_PRIVDROP_H

#include <sys/types.h>

#include <stddef.h>

#define PRIVDROP_NGROUPS	64

struct privdrop {
	int	set_uid;	/* --user given */
	int	set_gid;	/* --user or --group given */
	uid_t	uid;
	gid_t	gid;
	gid_t	groups[PRIVDROP_NGROUPS];
	int	ngroups;
	char	user[64];
};

int	privdrop_resolve(const char *, const char *, struct privdrop *,
	    char *, size_t);
int	privdrop_apply(const struct privdrop *, char *, size_t);
/* The ids are already what a drop would make them (nothing to do). */
int	privdrop_done(const struct privdrop *);

#endif
