#!/bin/bash
# tests/deploy/run.sh: the shipped package and units under a real systemd
# as PID 1 (issue 13).  Run by "make check-deploy":
#
#	run.sh TARBALL CACHEDIR
#	run.sh --prefetch CACHEDIR
#
# The second form only makes the root (below) for the package's usual
# dependencies, so that CI can debootstrap while the test suite runs
# (niced, in the background); the first form then reuses it when it holds
# every package the built .deb depends on.
#
# Builds the .deb from the release TARBALL (dpkg-buildpackage -us -uc -b)
# and runs lintian on it; makes a minimal Debian 12 root with debootstrap
# from the mirror the machine's apt uses (kept in CACHEDIR, which is in
# the build tree, and reused while its package list is the same); boots
# a copy of it with systemd-nspawn --boot --register=no --keep-unit and
# its own network namespace (only lo: port 7 is the container's); installs
# the .deb with apt inside; then checks, from inside (nsenter into the
# namespaces of the container's PID 1), what issue 13 point 4 lists.
#
# Output: one "ok - ..." or "not ok - ..." line per check, then a summary.
# Exit 0 when every check passed, 1 when one failed, 77 (skipped, with
# the reason) when this machine cannot boot the container or lacks a tool.
# Whatever happens, the container is stopped through its leader pid, and
# its root unmounted and removed (trap).  Bounded: DEPLOY_TIMEOUT seconds
# in all (default 900, of which a first debootstrap takes most).
set -u

usage="usage: run.sh TARBALL CACHEDIR | run.sh --prefetch CACHEDIR"
tarball=${1:?$usage}
cache=${2:?$usage}
# What --prefetch installs: systemd and what the .deb has always depended
# on (debian/control's procps, and the libraries of its shlibs).
prefetch_deps="procps,libc6,libbsd0,libseccomp2"
suite=bookworm
timeout_s=${DEPLOY_TIMEOUT:-900}

work=
nspawn=
leader=
watchdog=
failed=0
passed=0

say() { printf 'deploy: %s\n' "$*"; }
skip() { say "SKIP: $*"; exit 77; }
die() { say "ERROR: $*"; exit 1; }
ok() { passed=$((passed + 1)); printf 'ok - %s\n' "$*"; }
notok() { failed=$((failed + 1)); printf 'not ok - %s\n' "$*"; }
check() {	# check "description" command...: ok or not ok by its status
	local what=$1
	shift
	if "$@"; then ok "$what"; else notok "$what"; fi
}

# --- the container's life ------------------------------------------------

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Stop the container through its leader (its PID 1 seen from here): first
# SIGRTMIN+4, systemd's clean poweroff, then SIGKILL, which ends the whole
# PID namespace.  Only pids this script started or found under them.
stop_container() {
	local i
	if alive "$leader"; then
		kill -s RTMIN+4 "$leader" 2>/dev/null
		for i in $(seq 1 150); do alive "$leader" || break; sleep 0.1; done
		alive "$leader" && kill -KILL "$leader" 2>/dev/null
	fi
	if alive "$nspawn"; then
		for i in $(seq 1 50); do alive "$nspawn" || break; sleep 0.1; done
		alive "$nspawn" && kill -KILL "$nspawn" 2>/dev/null
	fi
	[ -n "$nspawn" ] && wait "$nspawn" 2>/dev/null
	leader=
	nspawn=
}

cleanup() {
	local m
	trap - EXIT INT TERM
	alive "$watchdog" && kill "$watchdog" 2>/dev/null
	stop_container
	if [ -n "$work" ] && [ -d "$work" ]; then
		# Anything still mounted below the root (nspawn mounts in its own
		# namespace; this is for the odd leftover), deepest first.
		awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts |
		    sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 1' INT TERM

# The container's PID 1: the child of nspawn whose pid in its own
# namespace is 1.
find_leader() {
	local p ns
	for p in $(pgrep -P "$nspawn"); do
		ns=$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)
		[ "$ns" = 1 ] && { echo "$p"; return 0; }
	done
	return 1
}

# Run a command inside the container, in all of its namespaces, with a
# clean environment.
inc() {
	nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    LC_ALL=C DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= "$@"
}

# --- preparation -----------------------------------------------------------

preflight() {
	local t
	[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
	for t in debootstrap systemd-nspawn nsenter dpkg-buildpackage dh lintian \
	    pgrep timeout; do
		command -v "$t" >/dev/null || skip "$t not installed"
	done
	[ -r "$tarball" ] || die "no tarball $tarball"
}

# The Debian mirror the machine's apt uses: the first URIs of a deb822
# stanza, else the first "deb" line; none found: the test is skipped.
apt_mirror() {
	local m
	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
	    awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }')
	[ -n "$m" ] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    2>/dev/null | awk '$1 == "deb" && $2 !~ /security/ {
		for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:/) { print $i; exit } }')
	echo "$m"
}

