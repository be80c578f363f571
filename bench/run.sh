#!/bin/sh
# bench/run.sh: `make bench`.  Figures, not verdicts.
#
# usage: run.sh BUILDDIR [SERVER...]
#
# Starts every server at once, each on its own 127.0.0.1 port (echod in
# three configurations, the bench/ references epoll_echo and fork_echo
# (fork_echo also with a seccomp filter per child, and inherited),
# and whichever peers are installed: see bench/peers.sh), drives each
# with echoc's bench modes, and prints a Markdown table of each figure
# and its ratio to epoll_echo (e) and fork_echo (f).  Each figure is
# measured round-robin over the servers, BENCH_ROUNDS times in a rotated
# order, and the median kept: this machine's speed drifts by tens of
# percent within minutes, and measured one server after another, the
# drift landed in the ratios.  For echod's models it also
# counts system calls per connection (strace -f -c over the whole
# process tree while echoc makes BENCH_SYSN connections at c=1).  The
# table goes to stdout and to BENCH_OUT/bench.md; with gnuplot installed,
# BENCH_OUT/bench.png charts conn/s and PSS per held connection for every
# server.  Only 127.0.0.1 is ever contacted.  Every process it starts is
# stopped by pid on exit.  About 55 s per server: 11 minutes for all.
#
# Environment: BENCH_D (seconds per measurement, default 2),
# BENCH_ROUNDS (measurements of each figure per server, default 3),
# BENCH_IDLE (held connections, default 1000), BENCH_SYSN (connections
# counted under strace, default 200), BENCH_OUT (default BUILDDIR/bench).

BUILDDIR=${1:?usage: run.sh BUILDDIR [SERVER...]}
shift
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
ECHOC=$BUILDDIR/src/echoc
D=${BENCH_D:-2}
IDLE=${BENCH_IDLE:-1000}
SYSN=${BENCH_SYSN:-200}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=${BENCH_OUT:-$BUILDDIR/bench}
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/echod-bench.XXXXXX") || exit 1
RESULTS=$BENCH_TMP/results
: >"$RESULTS"
CLIENT_PID=

. "$SRCDIR"/bench/peers.sh

cleanup()
{
	[ -n "$CLIENT_PID" ] && kill -KILL "$CLIENT_PID" 2>/dev/null
	peer_stop
	stop_all
	rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ $# -gt 0 ]; then
	SERVERS=$*
else
	SERVERS="echod-prefork echod-fork-waitpid echod-fork-ignore epoll_echo
	    fork_echo fork_echo-filter-child fork_echo-filter-parent
	    openbsd-inetd xinetd tcpserver socat python-forking"
fi

ulimit -n 20000 2>/dev/null || ulimit -n 4096 2>/dev/null

# result SERVER TEST VALUE
result()
{
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"
}

# Pull figures out of echoc's JSON line (stdin): $1 is a Python
# expression over j; prints "fail" without a JSON line, appends "!" when
# echoc saw errors.
json_get()
{
	python3 -c '
import json, sys
line = ""
for l in sys.stdin:
    if l.startswith("{"):
        line = l
try:
    j = json.loads(line)
except Exception:
    print("fail"); sys.exit(0)
v = eval(sys.argv[1])
print(v + ("!" if j.get("errors_total", 0) else ""))
' "$1"
}

# measure SERVER TEST EXPR echoc-args...
measure()
{
	local srv=$1 test=$2 expr=$3 out
	shift 3
	out=$(timeout 120 "$ECHOC" "$@" --json 127.0.0.1 "$PEER_PORT" \
	    2>/dev/null | json_get "$expr")
	result "$srv" "$test" "${out:-fail}"
	printf '  %-10s %s\n' "$test" "${out:-fail}" >&2
}

# Held connections on the client side of PEER_PORT.
held()
{
	ss -Htn state established "( dport = :$PEER_PORT )" 2>/dev/null |
	    wc -l
}

measure_idle()
{
	local srv=$1 base pss n=0 out
	base=$(peer_pss_kib "$PEER_PID")
	timeout 120 "$ECHOC" --bench=idle -c "$IDLE" -d 5 --json \
	    127.0.0.1 "$PEER_PORT" >"$BENCH_TMP"/idle.out 2>/dev/null &
	CLIENT_PID=$!
	# Sample once all are held (they open eight at a time).
	while [ "$(held)" -lt "$IDLE" ] && [ $n -lt 300 ] &&
	    kill -0 "$CLIENT_PID" 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
	sleep 0.5
	pss=$(peer_pss_kib "$PEER_PID")
	wait "$CLIENT_PID"
	CLIENT_PID=
	out=$(json_get '"%.1f|%.1f" % ('"$pss"' / j["ops"], ('"$pss"' - '"$base"') / j["ops"]) if j["ops"] else "fail"' \
	    <"$BENCH_TMP"/idle.out)
	result "$srv" idle "$out"
	printf '  %-10s %s KiB/conn (total|over idle; %s KiB before, %s held)\n' \
	    idle "$out" "$base" "$pss" >&2
}

# System calls per connection: strace -f -c attached to the whole tree
# (master and workers; -f follows the children forked meanwhile) while
# echoc makes SYSN connections one at a time.
measure_syscalls()
{
	local srv=$1 st out calls
	command -v strace >/dev/null ||
	    { result "$srv" sys fail; return; }
	# shellcheck disable=SC2046
	strace -f -c -o "$BENCH_TMP"/strace.out \
	    $(peer_strace_args "$PEER_PID") 2>/dev/null &
	st=$!
	sleep 1
	out=$(timeout 120 "$ECHOC" --bench=conn -c 1 -n "$SYSN" --json \
	    127.0.0.1 "$PEER_PORT" 2>/dev/null | json_get '"%d" % j["ops"]')
	sleep 0.3
	kill -INT "$st" 2>/dev/null
	wait "$st"
	calls=$(awk '$NF == "total" { print ($4 ~ /^[0-9]+$/) ? $4 : $3 }' \
	    "$BENCH_TMP"/strace.out)
	case $out in
	''|fail*|0) result "$srv" sys fail ;;
	*) result "$srv" sys "$(python3 -c 'import sys
