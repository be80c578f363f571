/*
 * privdrop.c: become --user/--group, verifiably (see privdrop.h).
 *
 * The order matters: supplementary groups and the gid must change while
 * we are still root; after setresuid() they no longer can.  setres[ug]id
 * set real, effective and saved ids (and, on Linux, the filesystem ids)
 * in one call, so no id is left behind to regain root with.  A name that
 * is all digits and not in the passwd or group database is taken as a
 * number, as chown(8) does.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"

static int
numeric_id(const char *s, long long *out)
{
	const char	*e;

	if (*s < '0' || *s > '9')
		return -1;
	*out = strtonum(s, 0, UINT_MAX - 1, &e);
	return e == NULL ? 0 : -1;
}

int
privdrop_resolve(const char *user, const char *group, struct privdrop *pd,
    char *err, size_t errlen)
{
	struct passwd	*pw = NULL;
	struct group	*gr;
	long long	 id;
	int		 n;

	memset(pd, 0, sizeof(*pd));
	if (user != NULL) {
		errno = 0;
		if ((pw = getpwnam(user)) == NULL && numeric_id(user, &id) == 0)
			pw = getpwuid((uid_t)id);
		if (pw != NULL) {
			pd->uid = pw->pw_uid;
			pd->gid = pw->pw_gid;
			(void)strlcpy(pd->user, pw->pw_name, sizeof(pd->user));
		} else if (numeric_id(user, &id) == 0) {
			pd->uid = (uid_t)id;
			pd->gid = (gid_t)id;	/* no entry: no better guess */
			(void)strlcpy(pd->user, user, sizeof(pd->user));
		} else {
			(void)snprintf(err, errlen, "--user: unknown user "
			    "\"%s\"%s%s", user, errno ? ": " : "",
			    errno ? strerror(errno) : "");
			return -1;
		}
		pd->set_uid = pd->set_gid = 1;
	}
	if (group != NULL) {
		errno = 0;
		if ((gr = getgrnam(group)) != NULL)
			pd->gid = gr->gr_gid;
		else if (numeric_id(group, &id) == 0)
			pd->gid = (gid_t)id;
		else {
			(void)snprintf(err, errlen, "--group: unknown group "
			    "\"%s\"%s%s", group, errno ? ": " : "",
			    errno ? strerror(errno) : "");
			return -1;
		}
		pd->set_gid = 1;
	}
	pd->groups[0] = pd->gid;
	pd->ngroups = 1;
	/* A user from the database gets its supplementary groups too. */
	if (pw != NULL) {
		n = PRIVDROP_NGROUPS;
		if (getgrouplist(pw->pw_name, pd->gid, pd->groups, &n) == -1) {
			(void)snprintf(err, errlen, "--user %s: in more than "
			    "%d groups", pw->pw_name, PRIVDROP_NGROUPS);
			return -1;
		}
		pd->ngroups = n;
	}
	return 0;
}

int
privdrop_done(const struct privdrop *pd)
{
	uid_t	r, e, s;
	gid_t	rg, eg, sg;

	if (getresuid(&r, &e, &s) == -1 || getresgid(&rg, &eg, &sg) == -1)
		return 0;
	if (pd->set_uid && (r != pd->uid || e != pd->uid || s != pd->uid))
		return 0;
	if (pd->set_gid && (rg != pd->gid || eg != pd->gid || sg != pd->gid))
		return 0;
	return 1;
}

int
privdrop_apply(const struct privdrop *pd, char *err, size_t errlen)
{
	if (!pd->set_uid && !pd->set_gid)
		return 0;
	if (privdrop_done(pd) && geteuid() != 0)
		return 0;	/* started as that user: nothing to give up */
	if (setgroups((size_t)pd->ngroups, pd->groups) == -1) {
		(void)snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return -1;
	}
	if (setresgid(pd->gid, pd->gid, pd->gid) == -1) {
		(void)snprintf(err, errlen, "setresgid %lu: %s",
		    (unsigned long)pd->gid, strerror(errno));
		return -1;
	}
	if (pd->set_uid && setresuid(pd->uid, pd->uid, pd->uid) == -1) {
		(void)snprintf(err, errlen, "setresuid %s (%lu): %s", pd->user,
		    (unsigned long)pd->uid, strerror(errno));
		return -1;
	}
	/* Trust, but verify: all ids moved, and root is gone for good. */
	if (!privdrop_done(pd)) {
		(void)snprintf(err, errlen, "privilege drop did not take");
		return -1;
	}
	if (pd->set_uid && pd->uid != 0 &&
	    (setuid(0) != -1 || seteuid(0) != -1)) {
		(void)snprintf(err, errlen, "could regain root after "
		    "dropping to %s", pd->user);
		return -1;
	}
	if (pd->set_uid && pd->uid != 0 && pd->gid != 0 &&
	    (setgid(0) != -1 || setegid(0) != -1)) {
		(void)snprintf(err, errlen, "could regain gid 0 after "
		    "dropping to %s", pd->user);
		return -1;
	}
	return 0;
}