build_deb() {
	local log=$work/build.log
	mkdir -p "$work/build"
	tar -xzf "$tarball" -C "$work/build" || die "cannot unpack $tarball"
	src=$(echo "$work"/build/*/debian)
	src=${src%/debian}
	[ -d "$src/debian" ] || die "no debian/ in $tarball"
	say "building the .deb (dpkg-buildpackage -us -uc -b)"
	if ! (cd "$src" && timeout 900 dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
		tail -40 "$log"
		notok "dpkg-buildpackage -us -uc -b"
		return 1
	fi
	ok "dpkg-buildpackage -us -uc -b"
	deb=$(ls "$work"/build/echod_*.deb)
	changes=$(ls "$work"/build/echod_*.changes)
	say "lintian $(basename "$changes"):"
	lintian --tag-display-limit 0 "$changes" >"$work/lintian.out" 2>&1
	sed -e '/running with root privileges/d' -e 's/^/  /' "$work/lintian.out"
	check "lintian: no error, no warning" \
	    sh -c "! grep -q '^[EW]: ' '$work/lintian.out'"
}

# The minimal root: debootstrap minbase with systemd as init and the
# package's own dependencies (apt inside has no network), cached per
# package list in $cache.
# Does the finished root $1 have every package of the list $2 installed?
root_has() {
	local p
	[ -f "$1.done" ] || return 1
	for p in ${2//,/ }; do
		dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Status}\n' "$p" \
		    2>/dev/null | grep -q ' installed$' || return 1
	done
}

# $base: a cached root holding the packages of the list $1, made if none.
make_base() {
	local deps=$1 key mirror b
	for b in "$cache"/root-"$suite"-*.done; do
		b=${b%.done}
		if root_has "$b" "$deps"; then base=$b; return 0; fi
	done
	key=$(printf '%s' "$suite $deps" | md5sum | cut -c1-12)
	base=$cache/root-$suite-$key
	if [ ! -f "$base.done" ]; then
		mirror=$(apt_mirror)
		[ -n "$mirror" ] || skip "no Debian mirror in the machine's apt sources"
		say "debootstrap $suite from $mirror (once; cached in $base)"
		rm -rf --one-file-system "$base" "$base.tmp"
		if ! timeout 900 debootstrap --variant=minbase --include="$deps" \
		    "$suite" "$base.tmp" "$mirror" >"$work/debootstrap.log" 2>&1; then
			tail -20 "$work/debootstrap.log"
			rm -rf --one-file-system "$base.tmp"
			skip "debootstrap $suite from $mirror failed"
		fi
		mv "$base.tmp" "$base" && touch "$base.done"
	fi
}

make_root() {
	local deps
	deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
	    sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' | grep . | sort -u |
	    tr '\n' ',')
	make_base "systemd,systemd-sysv,dbus,${deps%,}"
	say "copying the cached root"
	cp -a "$base" "$work/root" || die "cannot copy $base"
	# No container should reuse the cache's machine id or hostname.
	: >"$work/root/etc/machine-id"
	rm -f "$work/root/var/lib/dbus/machine-id"
	echo echod-deploy >"$work/root/etc/hostname"
}

boot() {
	local i st
	say "booting it: systemd-nspawn --boot --register=no --keep-unit"
	systemd-nspawn --boot --register=no --keep-unit --private-network \
	    --console=read-only -M "echod-deploy-$$" -D "$work/root" \
	    >"$work/nspawn.log" 2>&1 </dev/null &
	nspawn=$!
	for i in $(seq 1 300); do
		leader=$(find_leader) && break
		alive "$nspawn" || break
		sleep 0.1
	done
	if [ -z "$leader" ]; then
		tail -20 "$work/nspawn.log"
		skip "systemd-nspawn could not boot the container (see above)"
	fi
	# Until its systemd listens, systemctl cannot even connect: retry.
	for i in $(seq 1 240); do
		st=$(timeout 90 nsenter -t "$leader" -a env -i PATH=/usr/bin:/bin \
		    systemctl is-system-running --wait 2>&1)
		case $st in
		running|degraded|maintenance|stopping|offline) break ;;
		esac
		alive "$leader" || break
		sleep 0.5
	done
	case $st in
	running|degraded) say "container up (leader pid $leader, $st)" ;;
	*)	tail -20 "$work/nspawn.log"
		skip "the container's systemd did not come up: ${st:-no answer}" ;;
	esac
}

# --- checks ----------------------------------------------------------------

# wait_for SECONDS command...: poll every 0.2 s until the command succeeds.
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
not() { ! "$@"; }

prop() { inc systemctl show -p "$2" --value "$1"; }
echod_pids() { inc pgrep -x echod; }
no_echod() { ! inc pgrep -x echod >/dev/null; }
two_echod() { [ "$(echod_pids | wc -l)" -ge 2 ]; }
field() { inc awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
cmdline() { inc cat "/proc/$1/cmdline" | tr '\0' ' '; }
children() { inc pgrep -P "$1"; }
is_worker() { inc grep -q '^echod: worker' "/proc/$1/cmdline"; }
journal_has() { inc journalctl -q --no-pager | grep -q "$1"; }
listening7() {	# something listens on TCP port 7 (state 0A) in the container
	inc cat /proc/net/tcp /proc/net/tcp6 |
	    awk '$2 ~ /:0007$/ && $4 == "0A" { f = 1 } END { exit !f }'
}
tcp_echo() { [ "$(inc echoc -t 5 127.0.0.1 7 "$1")" = "$1" ]; }
tcp_echo_at() { [ "$(inc echoc -t 5 127.0.0.1 "$1" "$2")" = "$2" ]; }
# A line through the log socket (not stderr), tagged echod, facility daemon.
syslog_has() {
	inc journalctl -q --no-pager -o cat _TRANSPORT=syslog \
	    SYSLOG_IDENTIFIER=echod SYSLOG_FACILITY=3 | grep -q "$1"
}
syslog_serving_and_conn() {
	syslog_has "serving: model=prefork" &&
	    syslog_has "conn 127\.0\.0\.1:[0-9]* -> "
}
udp_echo() { [ "$(inc echoc -u -t 5 127.0.0.1 7 "$1")" = "$1" ]; }
tcp_workers() {
	local p
	for p in $(children "$(prop echod.service MainPID)"); do
		is_worker "$p" && echo "$p"
	done
}
is_disabled() { [ "$(inc systemctl is-enabled echod.socket)" = disabled ]; }
has_counts() { prop echod.service StatusText | grep -Eq '[1-9][0-9]* served'; }
apt_install() {
	inc apt-get install -y -q --no-install-recommends /srv/echod.deb \
	    >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; return 1; }
}
apt_purge() {
	inc apt-get purge -y -q echod >"$work/purge.log" 2>&1 ||
	    { tail -20 "$work/purge.log"; return 1; }
}
dpkg_knows() { inc dpkg-query -W echod >/dev/null 2>&1; }

install_deb() {
	cp "$deb" "$work/root/srv/echod.deb"
	check "apt-get install of the .deb inside the container" apt_install ||
	    return 1
	check "installed disabled: echod.socket not enabled" is_disabled
	check "installed disabled: no echod running" no_echod
	check "installed disabled: nothing listens on port 7" not listening7
}

check_socket() {
	local st
	check "systemctl enable --now echod.socket" \
	    inc systemctl enable --now -q echod.socket
	check "TCP echo on port 7 (socket-activated echod.service)" \
	    wait_for 10 tcp_echo hello-tcp
	check "UDP echo on port 7" wait_for 5 udp_echo hello-udp
	check "echod.service is Type=notify and active" \
	    [ "$(prop echod.service Type)/$(prop echod.service ActiveState)" = notify/active ]
	# STATUS= goes at most once a second, from the master's loop: give a
	# loaded machine time.
	wait_for 20 has_counts
	st=$(prop echod.service StatusText)
	check "StatusText carries echod's counts: \"$st\"" has_counts
}

check_seccomp() {
	local main p n=0 bad=0 f s
	main=$(prop echod.service MainPID)
	unit_filters=$(field "$main" Seccomp_filters)
	say "  master $main: Seccomp $(field "$main" Seccomp), filters $unit_filters (the unit's)"
	for p in $(children "$main"); do
		n=$((n + 1))
		s=$(field "$p" Seccomp)
		f=$(field "$p" Seccomp_filters)
		say "  pid $p ($(cmdline "$p")): Seccomp $s, filters $f"
		[ "$s" = 2 ] && [ "${f:-0}" -gt "${unit_filters:-0}" ] || bad=$((bad + 1))
	done
	check "every serving process ($n) has its own seccomp filter on top of the unit's" \
	    [ "$n" -gt 0 -a "$bad" = 0 ]
	check "the journal holds no \"serving without a filter\"" \
	    not journal_has 'serving without a filter'
}

all_replaced() {	# every worker of $old_workers is gone, and some are up
	local cur
	cur=$(tcp_workers | sort)
	[ -n "$cur" ] && [ -z "$(comm -12 <(echo "$cur") <(echo "$old_workers"))" ]
}

same_master_new_workers() {
	[ "$(prop echod.service MainPID)" = "$1" ] && all_replaced
}

check_reload() {
	local main new
	main=$(prop echod.service MainPID)
	old_workers=$(tcp_workers | sort)
	check "systemctl reload echod" inc systemctl reload echod
	wait_for 10 all_replaced
	new=$(tcp_workers | sort)
	say "  workers before: $(echo $old_workers); after: $(echo $new)"
	check "reload: same master ($main), every worker pid changed" \
	    same_master_new_workers "$main"
	check "echo still served after the reload" tcp_echo after-reload
}

restarted() {	# a new master, other than $old_main, is active
	local m
	m=$(prop echod.service MainPID)
	[ "$m" != 0 ] && [ "$m" != "$old_main" ] &&
	    [ "$(prop echod.service ActiveState)" = active ]
}

upgraded() {	# a new master is MainPID, the old one gone, still active
	local m
	m=$(prop echod.service MainPID)
	[ "$m" != 0 ] && [ "$m" != "$old_main" ] &&
	    [ "$(prop echod.service ActiveState)" = active ] &&
	    ! inc kill -0 "$old_main" 2>/dev/null
}

# Issue 11: SIGUSR2 under a real systemd.  The new master must tell
# systemd MAINPID= (NotifyAccess=all), or the old one's exit would stop
# the service; the inherited sockets go on serving.
check_upgrade() {
	local nr
	old_main=$(prop echod.service MainPID)
	nr=$(prop echod.service NRestarts)
	check "systemctl kill -s USR2 echod (binary upgrade)" \
	    inc systemctl kill -s USR2 --kill-whom=main echod.service
	wait_for 30 upgraded
	say "  master before: $old_main; after: $(prop echod.service MainPID)"
	check "upgrade: a new master is MainPID, the old one is gone, active" \
	    upgraded
	check "upgrade: systemd restarted nothing (NRestarts $nr)" \
	    [ "$(prop echod.service NRestarts)" = "$nr" ]
	check "upgrade: TCP echo on the inherited socket" tcp_echo after-upgrade
	check "upgrade: UDP echo on the inherited socket" \
	    wait_for 5 udp_echo after-upgrade-udp
}

check_watchdog() {
	local dir=/run/systemd/system/echod.service.d nr
	inc mkdir -p "$dir"
	printf '[Service]\nWatchdogSec=2\n' |
	    inc tee "$dir/50-deploy-watchdog.conf" >/dev/null
	inc systemctl daemon-reload
	inc systemctl restart echod.service
	wait_for 10 tcp_echo before-watchdog
	old_main=$(prop echod.service MainPID)
	nr=$(prop echod.service NRestarts)
	say "  WatchdogUSec=$(prop echod.service WatchdogUSec); kill -STOP $old_main (the master)"
	inc kill -STOP "$old_main"
	wait_for 20 restarted
	check "watchdog: systemd restarted the stopped master (NRestarts $nr -> $(prop echod.service NRestarts), MainPID $old_main -> $(prop echod.service MainPID))" \
	    restarted
	check "watchdog: the journal names the watchdog timeout" \
	    journal_has 'echod.service: Watchdog timeout'
	check "watchdog: the old master is gone" not inc test -d "/proc/$old_main"
	check "watchdog: echo served again" wait_for 10 tcp_echo after-watchdog
	inc rm -f "$dir/50-deploy-watchdog.conf"
	inc systemctl daemon-reload
}

check_stop() {
	local t0 t1
	t0=$(date +%s)
	check "systemctl stop echod.service echod.socket" \
	    inc systemctl stop echod.service echod.socket
	t1=$(date +%s)
	check "stop leaves no echod process" wait_for 5 no_echod
	check "stop was graceful ($((t1 - t0)) s, Result=$(prop echod.service Result))" \
	    [ "$(prop echod.service Result)" = success ]
}

# One held connection to echod-inetd.socket: sends a line, reads it back,
# holds the connection until /srv/hold disappears (at most 15 s).
hold_conn() {
	inc bash -c 'exec 3<>/dev/tcp/127.0.0.1/7 || exit 1
		echo "held-$1" >&3; read -r -t 5 l <&3; [ "$l" = "held-$1" ] || exit 1
		for i in $(seq 1 75); do [ -e /srv/hold ] || exit 0; sleep 0.2; done' \
	    hold "$1"
}

check_inetd() {
	local p n=0 bad=0 s f nnp h1 h2 r1 r2
	check "systemctl start echod-inetd.socket (Accept=yes)" \
	    inc systemctl start echod-inetd.socket
	touch "$work/root/srv/hold"
	hold_conn 1 & h1=$!
	hold_conn 2 & h2=$!
	wait_for 10 two_echod
	for p in $(echod_pids); do
		n=$((n + 1))
		s=$(field "$p" Seccomp); f=$(field "$p" Seccomp_filters)
		nnp=$(field "$p" NoNewPrivs)
		say "  pid $p ($(cmdline "$p")) in $(inc cat "/proc/$p/cgroup" |
		    sed -n 's|^0::.*/||p'): Seccomp $s, filters $f (unit's: $unit_filters), NoNewPrivs $nnp"
		[ "$s" = 2 ] && [ "$nnp" = 1 ] && [ "${f:-0}" -gt "${unit_filters:-0}" ] ||
		    bad=$((bad + 1))
	done
	check "two connections, two echod -i instances" [ "$n" = 2 ]
	check "each echod -i has its own seccomp filter and no new privileges" \
	    [ "$n" -gt 0 -a "$bad" = 0 ]
	rm -f "$work/root/srv/hold"
	wait "$h1"; r1=$?
	wait "$h2"; r2=$?
	check "both held connections echoed" [ "$r1" = 0 -a "$r2" = 0 ]
	check "each instance exits with its connection" wait_for 5 no_echod
	inc systemctl stop echod-inetd.socket
}