print("%.1f" % (int(sys.argv[1]) / int(sys.argv[2].rstrip("!"))))' \
	    "${calls:-0}" "$out")" ;;
	esac
	printf '  %-10s %s calls in %s connections\n' sys "$calls" "$out" >&2
}

# The servers running side by side: their indexes, and per index
# SRV_NAME_i, SRV_PID_i, SRV_PORT_i (POSIX sh has no arrays).
LIVE=

start_all()
{
	local i=0 rc
	for s in $SERVERS; do
		i=$((i + 1))
		peer_start "$s" 0
		rc=$?
		if [ $rc -ne 0 ]; then
			[ $rc -eq 2 ] || PEER_WHY="failed to start"
			echo "== $s: skipped: $PEER_WHY" >&2
			result "$s" skip "$PEER_WHY"
			peer_stop
			continue
		fi
		eval "SRV_NAME_$i=\$s SRV_PID_$i=\$PEER_PID SRV_PORT_$i=\$PEER_PORT"
		PEER_PID=
		LIVE="$LIVE $i"
	done
}

stop_all()
{
	local i
	for i in $LIVE; do
		eval "PEER_PID=\$SRV_PID_$i"
		peer_stop
	done
	LIVE=
}

# use I: make server I the one measure() and friends talk to.
use()
{
	eval "SRV=\$SRV_NAME_$1 PEER_PID=\$SRV_PID_$1 PEER_PORT=\$SRV_PORT_$1"
}

# The live servers, rotated left by $1.
rotated()
{
	echo $LIVE | awk -v k="$1" '{ for (j = 0; j < NF; j++)
	    printf "%s ", $(((j + k) % NF) + 1); print "" }'
}

# phase TEST EXPR echoc-args...: every live server, ROUNDS times.
phase()
{
	local r=0 i
	echo "== $1" >&2
	while [ $r -lt "$ROUNDS" ]; do
		for i in $(rotated $r); do
			use "$i"
			printf '  %-20s' "$SRV" >&2
			measure "$SRV" "$@"
		done
		r=$((r + 1))
	done
}

