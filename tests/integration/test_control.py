#!/usr/bin/env python3
"""--control=PATH, the control socket (issue #11).

Every request, answers parsed (JSON; metrics as Prometheus text), mode
0600, a peer running as nobody refused (by the mode, and by SO_PEERCRED
when the mode is widened), a silent client delays nobody, a 10 kB line
gets an error, stale and live sockets at start-up, removal at exit.
"""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import echodtest
from echodtest import (DaemonTestCase, children_of, parametrise, poll_until,
                       run_echod)

PROM_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                         r'(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"'
                         r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? '
                         r'(-?[0-9.eE+]+|NaN|[+-]Inf)$')


def ask(path, line, timeout=5.0):
    """One request; the whole answer as text."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        try:
            s.sendall(line if isinstance(line, bytes) else
                      (line + "\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass        # it answered a too-long line before the end
        out = b""
        for _ in range(10000):
            b = s.recv(65536)
            if not b:
                break
            out += b
        return out.decode()
    finally:
        s.close()


def ask_json(path, line):
    return json.loads(ask(path, line))


def parse_prometheus(text):
    """{(name, labels): value}; fails on any line that is not valid."""
    types, out = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert typ in ("counter", "gauge"), line
            types[name] = typ
            continue
        m = PROM_SAMPLE.match(line)
        assert m, "not Prometheus text: %r" % line
        assert m.group(1) in types, "no # TYPE for %s" % m.group(1)
        out[(m.group(1), m.group(2) or "")] = float(m.group(4))
    return out


class ControlBase:
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="echod-control-")
        os.chmod(self.tmp, 0o755)       # nobody may reach the socket
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.path = os.path.join(self.tmp, "control")

    def start(self, *extra):
        d = self.daemon("--udp", "--control=" + self.path, *extra)
        poll_until(lambda: os.path.exists(self.path), 5,
                   what="the control socket")
        return d


class ControlRequests(ControlBase):
    def test_status_matches_sigusr1(self):
        d = self.start()
        st = d.status()
        js = ask_json(self.path, "status")
        for k, v in st.items():
            self.assertIn(k, js)
            if k != "model":
                self.assertIsInstance(js[k], int, k)
        self.assertEqual(js["model"], self.model)
        self.assertEqual(js["pid"], d.pid)
        self.assertIsInstance(js["generation"], int)
        self.assertLessEqual(abs(js["started"] - time.time()), 60)

    def test_workers(self):
        d = self.start()
        echodtest.echo_once(d.port, b"x\n")
        poll_until(lambda: any(w["role"] == "udp" for w in
                               ask_json(self.path, "workers")["workers"]),
                   5, what="the UDP worker in the list")
        js = ask_json(self.path, "workers")
        kids = set(children_of(d.pid))
        for w in js["workers"]:
            if w["role"] != "child":    # a fork child may be gone since
                self.assertIn(w["pid"], kids)
            self.assertIn(w["role"], ("worker", "child", "udp"))
            self.assertIn(w["state"], ("starting", "idle", "busy",
                                       "exiting"))
            for k in ("generation", "served"):
                self.assertIsInstance(w[k], int)
            self.assertIsInstance(w["seconds"], (int, float))
            self.assertTrue(w["peer"] is None or isinstance(w["peer"], str))
        if self.model == "prefork":
            self.assertGreaterEqual(
                sum(w["role"] == "worker" for w in js["workers"]), 1)

    def test_workers_peer(self):
        # SPEC: "workers" names each child's current peer, in every
        # model: a prefork worker writes it in its slot, the fork-model
        # master keeps it from the accept.
        d = self.start()
        with echodtest.connect(d.port) as s:
            s.sendall(b"held\n")
            self.assertEqual(echodtest.recv_exact(s, 5), b"held\n")
            me = "127.0.0.1:%d" % s.getsockname()[1]

            def busy_with_me():
                for w in ask_json(self.path, "workers")["workers"]:
                    if w["peer"] == me:
                        return w
                return None
            w = poll_until(busy_with_me, 5, what="a child serving " + me)
            self.assertEqual(w["state"], "busy")
            self.assertEqual(w["role"],
                             "worker" if self.model == "prefork" else "child")
            self.assertIn(w["pid"], set(children_of(d.pid)))

    def test_metrics(self):
        d = self.start()
        echodtest.echo_once(d.port, b"m\n")
        m = parse_prometheus(ask(self.path, "metrics"))
        self.assertIn(("echod_connections_served_total", ""), m)
        self.assertIn(("echod_refused_total", '{reason="per_ip"}'), m)
        self.assertIn(("echod_workers", '{state="idle"}'), m)
        poll_until(lambda: parse_prometheus(ask(self.path, "metrics"))[
            ("echod_connections_served_total", "")] >= 1, 5,
            what="served >= 1 in the metrics")

    def test_bad_requests(self):
        d = self.start()
        for req in ("bogus", "", "workers +x", "workers +0"):
            js = ask_json(self.path, req)
            self.assertIn("error", js, req)
        js = json.loads(ask(self.path, b"status " * 1500 + b"\n"))
        self.assertIn("error", js)
        js = json.loads(ask(self.path, b"x" * 10240))
        self.assertIn("error", js)
        self.assertIsNone(d.proc.poll())
        self.assertIn("model", ask_json(self.path, "status"))

    def test_reload_and_stop(self):
        d = self.start()
        since = d.mark()
        self.assertTrue(ask_json(self.path, "reload")["ok"])
        d.wait_for(r"SIGHUP", 5, since)
        self.assertTrue(ask_json(self.path, "stop")["ok"])
        self.assertEqual(d.wait_exit(15), 0)
        self.assertFalse(os.path.exists(self.path))

    def test_silent_client_delays_nothing(self):
        self.start()
        silent = []
        try:
            for _ in range(3):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.path)
                silent.append(s)
            t0 = time.monotonic()
            js = ask_json(self.path, "status")
            self.assertLess(time.monotonic() - t0, 0.5)
            self.assertIn("served", js)
            # A silent client is cut after a second.
            silent[0].settimeout(5)
            t0 = time.monotonic()
            self.assertEqual(silent[0].recv(100), b"")
            self.assertLess(time.monotonic() - t0, 2.5)
        finally:
            for s in silent:
                s.close()

    def test_mode_and_other_uid_refused(self):
        self.start()
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")
        if os.geteuid() != 0:
            self.skipTest("needs root to run a client as nobody")
        prog = ("import socket,sys\n"
                "s=socket.socket(socket.AF_UNIX)\n"
                "s.settimeout(5)\n"
                "try:\n"
                "    s.connect(sys.argv[1])\n"
                "except PermissionError:\n"
                "    print('EACCES'); sys.exit(0)\n"
                "try:\n"
                "    s.sendall(b'status\\n')\n"
                "except OSError:\n"
                "    pass\n"
                "print(s.recv(4096).decode())\n")

        py = shutil.which("python3", path="/usr/bin:/bin")
        if py is None:
            self.skipTest("no system python3 for user nobody")

        def as_nobody():
            r = subprocess.run([py, "-c", prog, self.path],
                               user=nobody.pw_uid, group=nobody.pw_gid,
                               extra_groups=[], capture_output=True,
                               timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout.decode().strip()

        self.assertEqual(as_nobody(), "EACCES")
        os.chmod(self.path, 0o666)      # past the mode: SO_PEERCRED
        out = as_nobody()
        self.assertIn("error", json.loads(out))
        self.assertNotIn("served", out)


parametrise(globals(), ControlRequests)


class ControlPrefork(ControlBase, DaemonTestCase):
    model = "prefork"

    def test_workers_plus_minus(self):
        d = self.start("-w", "2", "--min-spare=0", "--max-spare=64")
        self.assertTrue(ask_json(self.path, "workers +3")["ok"])
        d.wait_status(lambda st: st["workers"] >= 5, 10, "5 workers")
        self.assertTrue(ask_json(self.path, "workers -2")["ok"])
        d.wait_for(r"SIGTTOU: workers 3", 5)

    def test_upgrade_keeps_the_socket(self):
        d = self.start("--grace=1")
        self.assertTrue(ask_json(self.path, "upgrade")["ok"])
        m = d.wait_for(r"upgrade: new master (\d+) serving; old", 15)
        new = int(m.group(1))
        ident = echodtest.proc_identity(new)
        try:
            self.assertEqual(d.wait_exit(5), 0)
            self.assertTrue(os.path.exists(self.path))
            self.assertEqual(ask_json(self.path, "status")["pid"], new)
        finally:
            if ident and echodtest.identity_alive(ident):
                os.kill(new, signal.SIGTERM)
                poll_until(lambda: not echodtest.identity_alive(ident), 10,
                           what="the new master to stop")
        self.assertFalse(os.path.exists(self.path))

    def test_stale_and_live_socket(self):
        # A stale socket (nobody listening) is replaced.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.close()
        d = self.start()
        self.assertIn("model", ask_json(self.path, "status"))
        # A live one is a start-up error.
        r = run_echod("-l", "127.0.0.1:0", "--control=" + self.path)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"another process", r.stderr)
        self.assertIsNone(d.proc.poll())


if __name__ == "__main__":
    echodtest.main(timeout=200)
