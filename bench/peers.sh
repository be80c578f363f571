# bench/peers.sh: start and stop the servers `make bench` compares.
# Sourced by bench/run.sh; POSIX sh plus `local`.
#
# Interface: peer_start NAME PORT starts server NAME on 127.0.0.1:PORT
# (PORT 0: any, where the server can say which) and sets PEER_PID (the
# process whose tree is the server) and PEER_PORT; it returns 2 when the
# peer is not installed (PEER_WHY says why), 1 when it failed to start.
# peer_stop kills PEER_PID's tree, by pid.  Everything listens on
# 127.0.0.1 only.  Each peer's limits are raised where its defaults would
# measure the limit rather than the server (see PEERS.md).
#
# Needs: BENCH_TMP (a private directory), BUILDDIR, SRCDIR.

PEER_PID=
PEER_PORT=
PEER_WHY=

# A free loopback port for peers that cannot pick one themselves.
peer_free_port()
{
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait up to ~5 s for something to accept on 127.0.0.1:$1.
peer_wait_port()
{
	local i=0
	while [ $i -lt 50 ]; do
		if python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5)
s.close()' "$1" 2>/dev/null; then
			return 0
		fi
		if [ -n "$PEER_PID" ] && ! kill -0 "$PEER_PID" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# The server's process tree as strace -p arguments.
peer_strace_args()
{
	local p
	for p in $(peer_tree "$1"); do
		printf -- '-p %s ' "$p"
	done
}

# Wait for a line matching $2 in file $1; print it.
peer_wait_line()
{
	local i=0
	while [ $i -lt 50 ]; do
		if grep -q "$2" "$1" 2>/dev/null; then
			grep -m1 "$2" "$1"
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# The pid and all its descendants, one a line.
peer_tree()
{
	local p c
	echo "$1"
	for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		peer_tree "$p"
	done
}

# Summed PSS (KiB) of a process tree, read in one process: a shell loop
# forking awk per pid takes seconds over 1,000 children.
peer_pss_kib()
{
	python3 -c '
import glob, sys
def kids(p):
    out = []
    for f in glob.glob("/proc/%s/task/*/children" % p):
        try:
            out += open(f).read().split()
        except OSError:
            pass
    return out
todo, total = [sys.argv[1]], 0
while todo:
    p = todo.pop()
    try:
        for l in open("/proc/%s/smaps_rollup" % p):
            if l.startswith("Pss:"):
                total += int(l.split()[1])
                break
    except OSError:
        pass
    todo += kids(p)
print(total)
' "$1"
}

peer_stop()
{
	local p
	[ -n "$PEER_PID" ] || return 0
	# Children first would race with respawns; stop the top, then
	# whatever of the tree is left.
	p=$(peer_tree "$PEER_PID")
	kill -TERM "$PEER_PID" 2>/dev/null
	sleep 0.2
	for q in $p; do
		kill -KILL "$q" 2>/dev/null
	done
	wait "$PEER_PID" 2>/dev/null
	PEER_PID=
}

# echod with extra options: $1 port, rest options.
peer_echod()
{
	local port=$1 line
	shift
	# Remove, not truncate: a `2>` truncation happens in the child, and
	# the wait below could otherwise read the previous echod's port.
	rm -f "$BENCH_TMP"/echod.err
	"$BUILDDIR"/src/echod -l 127.0.0.1:"$port" "$@" \
	    2>"$BENCH_TMP"/echod.err &
	PEER_PID=$!
	line=$(peer_wait_line "$BENCH_TMP"/echod.err 'listening on') ||
	    return 1
	PEER_PORT=${line##*:}
	peer_wait_line "$BENCH_TMP"/echod.err 'serving' >/dev/null
}

# A bench/ program that prints its port on stdout line 1:
# peer_own PROGRAM PORT [OPTION...]
peer_own()
{
	local peer_prog=$1 peer_port=$2
	shift 2
	[ -x "$BUILDDIR"/bench/"$peer_prog" ] || { PEER_WHY="not built"; return 2; }
	"$BUILDDIR"/bench/"$peer_prog" "$@" 127.0.0.1 "$peer_port" \
	    >"$BENCH_TMP"/port.out &
	PEER_PID=$!
	peer_wait_line "$BENCH_TMP"/port.out '^[0-9]' >/dev/null || return 1
	PEER_PORT=$(head -n 1 "$BENCH_TMP"/port.out)
}

peer_xinetd()
{
	local port=$1
	command -v xinetd >/dev/null || [ -x /usr/sbin/xinetd ] ||
	    { PEER_WHY="xinetd not installed"; return 2; }
	[ "$port" = 0 ] && port=$(peer_free_port)
	cat >"$BENCH_TMP"/xinetd.conf <<XEOF
defaults
{
	instances	= UNLIMITED
	per_source	= UNLIMITED
	cps		= 1000000 1
	log_type	= FILE $BENCH_TMP/xinetd.log
}
service echo
{
	type		= INTERNAL UNLISTED
	id		= echo-stream
	socket_type	= stream
	protocol	= tcp
	wait		= no
	user		= $(id -un)
	bind		= 127.0.0.1
	port		= $port
	instances	= UNLIMITED
	cps		= 1000000 1
}
XEOF
	PATH=$PATH:/usr/sbin xinetd -dontfork -f "$BENCH_TMP"/xinetd.conf \
	    -pidfile "$BENCH_TMP"/xinetd.pid 2>"$BENCH_TMP"/xinetd.err &
	PEER_PID=$!
	PEER_PORT=$port
	peer_wait_port "$port"
}

# openbsd-inetd's built-in echo binds the service name "echo": port 7
# only.  If the package is not installed it is unpacked (not installed:
# it conflicts with xinetd) into BENCH_TMP.
peer_openbsd_inetd()
{
	local bin=/usr/sbin/inetd
	# Only openbsd-inetd's: inetutils-inetd installs the same path.
	if ! [ -x "$bin" ] || ! dpkg -S "$bin" 2>/dev/null | grep -q openbsd; then
		bin=$BENCH_TMP/obi/usr/sbin/inetd
		if ! [ -x "$bin" ]; then
			mkdir -p "$BENCH_TMP"/obi
			(cd "$BENCH_TMP"/obi &&
			    apt-get download openbsd-inetd >/dev/null 2>&1 &&
			    dpkg -x openbsd-inetd_*.deb .) ||
			    { PEER_WHY="openbsd-inetd not installed and not downloadable"; return 2; }
		fi
	fi
	[ -x "$bin" ] || { PEER_WHY="openbsd-inetd: no binary"; return 2; }
	[ "$(id -u)" = 0 ] || { PEER_WHY="openbsd-inetd needs root for port 7"; return 2; }
	if ss -Htln 'sport = :7' 2>/dev/null | grep -q .; then
		PEER_WHY="port 7 taken"
		return 2
	fi
	printf '127.0.0.1:echo stream tcp nowait.100000000 root internal\n' \
	    >"$BENCH_TMP"/inetd.conf
	# -i: stay in the foreground (Debian); -q: backlog 1000.
	"$bin" -i -q 1000 "$BENCH_TMP"/inetd.conf >"$BENCH_TMP"/inetd.err 2>&1 &
	PEER_PID=$!
	PEER_PORT=7
	peer_wait_port 7
}

peer_tcpserver()
{
	local port=$1
	command -v tcpserver >/dev/null ||
	    { PEER_WHY="ucspi-tcp not installed"; return 2; }
	[ "$port" = 0 ] && port=$(peer_free_port)
	tcpserver -R -H -l 0 -c 1100 -b 1000 127.0.0.1 "$port" cat \
	    2>"$BENCH_TMP"/tcpserver.err &
	PEER_PID=$!
	PEER_PORT=$port
	peer_wait_port "$port"
}

peer_socat()
{
	local port=$1
	command -v socat >/dev/null ||
	    { PEER_WHY="socat not installed"; return 2; }
	[ "$port" = 0 ] && port=$(peer_free_port)
	socat TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr,backlog=1000 \
	    PIPE 2>"$BENCH_TMP"/socat.err &
	PEER_PID=$!
	PEER_PORT=$port
	peer_wait_port "$port"
}

peer_python()
{
	local port=$1
	command -v python3 >/dev/null ||
	    { PEER_WHY="python3 not installed"; return 2; }
	python3 -u -c '
import socketserver, sys
class H(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            b = self.request.recv(65536)
            if not b:
                return
            self.request.sendall(b)
class S(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    request_queue_size = 1000
    max_children = 100000
s = S(("127.0.0.1", int(sys.argv[1])), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' "$port" >"$BENCH_TMP"/port.out 2>"$BENCH_TMP"/python.err &
	PEER_PID=$!
	peer_wait_line "$BENCH_TMP"/port.out '^[0-9]' >/dev/null || return 1
	PEER_PORT=$(head -n 1 "$BENCH_TMP"/port.out)
}

# peer_start NAME PORT
peer_start()
{
	PEER_PID= PEER_PORT= PEER_WHY=
	rm -f "$BENCH_TMP"/port.out
	case $1 in
	echod-prefork)	peer_echod "$2" -c 1100 ;;
	echod-fork-waitpid) peer_echod "$2" -m fork -r waitpid -c 1100 ;;
	echod-fork-ignore) peer_echod "$2" -m fork -r ignore -c 1100 ;;
	epoll_echo)	peer_own epoll_echo "$2" ;;
	fork_echo)	peer_own fork_echo "$2" ;;
	fork_echo-filter-child) peer_own fork_echo "$2" -f child ;;
	fork_echo-filter-parent) peer_own fork_echo "$2" -f parent ;;
	xinetd)		peer_xinetd "$2" ;;
	openbsd-inetd)	peer_openbsd_inetd "$2" ;;
	tcpserver)	peer_tcpserver "$2" ;;
	socat)		peer_socat "$2" ;;
	python-forking)	peer_python "$2" ;;
	*)		PEER_WHY="unknown peer $1"; return 2 ;;
	esac
}