# Idle cost on a fresh instance of each server, one at a time, so the
# figure is what holding costs, not what the earlier phases left (a
# prefork pool grown to c=64 and retired at 4 idle workers a second);
# prefork: the defaults, its pool grown by the burst itself.  Memory,
# not speed: the machine's drift does not touch it.
idle_all()
{
	local s
	for s in $SERVERS; do
		grep -q "^$s	skip	" "$RESULTS" && continue
		echo "== idle: $s" >&2
		if peer_start "$s" 0; then
			sleep 0.5
			measure_idle "$s"
		else
			result "$s" idle "fail"
		fi
		peer_stop
	done
}

echo "# echod bench: $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ -x "$BUILDDIR"/bench/forkcost ]; then
	"$BUILDDIR"/bench/forkcost 2000 >"$BENCH_TMP"/forkcost
	cat "$BENCH_TMP"/forkcost >&2
fi
start_all
sleep 0.5
phase conn1 '"%.0f" % j["ops_per_s"]' --bench=conn -c 1 -d "$D"
phase conn8 '"%.0f" % j["ops_per_s"]' --bench=conn -c 8 -d "$D"
phase conn64 '"%.0f" % j["ops_per_s"]' --bench=conn -c 64 -d "$D"
phase rtt1 '"%.0f|%d" % (j["ops_per_s"], j["latency_us"]["p99"])' \
    --bench=rtt -c 1 -d "$D"
phase rtt64 '"%.0f|%d" % (j["ops_per_s"], j["latency_us"]["p99"])' \
    --bench=rtt -c 64 -d "$D"
phase bulk1 '"%.0f" % j["mb_per_s"]' --bench=bulk -c 1 -s 64M -d "$((D + 1))"
phase bulk4 '"%.0f" % j["mb_per_s"]' --bench=bulk -c 4 -s 32M -d "$((D + 1))"
echo "== syscalls" >&2
for i in $LIVE; do
	use "$i"
	case $SRV in
	echod-*) measure_syscalls "$SRV" ;;
	esac
done
stop_all
idle_all

mkdir -p "$OUT"
python3 - "$RESULTS" "$OUT" "$ROUNDS" "$SERVERS" <<'PYEOF' | tee "$OUT"/bench.md
import sys
rows = {}
order = []
for line in open(sys.argv[1]):
    srv, test, val = line.rstrip("\n").split("\t")
    if srv not in rows:
        rows[srv] = {}
        order.append(srv)
    rows[srv].setdefault(test, []).append(val)
def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
def fold(vals):
    # Rounds of one figure: the median of each part ("ops|p99"), "!"
    # if any round saw errors, "fail" only if every round failed.
    ok = [v.rstrip("!") for v in vals if not v.startswith("fail")]
    if not ok:
        return vals[0]
    cols = [[float(v.split("|")[k]) for v in ok]
            for k in range(len(ok[0].split("|")))]
    # Whole numbers stay whole (conn/s, p99 µs); KiB keep a decimal.
    out = "|".join("%d" % round(median(c))
                   if all(x.is_integer() for x in c)
                   else "%.1f" % median(c) for c in cols)
    return out + ("!" if any(v.endswith("!") for v in vals) else "")
# Rows in the order the servers were named, skipped ones included.
order.sort(key=lambda srv: sys.argv[4].split().index(srv)
           if srv in sys.argv[4].split() else len(order))
for srv in rows:
    for test in rows[srv]:
        if test != "skip":
            rows[srv][test] = fold(rows[srv][test])
        else:
            rows[srv][test] = rows[srv][test][0]
names = {
    "echod-prefork": "echod prefork (defaults, -c 1100)",
    "echod-fork-waitpid": "echod fork, reap=waitpid",
    "echod-fork-ignore": "echod fork, reap=ignore",
    "epoll_echo": "epoll_echo (single process: the ceiling)",
    "fork_echo": "fork_echo (minimal C fork per connection)",
    "fork_echo-filter-child": "fork_echo -f child (a seccomp filter installed by every child)",
    "fork_echo-filter-parent": "fork_echo -f parent (the filter inherited from the parent)",
    "openbsd-inetd": "openbsd-inetd internal echo",
    "xinetd": "xinetd internal echo",
    "tcpserver": "tcpserver -c 1100 -b 1000 + cat",
    "socat": "socat fork PIPE, backlog 1000",
    "python-forking": "Python ForkingTCPServer, queue 1000",
}
cols = [("conn1", "conn/s c=1"), ("conn8", "conn/s c=8"),
        ("conn64", "conn/s c=64"), ("rtt1", "rtt/s c=1 (p99 µs)"),
        ("rtt64", "rtt/s c=64 (p99 µs)"), ("bulk1", "bulk MB/s c=1"),
        ("bulk4", "bulk MB/s c=4"),
        ("idle", "KiB PSS/held conn (over idle)"),
        ("sys", "syscalls/conn")]
