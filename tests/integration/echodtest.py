"""echodtest: the harness the integration tests share.

Starts the real daemon ($ECHOD) on loopback with port 0, reads its stderr
in a thread, and lets a test wait for log lines, ask for the SIGUSR1
status line, look at the daemon's children in /proc, and stop it.

Rules every test here keeps:
  * only 127.0.0.1 and ::1 (and UNIX sockets in a private temp dir);
  * every wait is bounded (wait_for/status/exit all take a timeout,
    sockets have timeouts) and every loop is bounded by a count;
  * every daemon started is killed by pid and reaped: Daemon.stop() in
    tearDown / a with block, plus atexit, plus a whole-program watchdog
    (SIGALRM) that kills them all if a test hangs;
  * a program that cannot run at all here exits 77 (automake: skipped).

Process models: MODELS lists what the daemon can run; VARIANTS the
(model, reap) pairs a model-independent test should be repeated over.
parametrise() turns a mixin of tests into one TestCase per variant.
Set ECHOD_TEST_MODELS=fork,prefork to widen it once prefork is built.

This is the ONE harness module: every test file imports it (and the
standard library) only.  One launcher, _popen(), starts every echod a
test runs, under $ECHOD_WRAPPER when set (make check-valgrind puts
valgrind there) and from $ECHOD_HOOKS (the noinst tests/hooks/echod
built with the ECHOD_TEST_* fault hooks) when the environment given to
it names an ECHOD_TEST_* variable; the installed src/echod reads none.
One poll loop, _poll(), is behind every wait (wait_until, poll_until,
wait_for); every log wait is Daemon.wait_for.  The names the older
modules (prefork_util, limits_util, svcutil) exported stay here with
their signatures: Echod, wait_until, start_echod, roundtrip, ...
Where two of them clashed, one meaning was kept: echo_once is this
module's (half-close, read to EOF, close; prefork_util's send-and-read
on a kept connection is echo_keep), proc_stat is (state, ppid,
starttime) (svcutil's field list is proc_fields), children() a list.
"""

import atexit
import errno
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

