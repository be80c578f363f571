#!/bin/sh
# bench/run.sh: `make bench`.  Figures, not verdicts.
#
# usage: run.sh BUILDDIR [SERVER...]
#
# Starts each server on its own 127.0.0.1 port (echod in three
# configurations, the bench/ references epoll_echo and fork_echo, and
# whichever peers are installed: see bench/peers.sh), drives it with
# echoc's bench modes, and prints a Markdown table of each figure and its
# ratio to echod prefork.  Only 127.0.0.1 is ever contacted.  Every
# process it starts is stopped by pid on exit.
#
# Environment: BENCH_D (seconds per measurement, default 2),
# BENCH_IDLE (held connections, default 1000).

BUILDDIR=${1:?usage: run.sh BUILDDIR [SERVER...]}
shift
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
ECHOC=$BUILDDIR/src/echoc
D=${BENCH_D:-2}
IDLE=${BENCH_IDLE:-1000}
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/echod-bench.XXXXXX") || exit 1
RESULTS=$BENCH_TMP/results
: >"$RESULTS"
CLIENT_PID=

. "$SRCDIR"/bench/peers.sh

cleanup()
{
	[ -n "$CLIENT_PID" ] && kill -KILL "$CLIENT_PID" 2>/dev/null
	peer_stop
	rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ $# -gt 0 ]; then
	SERVERS=$*
else
	SERVERS="echod-prefork echod-fork-waitpid echod-fork-ignore epoll_echo
	    fork_echo openbsd-inetd xinetd tcpserver socat python-forking"
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

run_server()
{
	local srv=$1 rc
	echo "== $srv" >&2
	peer_start "$srv" 0
	rc=$?
	if [ $rc -eq 2 ]; then
		echo "  skipped: $PEER_WHY" >&2
		result "$srv" skip "$PEER_WHY"
		peer_stop
		return
	fi
	if [ $rc -ne 0 ]; then
		echo "  failed to start" >&2
		result "$srv" skip "failed to start"
		peer_stop
		return
	fi
	sleep 0.5
	measure "$srv" conn1 '"%.0f" % j["ops_per_s"]' --bench=conn -c 1 -d "$D"
	measure "$srv" conn8 '"%.0f" % j["ops_per_s"]' --bench=conn -c 8 -d "$D"
	measure "$srv" conn64 '"%.0f" % j["ops_per_s"]' --bench=conn -c 64 -d "$D"
	measure "$srv" rtt1 '"%.0f|%d" % (j["ops_per_s"], j["latency_us"]["p99"])' \
	    --bench=rtt -c 1 -d "$D"
	measure "$srv" rtt64 '"%.0f|%d" % (j["ops_per_s"], j["latency_us"]["p99"])' \
	    --bench=rtt -c 64 -d "$D"
	measure "$srv" bulk1 '"%.0f" % j["mb_per_s"]' --bench=bulk -c 1 -s 64M \
	    -d "$((D + 1))"
	measure "$srv" bulk4 '"%.0f" % j["mb_per_s"]' --bench=bulk -c 4 -s 32M \
	    -d "$((D + 1))"
	if [ "$srv" = echod-prefork ]; then
		# The pool grows at most 32 workers a second: hold the
		# connections on a pool started that size, like an admin would.
		peer_stop
		if ! peer_start echod-prefork-idle 0; then
			result "$srv" idle fail
			return
		fi
		sleep 1
	fi
	measure_idle "$srv"
	peer_stop
}

echo "# echod bench: $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ -x "$BUILDDIR"/bench/forkcost ]; then
	"$BUILDDIR"/bench/forkcost 2000 >"$BENCH_TMP"/forkcost
	cat "$BENCH_TMP"/forkcost >&2
fi
for s in $SERVERS; do
	run_server "$s"
done

python3 - "$RESULTS" <<'PYEOF'
import sys
rows = {}
order = []
for line in open(sys.argv[1]):
    srv, test, val = line.rstrip("\n").split("\t")
    if srv not in rows:
        rows[srv] = {}
        order.append(srv)
    rows[srv][test] = val
names = {
    "echod-prefork": "echod prefork (-w 64; idle: -w 1010)",
    "echod-fork-waitpid": "echod fork, reap=waitpid",
    "echod-fork-ignore": "echod fork, reap=ignore",
    "epoll_echo": "epoll_echo (single process: the ceiling)",
    "fork_echo": "fork_echo (minimal C fork per connection)",
    "openbsd-inetd": "openbsd-inetd internal echo",
    "xinetd": "xinetd internal echo",
    "tcpserver": "tcpserver -c 1100 -b 1000 + cat",
    "socat": "socat fork PIPE, backlog 1000",
    "python-forking": "Python ForkingTCPServer, queue 1000",
}
cols = [("conn1", "conn/s c=1"), ("conn8", "conn/s c=8"),
        ("conn64", "conn/s c=64"), ("rtt1", "rtt/s c=1 (p99 µs)"),
        ("rtt64", "rtt/s c=64 (p99 µs)"), ("bulk1", "bulk MB/s c=1"),
        ("bulk4", "bulk MB/s c=4"), ("idle", "KiB PSS/held conn (over idle)")]
ref = rows.get("echod-prefork", {})
def num(v):
    try:
        return float(v.rstrip("!").split("|")[0])
    except Exception:
        return None
def cell(test, v):
    if v is None:
        return "fail"
    err = "!" if v.endswith("!") else ""
    parts = v.rstrip("!").split("|")
    if parts[0] == "fail":
        return "fail"
    s = "{:,.0f}".format(float(parts[0])) if test != "idle" else parts[0]
    if len(parts) > 1:
        s += " ({})".format(parts[1])
    r, x = num(ref.get(test, "")), num(v)
    if r and x is not None:
        s += " [{:.2f}×]".format(x / r)
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
print("[r×]: ratio to echod prefork.  !: echoc counted errors in that run.")
print("idle: total PSS of the server's process tree while the connections are")
print("held, per connection (in parentheses: minus the tree's PSS before).")
PYEOF
if [ -s "$BENCH_TMP"/forkcost ]; then
	echo
	cat "$BENCH_TMP"/forkcost
fi
# issue #12: a rules lookup costs the same for 10 and 100,000 rules.
if [ -x "$BUILDDIR"/bench/rules_bench ]; then
	echo
	"$BUILDDIR"/bench/rules_bench
fi