refs = [("epoll_echo", "e"), ("fork_echo", "f")]
def num(v):
    try:
        return float(v.rstrip("!").split("|")[0])
    except Exception:
        return None
def cell(test, v):
    if v is None:
        return ""
    err = "!" if v.endswith("!") else ""
    parts = v.rstrip("!").split("|")
    if parts[0] == "fail":
        return "fail"
    if test in ("idle", "sys"):
        s = parts[0]
    else:
        s = "{:,.0f}".format(float(parts[0]))
    if len(parts) > 1:
        s += " ({})".format(parts[1])
    rs = []
    for ref, tag in refs:
        r, x = num(rows.get(ref, {}).get(test, "")), num(v)
        if r and x is not None:
            rs.append("{:.2f}{}".format(x / r, tag))
    if rs:
        s += " [" + " ".join(rs) + "]"
    return s + err
print("| server | " + " | ".join(c[1] for c in cols) + " |")
print("|---|" + "---|" * len(cols))
for srv in order:
    t = rows[srv]
    name = names.get(srv, srv)
    if "skip" in t:
        print("| {} | ".format(name) + " | ".join(["skipped: " + t["skip"]] + [""] * (len(cols) - 1)) + " |")
        continue
    print("| {} | ".format(name) + " | ".join(cell(c, t.get(c)) for c, _ in cols) + " |")
print()
print("Each throughput figure: the median of %s rounds, the servers" %
      sys.argv[3])
print("running side by side and measured in turn.")
print("[x.xxe x.xxf]: ratio to epoll_echo and to fork_echo (for PSS and")
print("syscalls, lower is better).  !: echoc counted errors in that run.")
print("idle: total PSS of the server's process tree while the connections are")
print("held, per connection (in parentheses: minus the tree's PSS before).")
print("syscalls/conn: strace -f -c over the whole tree, connections made one")
print("at a time (echod only).")
# gnuplot's data: one row per server measured.
with open(sys.argv[2] + "/bench.dat", "w") as f:
    f.write("# server conn1 conn8 conn64 pss_per_conn\n")
    for srv in order:
        t = rows[srv]
        if "skip" in t:
            continue
        v = [num(t.get(c, "")) for c in ("conn1", "conn8", "conn64", "idle")]
        f.write('"{}" {}\n'.format(srv, " ".join(
            "NaN" if x is None else "%g" % x for x in v)))
PYEOF
if command -v gnuplot >/dev/null; then
	gnuplot <<GPEOF && echo "chart: $OUT/bench.png" >&2
set terminal pngcairo size 1100,800 font ",10" noenhanced
set output "$OUT/bench.png"
set multiplot layout 2,1 title "echod bench: $(uname -sr), $(nproc) CPUs"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -20 scale 0
set grid ytics
set key top right
set logscale y
set ylabel "connections/s (log scale)"
set title "conn/s (connect, 64 bytes echoed, close; log scale)"
plot "$OUT/bench.dat" using 2:xtic(1) title "c=1", \
     "" using 3 title "c=8", "" using 4 title "c=64"
set ylabel "KiB"
set key top left
set logscale y
set title "PSS per held connection (whole process tree, $IDLE held; log scale)"
plot "$OUT/bench.dat" using 5:xtic(1) title "KiB PSS / connection" lc rgb "#b03030"
unset multiplot
GPEOF
else
	echo "gnuplot not installed: no chart" >&2
fi
if [ -s "$BENCH_TMP"/forkcost ]; then
	echo
	cat "$BENCH_TMP"/forkcost
fi
# issue #12: a rules lookup costs the same for 10 and 100,000 rules.
if [ -x "$BUILDDIR"/bench/rules_bench ]; then
	echo
	"$BUILDDIR"/bench/rules_bench
fi