ECHOD = os.environ.get("ECHOD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "echod")
ECHOC = os.environ.get("ECHOC") or os.path.join(os.path.dirname(ECHOD),
                                                 "echoc")
BUILDDIR = os.environ.get("ECHOD_BUILDDIR", ".")
# The test build of echod, with the ECHOD_TEST_* hooks compiled in.
ECHOD_HOOKS = os.environ.get("ECHOD_HOOKS") or os.path.join(
    os.path.dirname(ECHOD), "..", "tests", "hooks", "echod")
# A command every daemon runs under (make check-valgrind: valgrind).
WRAPPER = shlex.split(os.environ.get("ECHOD_WRAPPER", ""))
SLOW = 10 if WRAPPER else 1     # valgrind is slow: every bound scales
POLL = 0.02
# Why a test that tells processes apart by title skips under a wrapper.
TITLES_SKIP = ("under ECHOD_WRAPPER (valgrind) /proc/PID/cmdline shows the "
               "wrapper's argv, not echod's process titles")
TIMEOUT = 10.0 * SLOW

# prefork is the default model but not built yet on every branch: the
# list is the one place to widen when it is.
MODELS = [m for m in os.environ.get("ECHOD_TEST_MODELS", "fork,prefork").split(",")
          if m]
REAPS = {"fork": ["waitpid", "ignore"], "prefork": ["waitpid"]}
VARIANTS = [(m, r) for m in MODELS for r in REAPS.get(m, ["waitpid"])
            if not WRAPPER or r == REAPS.get(m, ["waitpid"])[0]]

SKIP = 77
LOCAL4 = "127.0.0.1"
LOCAL6 = "::1"

_live = []              # every Daemon not yet stopped
_live_lock = threading.Lock()


def model_args(model, reap=None):
    """The command-line words that select a process model."""
    args = ["--model=" + model]
    if reap is not None:
        args.append("--reap=" + reap)
    return args


def sample(seq, most):
    """seq, or under a wrapper (valgrind: each start costs seconds) at
    most `most` of its items spread evenly across it, first and last
    kept: a table-driven test then tries a cross-section of its rows."""
    seq = list(seq)
    if not WRAPPER or len(seq) <= most:
        return seq
    step = (len(seq) - 1) / (most - 1)
    return [seq[round(i * step)] for i in range(most)]


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind((LOCAL6, 0))
        return True
    except OSError:
        return False


# --- /proc --------------------------------------------------------------

def _stat(pid):
    """The fields of /proc/PID/stat after the command (state, ppid,
    pgrp, session, tty_nr, ...), or None if the process is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ESRCH):
            return None
        raise
    # comm is in parentheses and may itself contain ") ": split at the last.
    return data[data.rindex(")") + 2:].split()


def proc_stat(pid):
    """(state, ppid, starttime) of a process, or None if it is gone."""
    f = _stat(pid)
    return None if f is None else (f[0], int(f[1]), int(f[19]))


def proc_fields(pid):
    """/proc/PID/stat fields after the command: state, ppid, pgrp,
    session, tty_nr, ... (strings); fails if the process is gone."""
    f = _stat(pid)
    if f is None:
        raise FileNotFoundError("/proc/%d/stat" % pid)
    return f


def processes():
    """{pid: (state, ppid, starttime)} for every process in /proc."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                out[int(name)] = st
    return out


def child_states(ppid):
    """{pid: state} of every process whose parent is ppid, zombies too."""
    return {p: st[0] for p, st in processes().items() if st[1] == ppid}


def children_of(pid):
    """pids whose parent is pid (any state, zombies included)."""
    return sorted(child_states(pid))


def children(ppid):
    """children_of(ppid): a sorted list (iterates like the old dict)."""
    return children_of(ppid)


def live_children(ppid):
    return {p for p, s in child_states(ppid).items() if s not in ("Z", "X")}


def zombies_of(pid):
    """pids of pid's children that are zombies (state Z)."""
    return sorted(p for p, s in child_states(pid).items() if s == "Z")


def zombies(ppid):
    return set(zombies_of(ppid))


def descendants(pid):
    """Every process below pid (children, their children, ...)."""
    out, todo = [], [pid]
    while todo and len(out) < 10000:
        for c in children_of(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def alive(pid, starttime=None):
    """True while pid runs (a zombie or a reused pid is not it)."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[2] == starttime


def proc_identity(pid):
    """(pid, starttime): tells a process from a later one with its pid."""
    st = proc_stat(pid)
    return None if st is None else (pid, st[2])


def identity_alive(ident):
    """Is this exact process (not a reuse of its pid) still there?"""
    return alive(ident[0], ident[1])


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cmdline(pid):
    """The command line (or process title) of pid, NULs as spaces."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def proc_cmdline(pid):
    # setproctitle pads with spaces or NULs.
    return cmdline(pid).strip()


def proc_status(pid):
    """/proc/PID/status as {key: value string}."""
    st = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    return st


def status_ids(pid):
    """(Uid fields, Gid fields) of /proc/PID/status, as int lists."""
    st = proc_status(pid)
    return ([int(x) for x in st["Uid"].split()],
            [int(x) for x in st["Gid"].split()])


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat)."""
    f = proc_fields(pid)
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def config_defined(name):
    """Is `#define NAME 1` in the build's config.h?"""
    try:
        with open(os.path.join(BUILDDIR, "config.h")) as f:
            return re.search(r"^#define %s 1$" % re.escape(name), f.read(),
                             re.M) is not None
    except OSError:
        return False


# --- waiting ------------------------------------------------------------

class Timeout(AssertionError):
    pass


def _poll(pred, timeout, what, interval=POLL):
    """The one poll loop: call pred until it returns something true and
    return that; raise Timeout (with pred's last value) after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Timeout("timed out after %.1fs waiting for %s (last: %r)"
                          % (timeout, what, v))
        time.sleep(interval)


def poll_until(pred, timeout, interval=POLL, what="condition"):
    return _poll(pred, timeout, what, interval)


def wait_until(pred, timeout, what="condition", interval=POLL):
    return _poll(pred, timeout, what, interval)


def _scaled(timeout):
    """A bound in seconds, stretched under a wrapper (TIMEOUT already is)."""
    return timeout if timeout >= TIMEOUT else timeout * SLOW


def wait_for(pred, what, timeout=TIMEOUT, step=POLL):
    return _poll(pred, _scaled(timeout), what, step)


def file_line(path, needle):
    """The first line of the file at path containing needle, or None."""
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if needle in line:
                    return line
    except FileNotFoundError:
        pass
    return None


def wait_line(path, needle, timeout=TIMEOUT):
    """Wait until the file at path has a line containing needle."""
    return _poll(lambda: file_line(path, needle), _scaled(timeout),
                 "%r in %s" % (needle, path))


def listen_port(logpath, proto="tcp", timeout=TIMEOUT):
    """The port from echod's 'listening on tcp 127.0.0.1:PORT' line."""
    line = wait_line(logpath, "listening on %s " % proto, timeout)
    return int(line.split("listening on %s " % proto)[1].split()[0]
               .rsplit(":", 1)[1].rstrip(","))


# --- clients --------------------------------------------------------------

def connect(port, host=LOCAL4, timeout=10.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


def connect_unix(path, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(path)
    except BaseException:
        s.close()
        raise
    return s


def unix_ready(path):
    """Does something accept connections on this UNIX socket path?"""
    try:
        connect_unix(path, 1.0).close()
        return True
    except OSError:
        return False


def recv_all(s, limit=64 << 20):
    """Everything until EOF (bounded by limit bytes and the socket timeout)."""
    chunks, n = [], 0
    while n <= limit:
        b = s.recv(65536)
        if not b:
            break
        chunks.append(b)
        n += len(b)
    return b"".join(chunks)


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise AssertionError("EOF after %d of %d bytes" % (len(buf), n))
        buf += b
    return bytes(buf)


def echo_once(sock_or_port, data, host=LOCAL4, timeout=10.0):
    """Send data, half-close, read everything back to EOF (at most one
    byte more than was sent)."""
    s = sock_or_port
    if isinstance(s, int):
        s = connect(s, host, timeout * SLOW)
    with s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s, limit=len(data) + 1)


def roundtrip(port, data=b"hello, echo\n", host=LOCAL4, timeout=TIMEOUT):
    """Send data, half-close, read until EOF: return what came back."""
    with connect(port, host, timeout * SLOW) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s)


def echo_keep(s, data):
    """Send data on a connection kept open; read back as many bytes."""
    s.sendall(data)
    return recv_exact(s, len(data))


def echo_ok(s, data=b"ping\n"):
    """Send data, read it back; True if it came back whole."""
    try:
        return echo_keep(s, data) == data
    except (OSError, AssertionError):
        return False


def echo_conn(d, data, timeout=5):
    """One whole connection to daemon d: send, half-close, read to EOF."""
    return roundtrip(d.port, data, LOCAL4, timeout)


def closed_at_once(s, timeout=3):
    """True if the server closed s without sending anything."""
    s.settimeout(timeout * SLOW)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind((LOCAL4, 0))
        return s.getsockname()[1]


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="echod-test-")


