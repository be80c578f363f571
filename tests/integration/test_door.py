"""test_door: the one door into a serving process (issue #9).

Serving processes die with the master even after a privilege drop;
echod -i under systemd-socket-activate and xinetd is confined like any
other serving process; a peer's UNIX socket path cannot forge a log
line; start-up errors reach stderr whatever --log says; a datagram
socket count above the UDP worker's limit is a start-up error; a
serving process that cannot be confined does not serve."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from echodtest import (ECHOD, LOCAL4, Daemon, children_of, connect,
                       identity_alive, main, model_args, poll_until,
                       proc_identity, recv_exact, run_echod)

TIMEOUT = 10.0
BUILDDIR = os.environ.get("ECHOD_BUILDDIR", os.path.dirname(
    os.path.dirname(ECHOD)))
WRAPPER = os.environ.get("ECHOD_WRAPPER")


def config_has(macro):
    try:
        with open(os.path.join(BUILDDIR, "config.h")) as f:
            return ("#define %s 1" % macro) in f.read()
    except OSError:
        return False


SECCOMP = config_has("HAVE_SECCOMP") and \
    os.environ.get("ECHOD_TEST_NO_SECCOMP") is None
HOOKS = config_has("ECHOD_TEST_HOOKS")


def nobody():
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        return None


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def fds(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


def free_port():
    with socket.socket() as s:
        s.bind((LOCAL4, 0))
        return s.getsockname()[1]


def wait_line(path, needle, timeout=TIMEOUT):
    def look():
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    if needle in line:
                        return line
        except FileNotFoundError:
            pass
        return None
    return poll_until(look, timeout, what="%r in %s" % (needle, path))


def kill_ident(ident, sig=signal.SIGKILL):
    """Signal this exact process, never a later one with its pid."""
    if ident is not None and identity_alive(ident):
        try:
            os.kill(ident[0], sig)
        except ProcessLookupError:
            pass


def echo_held(port, n):
    """n connections, each echoed once and left open."""
    socks = []
    for i in range(n):
        s = connect(port)
        msg = b"held %d\n" % i
        s.sendall(msg)
        if recv_exact(s, len(msg)) != msg:
            raise AssertionError("no echo on held connection %d" % i)
        socks.append(s)
    return socks


@unittest.skipIf(WRAPPER, "valgrind's own processes")
@unittest.skipUnless(os.geteuid() == 0 and nobody() is not None,
                     "needs root and a user nobody")
class Orphans(unittest.TestCase):
    """kill -9 of a master that kept root (-P) while its children run as
    nobody: the death signal must survive the drop."""

    def check(self, model):
        with tempfile.TemporaryDirectory(prefix="echod-door-") as d:
            pidfile = os.path.join(d, "echod.pid")
            dmn = Daemon(*(model_args(model) + [
                "-l", LOCAL4 + ":0", "-P", pidfile, "--user", "nobody",
                "-t", "0", "-v"]))
            socks = []
            idents = []
            try:
                socks = echo_held(dmn.port, 3)
                kids = dmn.children()
                idents = [proc_identity(k) for k in kids]
                idents = [i for i in idents if i is not None]
                self.assertGreaterEqual(len(idents), 3 if model == "fork"
                                        else 1)
                uid = nobody()
                for i in idents:
                    self.assertEqual(status(i[0])["Uid"].split()[0],
                                     str(uid))
                os.kill(dmn.pid, signal.SIGKILL)
                t0 = time.monotonic()
                poll_until(lambda: not any(identity_alive(i)
                                           for i in idents), 3.0,
                           what="every serving process gone")
                self.assertLess(time.monotonic() - t0, 3.0)
            finally:
                for s in socks:
                    s.close()
                for i in idents:
                    kill_ident(i)
                dmn.stop()

    def test_fork(self):
        self.check("fork")

    def test_prefork(self):
        self.check("prefork")


class Confinement:
    """Checks on one -i serving process."""

    def check_confined(self, pid, uid=None):
        st = status(pid)
        self.assertEqual(st["NoNewPrivs"], "1", st)
        if SECCOMP:
            self.assertEqual(st["Seccomp"], "2", st)
        f = fds(pid)
        # 0-2 and, at most, its one connection.
        extra = {k: v for k, v in f.items() if k > 2}
        self.assertLessEqual(len(extra), 1, f)
        for v in extra.values():
            self.assertTrue(v.startswith("socket:"), f)
        if uid is not None:
            self.assertEqual(st["Uid"].split(), [str(uid)] * 4, st)

    def served_one(self, launcher_pid, port, uid):
        """Hold a connection, find its echod, check it, end it."""
        s = connect(port)
        try:
            s.sendall(b"confined?\n")
            self.assertEqual(recv_exact(s, 10), b"confined?\n")
            kids = poll_until(lambda: children_of(launcher_pid), TIMEOUT,
                              what="echod under the launcher")
            self.assertEqual(len(kids), 1)
            self.check_confined(kids[0], uid)
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(s.recv(10), b"")
        finally:
            s.close()


SSA = shutil.which("systemd-socket-activate")


@unittest.skipIf(WRAPPER, "valgrind cannot run under the filter")
@unittest.skipUnless(SSA, "systemd-socket-activate is not installed")
class SocketActivateInetd(Confinement, unittest.TestCase):
    def run_one(self, args, uid):
        with tempfile.TemporaryDirectory(prefix="echod-door-") as d:
            port = free_port()
            log = os.path.join(d, "ssa.log")
            with open(log, "wb") as f:
                p = subprocess.Popen(
                    [SSA, "-l", "%s:%d" % (LOCAL4, port), "--accept",
                     "--inetd", os.path.abspath(ECHOD), "-i"] + args,
                    stdin=subprocess.DEVNULL, stdout=f, stderr=f)
            try:
                wait_line(log, "Listening on")
                self.served_one(p.pid, port, uid)
                wait_line(log, "died with code 0")
            finally:
                for c in children_of(p.pid):
                    kill_ident(proc_identity(c))
                p.kill()
                p.wait(TIMEOUT)

    def test_root(self):
        self.run_one([], None)

    @unittest.skipUnless(os.geteuid() == 0 and nobody() is not None,
                         "needs root and a user nobody")
    def test_user(self):
        self.run_one(["--user", "nobody"], nobody())


@unittest.skipIf(WRAPPER, "valgrind cannot run under the filter")
@unittest.skipUnless(shutil.which("xinetd") and os.geteuid() == 0,
                     "needs xinetd and root")
class XinetdNowait(Confinement, unittest.TestCase):
    def run_one(self, args, uid):
        with tempfile.TemporaryDirectory(prefix="echod-door-") as d:
            port = free_port()
            conf = os.path.join(d, "xinetd.conf")
            log = os.path.join(d, "xinetd.log")
            with open(conf, "w") as f:
                f.write("defaults\n{\n}\nservice echodtest\n{\n"
                        "\ttype = UNLISTED\n\tport = %d\n"
                        "\tbind = 127.0.0.1\n\tsocket_type = stream\n"
                        "\tprotocol = tcp\n\twait = no\n\tuser = root\n"
                        "\tserver = %s\n\tserver_args = -i %s\n"
                        "\tflags = IPv4\n\tinstances = 4\n}\n"
                        % (port, os.path.abspath(ECHOD), args))
            p = subprocess.Popen(["xinetd", "-dontfork", "-f", conf,
                                  "-filelog", log, "-pidfile",
                                  os.path.join(d, "xinetd.pid")],
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            try:
                wait_line(log, "Started working")
                self.served_one(p.pid, port, uid)
            finally:
                for c in children_of(p.pid):
                    kill_ident(proc_identity(c))
                p.kill()
                p.wait(TIMEOUT)

    def test_root(self):
        self.run_one("-v", None)

    @unittest.skipUnless(nobody() is not None, "needs a user nobody")
    def test_user(self):
        self.run_one("--user=nobody", nobody())


class Escaping(unittest.TestCase):
    """A UNIX-socket client names itself: that name reaches -v's line."""

    def check(self, model):
        with tempfile.TemporaryDirectory(prefix="echod-door-") as d:
            path = os.path.join(d, "echod.sock")
            dmn = Daemon(*(model_args(model) + ["-l", "unix:" + path,
                                                "-v"]))
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                c.bind(os.path.join(d, "cli\n<0>forged\tx"))
                c.settimeout(TIMEOUT)
                c.connect(path)
                c.sendall(b"vis\n")
                self.assertEqual(recv_exact(c, 4), b"vis\n")
                c.shutdown(socket.SHUT_WR)
                self.assertEqual(c.recv(10), b"")
                m = dmn.wait_for(r"conn unix:.*cli.*", TIMEOUT)
                self.assertIn("cli\\n<0>forged\\tx", m.group(0))
                # One line: nothing after the newline became its own.
                self.assertFalse([l for l in dmn.lines
                                  if l.startswith("<0>forged")],
                                 dmn.log())
            finally:
                c.close()
                dmn.stop()

    def test_fork(self):
        self.check("fork")

    def test_prefork(self):
        self.check("prefork")


