"""prefork_util: a small harness for driving a real echod on loopback.

Python 3 standard library only.  Environment (set by `make check`):
ECHOD, ECHOC (paths to the programs), ECHOD_BUILDDIR (for config.h).

Nothing here synchronises on a sleep: every wait is a bounded poll of
the daemon's log, of a status line it was asked for (SIGUSR1), or of
/proc, and fails with what it last saw when the bound runs out.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time

ECHOD = os.environ.get("ECHOD", "src/echod")
ECHOC = os.environ.get("ECHOC", "src/echoc")
BUILDDIR = os.environ.get("ECHOD_BUILDDIR", ".")

POLL = 0.02


class Timeout(AssertionError):
    pass


def wait_until(pred, timeout, what="condition", interval=POLL):
    """Poll pred() until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise Timeout("timed out after %.1fs waiting for %s (last: %r)"
                          % (timeout, what, last))
        time.sleep(interval)


def config_defined(name):
    try:
        with open(os.path.join(BUILDDIR, "config.h")) as f:
            return re.search(r"^#define %s 1$" % re.escape(name), f.read(),
                             re.M) is not None
    except OSError:
        return False


# ---- /proc ---------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, starttime) of pid, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except OSError:
        return ""
    # setproctitle pads with spaces or NULs.
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def children(ppid):
    """{pid: state} of every process whose parent is ppid, zombies too."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st is not None and st[1] == ppid:
            out[int(d)] = st[0]
    return out


def live_children(ppid):
    return {p for p, s in children(ppid).items() if s not in ("Z", "X")}


def zombies(ppid):
    return {p for p, s in children(ppid).items() if s == "Z"}


def alive(pid, starttime=None):
    """True while pid runs (a zombie or a reused pid is not it)."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[2] == starttime


# ---- the daemon ----------------------------------------------------------

STATUS_RE = re.compile(r"status: (.*)$")


class Echod:
    """One echod in the foreground, its stderr in a file we poll."""

    def __init__(self, *args, env=None, listen="127.0.0.1:0"):
        self.logf = tempfile.NamedTemporaryFile(
            prefix="echod-", suffix=".log", delete=False)
        # O_APPEND: master and workers all write lines to it.
        out = open(self.logf.name, "ab")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.argv = [ECHOD, "-l", listen, "-v"] + list(args)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out, env=e)
        out.close()
        self.pid = self.proc.pid
        self.nstatus = 0
        try:
            m = self.wait_log(r"listening on tcp 127\.0\.0\.1:(\d+)", 5)
            self.port = int(m.group(1))
            self.wait_log(r"serving: model=prefork", 5)
        except BaseException:
            self.kill()
            raise

    # -- log --
    def log(self):
        with open(self.logf.name, errors="replace") as f:
            return f.read()

    def lines(self):
        return self.log().splitlines()

    def find_all(self, rx):
        return [m for m in (re.search(rx, l) for l in self.lines()) if m]

    def wait_log(self, rx, timeout, count=1):
        """Wait until rx matches count lines; return the count-th match."""
        def look():
            ms = self.find_all(rx)
            if len(ms) >= count:
                return ms[count - 1]
            if self.proc.poll() is not None:
                raise AssertionError("echod exited (%s) while waiting "
                                     "for %r; log:\n%s"
                                     % (self.proc.returncode, rx, self.log()))
            return None
        try:
            return wait_until(look, timeout, "log line %r" % rx)
        except Timeout as e:
            raise Timeout("%s; log:\n%s" % (e, self.log()[-4000:]))

    # -- status --
    def status(self, timeout=3):
        """Ask for a status line (SIGUSR1); return it as a dict."""
        self.nstatus += 1
        os.kill(self.pid, signal.SIGUSR1)
        m = self.wait_log(r"status: (.*)$", timeout, count=self.nstatus)
        st = {}
        for w in m.group(1).split():
            k, _, v = w.partition("=")
            st[k] = int(v) if v.lstrip("-").isdigit() else v
        return st

    def wait_status(self, pred, timeout, what="status", interval=0.1):
        last = {}

        def look():
            last.clear()
            last.update(self.status())
            return pred(last)
        try:
            wait_until(look, timeout, what, interval)
        except Timeout as e:
            raise Timeout("%s; last status %r" % (e, last))
        return dict(last)

    # -- processes --
    def workers(self):
        return live_children(self.pid)

    def titles(self):
        return {p: proc_cmdline(p) for p in self.workers()}

    def idle_workers(self):
        return {p for p, t in self.titles().items()
                if t.startswith("echod: worker idle")}

    def wait_workers(self, n, timeout=5, idle=True):
        """Wait for exactly n live workers (all idle, unless idle=False)."""
        def look():
            ws = self.idle_workers() if idle else self.workers()
            return ws if len(ws) == n and len(self.workers()) == n else None
        return wait_until(look, timeout,
                          "%d %sworkers" % (n, "idle " if idle else ""))

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Timeout("echod did not exit within %.1fs; log:\n%s"
                          % (timeout, self.log()[-4000:]))

    def kill(self):
        """Kill the master and every child of it still there, by pid."""
        pids = []
        if self.proc.poll() is None:
            pids = sorted(children(self.pid))
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.logf.close()
        try:
            os.unlink(self.logf.name)
        except OSError:
            pass

    # -- clients --
    def connect(self, timeout=5):
        s = socket.create_connection(("127.0.0.1", self.port), timeout)
        s.settimeout(timeout)
        return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            break
        buf += b
    return buf


def echo_once(s, data):
    s.sendall(data)
    return recv_exact(s, len(data))


def echo_conn(d, data, timeout=5):
    """One whole connection: send, half-close, read to EOF."""
    with d.connect(timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            b = s.recv(65536)
            if not b:
                return buf
            buf += b
