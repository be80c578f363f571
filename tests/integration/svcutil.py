"""svcutil: helpers for the launcher tests (inetd, systemd, daemon).

Everything waits on an event (a log line, a file, a port answering),
never on a fixed sleep; every process a test starts is killed by pid in
its finally clause.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time

ECHOD = os.environ.get("ECHOD", "src/echod")
TIMEOUT = 10.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, what, timeout=TIMEOUT, step=0.02):
    """Poll pred() until it is true; fail naming what did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)


def wait_line(path, needle, timeout=TIMEOUT):
    """Wait until the file at path has a line containing needle."""
    def look():
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    if needle in line:
                        return line
        except FileNotFoundError:
            pass
        return None
    return wait_for(look, "%r in %s" % (needle, path), timeout)


def roundtrip(port, data=b"hello, echo\n", host="127.0.0.1", timeout=TIMEOUT):
    """Send data, half-close, read until EOF: return what came back."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(65536)
            if not b:
                return got
            got += b


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


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def status_ids(pid):
    """(Uid fields, Gid fields) of /proc/PID/status, as int lists."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid"):
                out[k] = [int(x) for x in v.split()]
    return out["Uid"], out["Gid"]


def proc_stat(pid):
    """/proc/PID/stat fields after the command: state, ppid, pgrp,
    session, tty_nr, ..."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(") ", 1)[1].split()


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="echod-svc-")


def start_echod(args, logpath, env=None, **kw):
    """echod in the foreground, its stderr to logpath."""
    log = open(logpath, "wb")
    try:
        return subprocess.Popen([ECHOD] + args, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env, **kw)
    finally:
        log.close()


def listen_port(logpath, proto="tcp", timeout=TIMEOUT):
    """The port from echod's 'listening on tcp 127.0.0.1:PORT' line."""
    line = wait_line(logpath, "listening on %s " % proto, timeout)
    return int(line.split("listening on %s " % proto)[1].split()[0]
               .rsplit(":", 1)[1].rstrip(","))