# --log=syslog (the default with -D and -i): echod's lines reach the
# system's log socket, here journald's /dev/log (with --log=stderr they
# would be the journal's _TRANSPORT=stdout, and this check fails).
check_syslog() {
	check "echod --log=syslog -v as a transient service (systemd-run)" \
	    inc systemd-run -q --unit=echod-syslog /usr/sbin/echod \
	    -l 127.0.0.1:7007 --log=syslog -v
	check "it echoes on 127.0.0.1:7007" wait_for 10 tcp_echo_at 7007 hi-syslog
	check "--log=syslog: the serving line and the connection's -v line in the journal (syslog, tag echod, facility daemon)" \
	    wait_for 10 syslog_serving_and_conn
	inc systemctl stop echod-syslog
}

check_purge() {
	local left= f
	# Enabled and serving, then purged: removal must stop it all.
	inc systemctl enable --now -q echod.socket
	wait_for 10 tcp_echo before-purge
	inc dpkg -L echod >"$work/files.txt"
	check "apt-get purge echod (enabled and serving)" apt_purge
	check "purge leaves no echod process" wait_for 10 no_echod
	check "purge leaves nothing listening on port 7" wait_for 10 not listening7
	while read -r f; do
		[ -d "$work/root$f" ] || [ ! -e "$work/root$f" ] || left="$left $f"
	done <"$work/files.txt"
	left="$left $(cd "$work/root" && find etc var/lib/systemd var/lib/dpkg/info \
	    -name '*echod*' 2>/dev/null | tr '\n' ' ')"
	left=$(echo $left)
	check "purge leaves no file behind${left:+ (left: $left)}" [ -z "$left" ]
	check "dpkg knows no echod any more" not dpkg_knows
}