# --- the daemon -------------------------------------------------------------

def echod_argv(args, env=None, nofile=None, binary=None):
    """The argv that runs echod with args: under $ECHOD_WRAPPER, and the
    hooks build when env (or ours) names an ECHOD_TEST_* variable, unless
    binary says which program to run."""
    names = list(env or ()) + list(os.environ)
    if binary is None:
        binary = ECHOD
        if any(n.startswith("ECHOD_TEST_") and n != "ECHOD_TEST_MODELS"
               for n in names):
            binary = ECHOD_HOOKS
    argv = WRAPPER + [binary] + [str(a) for a in args]
    if nofile is not None:
        # The shell execs echod: same pid, lower fd limit.
        argv = ["sh", "-c", 'ulimit -n %d && exec "$0" "$@"' % nofile] + argv
    return argv


def _popen(args, env=None, nofile=None, clean_env=True, binary=None, **kw):
    """The one launcher: every echod a test starts comes from here."""
    e = dict(os.environ)
    if clean_env:
        for k in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID",
                  "LISTEN_FDNAMES", "JOURNAL_STREAM"):
            e.pop(k, None)
    if env:
        e.update(env)
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(echod_argv(args, env, nofile, binary), env=e,
                            **kw)


def start_echod(args, logpath, env=None, **kw):
    """echod in the foreground, its stdout and stderr to logpath; env,
    when given, is the whole environment (as subprocess takes it)."""
    with open(logpath, "wb") as log:
        if env is None:
            return _popen(args, stdout=log, stderr=log, **kw)
        return subprocess.Popen(echod_argv(args, env),
                                stdin=kw.pop("stdin", subprocess.DEVNULL),
                                stdout=log, stderr=log, env=env, **kw)


