#!/usr/bin/env python3
"""test_haproxy: the real HAProxy (Debian's haproxy package) in front of
two echod with --proxy-from=127.0.0.1, using contrib/haproxy/echod.cfg
with only its addresses, log target and stats socket rewritten (issue
#12).  HAProxy runs in the foreground (-db) on a free loopback port and
is killed by pid.  Skipped (77) when haproxy is not installed."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import echodtest
from echodtest import Daemon, poll_until

HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None)
CFG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "contrib", "haproxy", "echod.cfg")


def free_port():
    s = socket.socket()
    with s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect_from(src, port, timeout=10.0):
    s = socket.socket()
    try:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
    except BaseException:
        s.close()
        raise
    return s


class Haproxy:
    """haproxy -db with a config generated from contrib/haproxy."""

    def __init__(self, tmp, ports, balance=None):
        self.port = free_port()
        self.sock = os.path.join(tmp, "haproxy.sock")
        with open(CFG) as f:
            text = f.read()
        text = text.replace("log /dev/log local0",
                            "log stderr format raw local0")
        text = re.sub(r"#\s*stats socket \S+",
                      "stats socket " + self.sock, text)
        text = text.replace("maxconn 20000", "maxconn 1000")
        text = text.replace("bind :7", "bind 127.0.0.1:%d" % self.port)
        text = re.sub(r"\tserver echod.*\n", "", text)
        text += "".join("\tserver echod%d 127.0.0.1:%d\n" % (i + 1, p)
                        for i, p in enumerate(ports))
        if balance:
            text = text.replace("balance leastconn", "balance " + balance)
        self.cfg = os.path.join(tmp, "echod.cfg")
        with open(self.cfg, "w") as f:
            f.write(text)
        self.lines = []
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()
        poll_until(lambda: self.proc.poll() is not None or self.ready(), 10,
                   what="haproxy to listen")
        if self.proc.poll() is not None:
            raise AssertionError("haproxy exited: %s" % "\n".join(self.lines))

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip())

    def ready(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return os.path.exists(self.sock)
        except OSError:
            return False

    def status(self):
        """{server: "UP"/"DOWN"/...} from the stats socket."""
        s = socket.socket(socket.AF_UNIX)
        with s:
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(b"show stat\n")
            data = echodtest.recv_all(s)
        out = {}
        for line in data.decode().splitlines():
            f = line.split(",")
            if len(f) > 17 and f[0] == "echod" and f[1].startswith("echod"):
                out[f[1]] = f[17]
        return out

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()


@unittest.skipIf(HAPROXY is None, "haproxy is not installed")
class Balanced(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.daemons = []
        self.hap = None

    def tearDown(self):
        if self.hap is not None:
            self.hap.stop()
        for d in self.daemons:
            d.stop()
        self.tmp.cleanup()

    def echod(self, port=0, *extra):
        d = Daemon("-l", "127.0.0.1:%d" % port, "--proxy-from=127.0.0.1",
                   "-v", *extra)
        self.daemons.append(d)
        return d

    def all_up(self):
        return poll_until(lambda: set(self.hap.status().values()) ==
                          {"UP"}, 10, what="both echod UP in haproxy")

    def test_addresses_bytes_and_per_ip(self):
        a = self.echod(0, "--per-ip=2")
        b = self.echod(0, "--per-ip=2")
        # balance source: a client always meets the same echod, so its
        # --per-ip holds for the whole service.
        self.hap = Haproxy(self.tmp.name, [a.port, b.port], "source")
        self.all_up()
        data = os.urandom(300000)
        self.assertEqual(echodtest.echo_once(
            connect_from("127.0.0.2", self.hap.port), data), data)
        poll_until(lambda: a.count(r"conn 127\.0\.0\.2:\d+ ") +
                   b.count(r"conn 127\.0\.0\.2:\d+ ") == 1, 10,
                   what="the client's own address in a -v line")
        # --per-ip=2 per client through the balancer.
        held = [connect_from("127.0.0.3", self.hap.port) for _ in range(2)]
        for s in held:
            s.sendall(b"x\n")
            self.assertEqual(echodtest.recv_exact(s, 2), b"x\n")
        third = connect_from("127.0.0.3", self.hap.port)
        with third:
            try:
                third.sendall(b"y\n")
                self.assertEqual(third.recv(10), b"")
            except ConnectionResetError:
                pass
        poll_until(lambda: a.count(r"refused 127\.0\.0\.3: --per-ip 2") +
                   b.count(r"refused 127\.0\.0\.3: --per-ip 2") == 1, 10,
                   what="the per-ip refusal of the header's address")
        self.assertEqual(echodtest.echo_once(
            connect_from("127.0.0.4", self.hap.port), b"other\n"),
            b"other\n")
        for s in held:
            s.close()
        self.assertEqual(set(self.hap.status().values()), {"UP"})

    @unittest.skipIf(echodtest.WRAPPER, "HAProxy's 1 s health checks race a restart under valgrind")
    def test_failover(self):
        a = self.echod(0)
        b = self.echod(0)
        bport = b.port
        self.hap = Haproxy(self.tmp.name, [a.port, bport])
        self.all_up()
        bench = subprocess.Popen(
            [echodtest.ECHOC, "--bench=conn", "-c", "8", "-d", "6", "--json",
             "127.0.0.1", str(self.hap.port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            poll_until(lambda: b.count(r"in=64 ") > 50, 10,
                       what="traffic on the second echod")
            os.kill(b.pid, signal.SIGKILL)
            t0 = time.monotonic()
            b.wait_exit(5)
            self.daemons.remove(b)
            poll_until(lambda: self.hap.status().get("echod2") == "DOWN",
                       5, what="haproxy to mark echod2 DOWN")
            # inter 500ms, fall 2 (or at once, observe layer4).
            down_s = time.monotonic() - t0
            self.assertLess(down_s, 2.5)
            b2 = self.echod(bport)
            poll_until(lambda: self.hap.status().get("echod2") == "UP", 5,
                       what="haproxy to take echod2 back")
            poll_until(lambda: b2.count(r"conn 127\.0\.0\.1:\d+ -> "
                                        r"\S+ in=64 ") > 10, 5,
                       what="client traffic on the restarted echod")
            out, err = bench.communicate(timeout=30)
        finally:
            if bench.poll() is None:
                os.kill(bench.pid, signal.SIGKILL)
                bench.wait()
        j = json.loads([l for l in out.decode().splitlines()
                        if l.startswith("{")][-1])
        print("failover: ops=%d errors=%r, DOWN after %.2fs"
              % (j["ops"], j["errors"], down_s), flush=True)
        self.assertGreater(j["ops"], 1000)
        # No more failures than connections in flight on the dead one.
        self.assertLessEqual(j["errors_total"], 8, j["errors"])


if __name__ == "__main__":
    echodtest.main(timeout=120)
