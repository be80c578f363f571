"""limits_util: a small harness to drive a real echod on loopback.

Used by test_limits.py, test_udp.py and test_hardening.py (issue #5).

    with Echod(["--per-ip=2"]) as d:
        s = d.connect()
        st = d.status()          # SIGUSR1, parsed "status:" line

The daemon is started with "-l 127.0.0.1:0" (plus -u when udp=True); the
port comes from its "listening on tcp 127.0.0.1:PORT" line and start()
returns once "serving:" is logged: log lines are the only sync, never
sleeps.  Everything started is killed by pid when the block ends.

Environment:
  ECHOD           the daemon binary (the Makefile sets it)
  ECHOD_WRAPPER   a command the daemon runs under, split like a shell
                  would, e.g. "valgrind --error-exitcode=1
                  --trace-children=yes -q" (make check-valgrind).  The
                  shared harness (echodtest.py) should honour it too.
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time

ECHOD = os.environ.get("ECHOD", "src/echod")
WRAPPER = shlex.split(os.environ.get("ECHOD_WRAPPER", ""))
SLOW = 10 if WRAPPER else 1     # valgrind is slow


class Echod:
    def __init__(self, args=(), udp=False, env=None, preexec_fn=None,
                 listen="127.0.0.1:0", wait_serving=True):
        self.args = list(args)
        self.udp = udp
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.preexec_fn = preexec_fn
        self.listen = listen
        self.wait_serving = wait_serving
        self.lines = []
        self.cond = threading.Condition()
        self.proc = None
        self.port = None
        self.uport = None

    # -- lifecycle ----------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.kill()

    def start(self):
        argv = WRAPPER + [ECHOD, "-l", self.listen] + \
            (["-u"] if self.udp else []) + self.args
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=self.env,
            preexec_fn=self.preexec_fn)
        self.reader = threading.Thread(target=self._reader, daemon=True)
        self.reader.start()
        m = self.wait_for(r"listening on tcp 127\.0\.0\.1:(\d+)")
        self.port = int(m.group(1))
        if self.udp:
            m = self.wait_for(r"listening on udp 127\.0\.0\.1:(\d+)")
            self.uport = int(m.group(1))
        if self.wait_serving:
            self.wait_for(r"serving:")
        return self

    def _reader(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)     # EOF
            self.cond.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def kill(self):
        if self.proc is None:
            return
        for pid in self.descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(5)
        self.proc.stderr.close()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout * SLOW)

    # -- log ----------------------------------------------------------
    def wait_for(self, regex, timeout=5, start=0):
        """Wait for a log line matching regex (from line index start)."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout * SLOW
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    i += 1
                    if line is None:
                        raise AssertionError(
                            "echod exited (%s) before %r; log:\n%s" %
                            (self.proc.poll(), regex, self.log()))
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no %r within %ss; log:\n%s" %
                                         (regex, timeout, self.log()))
                self.cond.wait(left)

    def count(self, regex):
        rx = re.compile(regex)
        with self.cond:
            return sum(1 for l in self.lines if l is not None and
                       rx.search(l))

    def log(self):
        with self.cond:
            return "\n".join(l for l in self.lines if l is not None)

    def mark(self):
        with self.cond:
            return len(self.lines)

    # -- status -------------------------------------------------------
    def status(self):
        mark = self.mark()
        self.proc.send_signal(signal.SIGUSR1)
        m = self.wait_for(r"status: (.*)", start=mark)
        st = {}
        for w in m.group(1).split():
            k, _, v = w.partition("=")
            st[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
        return st

    def wait_status(self, pred, timeout=5):
        """Poll the status line until pred(status) holds."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            st = self.status()
            if pred(st):
                return st
            if time.monotonic() > deadline:
                raise AssertionError("status never matched: %r" % st)
            time.sleep(0.05)

    # -- processes ----------------------------------------------------
    def descendants(self):
        out, todo = [], [self.proc.pid]
        while todo:
            p = todo.pop()
            for c in children_of(p):
                out.append(c)
                todo.append(c)
        return out

    def children(self, title=None):
        kids = children_of(self.proc.pid)
        if title is None:
            return kids
        return [k for k in kids if title in cmdline(k)]

    # -- clients ------------------------------------------------------
    def connect(self, timeout=5):
        s = socket.create_connection(("127.0.0.1", self.port),
                                     timeout=timeout * SLOW)
        return s

    def udp_socket(self, bind=None, timeout=2):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if bind is not None:
            u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            u.bind(bind)
        u.settimeout(timeout * SLOW)
        return u


def children_of(pid):
    kids = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid):
    st = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    return st


def echo_ok(s, data=b"ping\n"):
    """Send data, read it back; True if it came back whole."""
    try:
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            b = s.recv(65536)
            if not b:
                return False
            got += b
        return got == data
    except OSError:
        return False


def closed_at_once(s, timeout=3):
    """True if the server closed s without sending anything."""
    s.settimeout(timeout * SLOW)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