def run_echod(*args, timeout=10.0, env=None):
    """Run echod to completion (for command-line errors): CompletedProcess."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(echod_argv(args, env), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout * SLOW, env=e)


def kill(p, sig=signal.SIGKILL):
    """Kill a Popen or a pid, ignoring one that is already gone."""
    pid = p.pid if hasattr(p, "pid") else p
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, TypeError):
        pass
    if hasattr(p, "wait"):
        try:
            p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pass


class Daemon:
    """One echod process, its log read in a thread.  Use as a context
    manager or call stop()."""

    READY = r"serving: model="

    def __init__(self, *args, ready=True, timeout=10.0, env=None,
                 nofile=None, preexec_fn=None, binary=None):
        self.args = echod_argv(args, env, nofile, binary)
        self.lines = []
        self.cond = threading.Condition()
        self.stdout = b""
        self.proc = None
        self.returncode = None
        self.proc = _popen(args, env, nofile, binary=binary,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           close_fds=True, preexec_fn=preexec_fn)
        self._watch()
        if ready:
            self.wait_for(self.READY, timeout)

    def _watch(self):
        self.pid = self.proc.pid
        with _live_lock:
            _live.append(self)
        self._err_thread = threading.Thread(target=self._read_stderr,
                                            daemon=True)
        self._out_thread = threading.Thread(target=self._read_stdout,
                                            daemon=True)
        self._err_thread.start()
        self._out_thread.start()

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _read_stdout(self):
        data = self.proc.stdout.read()
        self.stdout = data or b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    # -- the log
    def mark(self):
        """Index of the next log line: wait_for(..., since=mark)."""
        with self.cond:
            return len(self.lines)

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_for(self, regex, timeout=5.0, since=0, start=None, nth=1):
        """The nth log line at or after `since` (or `start`) matching
        regex: its match.  The one log wait; timeout scales with SLOW.

        Fails (with the log) if the time runs out or the daemon exits
        without having written such a line."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout * SLOW
        i = since if start is None else start
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    i += 1
                    if m:
                        nth -= 1
                    if m and nth <= 0:
                        self.last_index = i
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if self.proc.poll() is not None and \
                        not self._err_thread.is_alive():
                    break
                self.cond.wait(min(left, 0.1))
        raise Timeout("no log line matching %r within %.1fs "
                      "(daemon %s)\n--- log ---\n%s"
                      % (regex, timeout * SLOW, self._state(), self.log()))

    def wait_log(self, rx, timeout, count=1):
        """Wait until rx matches count lines; the count-th match."""
        return self.wait_for(rx, timeout, 0, nth=count)

    def find_all(self, rx):
        with self.cond:
            return [m for m in (re.search(rx, l) for l in self.lines) if m]

    def count(self, regex, since=0):
        rx = re.compile(regex)
        with self.cond:
            return sum(1 for l in self.lines[since:] if rx.search(l))

    def _state(self):
        rc = self.proc.poll()
        return "running" if rc is None else "exited %d" % rc

    # -- addresses
    def listening(self):
        """[(proto, address)] from the 'listening on' lines."""
        with self.cond:
            return [(m.group(1), m.group(2)) for m in
                    (re.search(r"listening on (\w+) (\S+)$", l)
                     for l in self.lines) if m]

    @property
    def port(self):
        """The TCP port of the first IP listener (chosen by the kernel)."""
        m = self.wait_for(r"listening on tcp (?:\d+\.\d+\.\d+\.\d+|\[[^]]*\])"
                          r":(\d+)$", 5.0)
        return int(m.group(1))

    def port_of(self, host):
        want = ("[%s]" % host) if ":" in host else host
        for proto, addr in self.listening():
            h, _, p = addr.rpartition(":")
            if proto == "tcp" and h == want:
                return int(p)
        raise AssertionError("no tcp listener on %s:\n%s" % (host, self.log()))

    # -- signals and status
    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def status(self, timeout=5.0):
        """Send SIGUSR1 and return the status line's words as a dict."""
        since = self.mark()
        self.signal(signal.SIGUSR1)
        m = self.wait_for(STATUS_RE.pattern, timeout, since)
        return parse_status(m.group(1))

    def wait_status(self, pred, timeout=10.0, what="status", interval=0.05):
        """Ask for status until pred(status) holds; the last status."""
        last = {}

        def look():
            last.clear()
            last.update(self.status())
            return pred(last)
        try:
            _poll(look, timeout * SLOW, what, interval)
        except Timeout as e:
            raise Timeout("%s; last status %r" % (e, last))
        return dict(last)

    # -- processes
    def children(self, title=None):
        """The master's children; with title, those whose process
        title contains it."""
        kids = children_of(self.pid)
        if title is None:
            return kids
        return [k for k in kids if title in cmdline(k)]

    def descendants(self):
        return descendants(self.pid)

    def zombies(self):
        return zombies_of(self.pid)

    def workers(self):
        return live_children(self.pid)

    def titles(self):
        return {p: proc_cmdline(p) for p in self.workers()}

    def idle_workers(self):
        return {p for p, t in self.titles().items()
                if t.startswith("echod: worker idle")}

    def wait_workers(self, n, timeout=5, idle=True):
        """Wait for exactly n live workers (all idle, unless idle=False).
        Idle is read from the titles, or under a wrapper (whose argv
        hides them) from the master's status line."""
        def look():
            ws = self.workers()
            if len(ws) != n:
                return None
            if idle and WRAPPER:
                st = self.status()
                return ws if (st.get("idle"), st.get("workers")) == (n, n) \
                    else None
            return ws if not idle or len(self.idle_workers()) == n else None
        return _poll(look, timeout * SLOW,
                     "%d %sworkers" % (n, "idle " if idle else ""),
                     0.2 if WRAPPER else POLL)

    # -- clients
    def connect(self, timeout=5):
        return connect(self.port, LOCAL4, timeout * SLOW)

    def hold(self, n, timeout=5):
        """n connections opened and kept (the caller closes them)."""
        return [self.connect(timeout) for _ in range(n)]

    def wait_echo(self, timeout=5):
        """Connect until one connection echoes (the daemon recovered)."""
        def one():
            with self.connect() as s:
                return echo_ok(s)
        return _poll(one, timeout * SLOW, "an echo", 0.05)

    def udp_socket(self, bind=None, timeout=2):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if bind is not None:
            u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            u.bind(bind)
        u.settimeout(timeout * SLOW)
        return u

    def fds(self):
        return fd_count(self.pid)

    def wait_exit(self, timeout=10.0):
        """Wait for the daemon to exit by itself; its exit status."""
        try:
            self.returncode = self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            raise Timeout("daemon still running after %.1fs\n"
                                 "--- log ---\n%s" % (timeout, self.log()))
        self._finish()
        return self.returncode

    def _finish(self):
        # Children may hold stderr open; don't wait for them for ever.
        self._err_thread.join(2.0)
        self._out_thread.join(2.0)
        with _live_lock:
            if self in _live:
                _live.remove(self)

    def kill(self):
        """Kill by pid (SIGKILL) if still running, reap, end stragglers."""
        if self.proc is None:
            return
        kids = []
        if self.proc.poll() is None:
            try:
                kids = descendants(self.pid)
            except OSError:
                pass
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.returncode = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        # The daemon's children die with it (PR_SET_PDEATHSIG), but a test
        # harness should not rely on what it tests: end them by pid.
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._finish()
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass

    stop = kill