# --- main ------------------------------------------------------------------

if [ "$tarball" = --prefetch ]; then
	[ "$(id -u)" = 0 ] || skip "needs root (debootstrap)"
	command -v debootstrap >/dev/null || skip "debootstrap not installed"
else
	preflight
fi
mkdir -p "$cache" || die "cannot create $cache"
cache=$(cd "$cache" && pwd)
work=$(mktemp -d "$cache/run.XXXXXX") || die "no work directory in $cache"
if [ "$tarball" = --prefetch ]; then
	make_base "systemd,systemd-sysv,dbus,$prefetch_deps"
	say "prefetched the root $base"
	exit 0
fi
# The time bound: a subshell that takes its sleep with it when cleanup
# ends it early.
(
	sleep "$timeout_s" & s=$!
	trap 'kill $s 2>/dev/null; exit 0' TERM
	wait "$s" && { say "timed out after $timeout_s s"; kill -TERM $$; }
) &
watchdog=$!

start=$(date +%s)
build_deb || exit 1
make_root
boot
install_deb || { say "not installed: no further check"; exit 1; }
unit_filters=
check_socket
check_seccomp
check_reload
check_upgrade
check_watchdog
check_stop
check_inetd
check_syslog
check_purge
say "$passed passed, $failed failed ($(($(date +%s) - start)) s)"
[ "$failed" = 0 ]