class StartupErrors(unittest.TestCase):
    def test_syslog_pidfile_directory(self):
        with tempfile.TemporaryDirectory(prefix="echod-door-") as d:
            r = run_echod("--log=syslog", "-P", d, "-l", LOCAL4 + ":0")
            self.assertEqual(r.returncode, 1)
            self.assertIn(d.encode(), r.stderr)

    def test_too_many_datagram_sockets(self):
        # 65 datagram sockets from systemd: one more than a UDP worker
        # polls.  A start-up error naming the limit, never a silent cap.
        n = 65
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                 for _ in range(n)]
        high = []
        try:
            for s in socks:
                s.bind((LOCAL4, 0))
            base = 300
            for i, s in enumerate(socks):
                high.append(os.dup2(s.fileno(), base + i))

            def place():
                for i in range(n):
                    os.dup2(base + i, 3 + i)

            env = dict(os.environ, LISTEN_FDS=str(n))
            env.pop("LISTEN_FDNAMES", None)
            r = subprocess.run(
                ["sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; '
                 'exec "$0" "$@"', ECHOD, "-m", "fork"],
                stdin=subprocess.DEVNULL, capture_output=True,
                timeout=TIMEOUT, env=env, preexec_fn=place,
                pass_fds=tuple(range(3, 3 + n)) + tuple(high))
        finally:
            for fd in high:
                os.close(fd)
            for s in socks:
                s.close()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"at most 64", r.stderr)


@unittest.skipIf(WRAPPER, "valgrind cannot run under the filter")
@unittest.skipUnless(SECCOMP and HOOKS, "needs seccomp and the test hooks")
class FailClosed(unittest.TestCase):
    def test_unconfinable_child_does_not_serve(self):
        dmn = Daemon(*(model_args("fork") + ["-l", LOCAL4 + ":0", "-v"]),
                     env={"ECHOD_TEST_UNCONFINABLE": "1"})
        try:
            s = connect(dmn.port)
            with s:
                s.settimeout(TIMEOUT)
                try:
                    s.sendall(b"must not echo\n")
                    got = s.recv(100)
                except (ConnectionResetError, BrokenPipeError):
                    got = b""
                self.assertEqual(got, b"")
            dmn.wait_for(r"seccomp: not serving", TIMEOUT)
            dmn.wait_for(r"child \d+ exited with status 70", TIMEOUT)
        finally:
            dmn.stop()


if __name__ == "__main__":
    main()