class Echod(Daemon):
    """The older harnesses' daemon: echod -l 127.0.0.1:0, started at
    once.  Two call styles: Echod(["--per-ip=2"], udp=True) (the list
    is the whole argument list; limits_util) and Echod("--workers=3")
    (words, -v added; prefork_util).  stop() here is a SIGTERM and a
    wait for the exit status; kill() ends it."""

    READY = r"serving:"
    port = None         # set once the listener is known, not a property

    def __init__(self, *args, udp=False, env=None, preexec_fn=None,
                 listen="127.0.0.1:0", wait_serving=True, binary=None):
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = list(args[0])
        else:
            args = ["-v"] + list(args)
        self.udp = udp
        self.uport = None
        argv = ["-l", listen] + (["-u"] if udp else []) + args
        super().__init__(*argv, ready=False, env=env, preexec_fn=preexec_fn,
                         binary=binary)
        try:
            if listen.startswith("127.0.0.1:"):
                self.port = int(self.wait_for(
                    r"listening on tcp 127\.0\.0\.1:(\d+)").group(1))
            if udp:
                self.uport = int(self.wait_for(
                    r"listening on udp 127\.0\.0\.1:(\d+)").group(1))
            if wait_serving:
                self.wait_for(self.READY)
        except BaseException:
            self.kill()
            raise

    def start(self):
        return self

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.proc.send_signal(sig)
        return self.wait_exit(timeout)


