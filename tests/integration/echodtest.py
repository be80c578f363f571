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
"""

import atexit
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import unittest

ECHOD = os.environ.get("ECHOD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "echod")
ECHOC = os.environ.get("ECHOC") or os.path.join(os.path.dirname(ECHOD),
                                                 "echoc")

# prefork is the default model but not built yet on every branch: the
# list is the one place to widen when it is.
MODELS = [m for m in os.environ.get("ECHOD_TEST_MODELS", "fork,prefork").split(",")
          if m]
REAPS = {"fork": ["waitpid", "ignore"], "prefork": ["waitpid"]}
VARIANTS = [(m, r) for m in MODELS for r in REAPS.get(m, ["waitpid"])]

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


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind((LOCAL6, 0))
        return True
    except OSError:
        return False


# --- /proc --------------------------------------------------------------

def _stat(pid):
    """(state, ppid, starttime) of a process, or None if it is gone."""
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
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def processes():
    """{pid: (state, ppid, starttime)} for every process in /proc."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                out[int(name)] = st
    return out


def children_of(pid):
    """pids whose parent is pid (any state, zombies included)."""
    return sorted(p for p, st in processes().items() if st[1] == pid)


def zombies_of(pid):
    """pids of pid's children that are zombies (state Z)."""
    return sorted(p for p, st in processes().items()
                  if st[1] == pid and st[0] == "Z")


def proc_identity(pid):
    """(pid, starttime): tells a process from a later one with its pid."""
    st = _stat(pid)
    return None if st is None else (pid, st[2])


def identity_alive(ident):
    """Is this exact process (not a reuse of its pid) still there?"""
    st = _stat(ident[0])
    return st is not None and st[2] == ident[1] and st[0] not in ("Z", "X")


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def poll_until(pred, timeout, interval=0.02, what="condition"):
    """Call pred until it returns something true; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


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
    """Send data, half-close, read everything back to EOF."""
    s = sock_or_port
    if isinstance(s, int):
        s = connect(s, host, timeout)
    with s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s, limit=len(data) + 1)


# --- the daemon -------------------------------------------------------------

class Daemon:
    """One echod process.  Use as a context manager or call stop()."""

    READY = r"serving: model="

    def __init__(self, *args, ready=True, timeout=10.0, env=None,
                 nofile=None):
        self.args = [ECHOD] + [str(a) for a in args]
        if nofile is not None:
            # The shell execs echod: same pid, lower fd limit.
            self.args = ["sh", "-c", 'ulimit -n %d && exec "$0" "$@"'
                         % nofile] + self.args
        self.lines = []
        self.cond = threading.Condition()
        self.stdout = b""
        self.proc = None
        self.returncode = None
        self._start(env)
        if ready:
            self.wait_for(self.READY, timeout)

    def _start(self, env):
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("LISTEN_FDS", None)
        e.pop("LISTEN_PID", None)
        e.pop("JOURNAL_STREAM", None)
        if env:
            e.update(env)
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=e, close_fds=True)
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
        self.stop()
        return False

    # -- the log
    def mark(self):
        """Index of the next log line: wait_for(..., since=mark)."""
        with self.cond:
            return len(self.lines)

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_for(self, regex, timeout=5.0, since=0):
        """First log line at or after `since` matching regex: its match.

        Fails (with the log) if the time runs out or the daemon exits
        without having written such a line."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        i = since
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    i += 1
                    if m:
                        self.last_index = i
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if self.proc.poll() is not None and \
                        not self._err_thread.is_alive():
                    break
                self.cond.wait(min(left, 0.1))
        raise AssertionError("no log line matching %r within %.1fs "
                             "(daemon %s)\n--- log ---\n%s"
                             % (regex, timeout, self._state(), self.log()))

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
        m = self.wait_for(r"status: (.*)$", timeout, since)
        return parse_status(m.group(1))

    def wait_status(self, pred, timeout=10.0, what="status"):
        """Ask for status until pred(status) holds; the last status."""
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.status()
            if pred(st):
                return st
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s; last: %r"
                             % (what, st))

    def children(self):
        return children_of(self.pid)

    def zombies(self):
        return zombies_of(self.pid)

    def fds(self):
        return fd_count(self.pid)

    def wait_exit(self, timeout=10.0):
        """Wait for the daemon to exit by itself; its exit status."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("daemon still running after %.1fs\n"
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

    def stop(self):
        """Kill by pid (SIGKILL) if still running, reap, end stragglers."""
        if self.proc is None:
            return
        kids = []
        if self.proc.poll() is None:
            try:
                kids = children_of(self.pid)
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
            d.stop()
        except Exception:
            traceback.print_exc()


atexit.register(stop_all)


def run_echod(*args, timeout=10.0, env=None):
    """Run echod to completion (for command-line errors): CompletedProcess."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([ECHOD] + [str(a) for a in args],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, env=e)


# --- test programs ----------------------------------------------------------

class DaemonTestCase(unittest.TestCase):
    """A TestCase whose daemons are stopped after each test, pass or fail."""

    model = MODELS[0] if MODELS else "fork"
    reap = None

    def setUp(self):
        self._daemons = []

    def tearDown(self):
        for d in self._daemons:
            d.stop()

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
    signal.alarm(timeout)
    unittest.main(verbosity=2, buffer=False)