STATUS_RE = re.compile(r"status: (.*)$")


def parse_status(text):
    """'model=fork workers=0 ...' -> {'model': 'fork', 'workers': 0, ...}"""
    out = {}
    for word in text.split():
        k, sep, v = word.partition("=")
        if not sep:
            continue
        try:
            out[k] = int(v)
        except ValueError:
            out[k] = v
    return out


def stop_all():
    with _live_lock:
        live = list(_live)
    for d in live:
        try:
            d.kill()
        except Exception:
            traceback.print_exc()


atexit.register(stop_all)


# --- test programs ----------------------------------------------------------

class DaemonTestCase(unittest.TestCase):
    """A TestCase whose daemons are stopped after each test, pass or fail."""

    model = MODELS[0] if MODELS else "fork"
    reap = None

    def setUp(self):
        self._daemons = []

    def tearDown(self):
        for d in self._daemons:
            d.kill()

    def daemon(self, *args, **kw):
        """Start echod on 127.0.0.1:0 (unless -l is given) with this
        test's model and reap mode, -v, and the given arguments."""
        args = list(args)
        if not any(str(a).startswith(("-l", "--listen")) for a in args):
            args = ["-l", LOCAL4 + ":0"] + args
        base = model_args(self.model, self.reap) + ["-v"]
        d = Daemon(*(base + args), **kw)
        self._daemons.append(d)
        return d


def parametrise(namespace, mixin, variants=None):
    """Define mixin_MODEL_REAP TestCases in namespace, one per variant."""
    for model, reap in (variants if variants is not None else VARIANTS):
        name = "%s_%s_%s" % (mixin.__name__, model, reap)
        namespace[name] = type(name, (mixin, DaemonTestCase),
                               {"model": model, "reap": reap,
                                "__module__": namespace["__name__"]})


def _watchdog(signum, frame):
    sys.stderr.write("echodtest: watchdog (signal %d): killing daemons\n"
                     % signum)
    traceback.print_stack(frame, file=sys.stderr)
    stop_all()
    sys.stderr.flush()
    os._exit(1 if signum == signal.SIGALRM else 128 + signum)


def main(timeout=100):
    """unittest.main with a whole-program time bound; exit 77 if echod
    cannot run here at all."""
    if not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"):
        sys.stderr.write("echodtest: needs Linux /proc: skipped\n")
        sys.exit(SKIP)
    if not os.access(ECHOD, os.X_OK):
        sys.stderr.write("echodtest: %s is not built: skipped\n" % ECHOD)
        sys.exit(SKIP)
    if not VARIANTS:
        sys.stderr.write("echodtest: ECHOD_TEST_MODELS is empty: skipped\n")
        sys.exit(SKIP)
    signal.signal(signal.SIGALRM, _watchdog)
    signal.signal(signal.SIGTERM, _watchdog)
    signal.alarm(timeout * (6 if WRAPPER else 1))
    unittest.main(verbosity=2, buffer=False)
