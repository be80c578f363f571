#!/usr/bin/env python3
"""echoctl(8): usage, exit statuses, and output against the real echod's
control socket (--control), plus two fake peers for what echod never
sends (an error reply, a hostile or broken reply)."""

import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import unittest

import echodtest as et

ECHOCTL = os.environ.get("ECHOCTL") or os.path.join(
    os.path.dirname(et.ECHOD), "echoctl")


def echoctl(*args, timeout=10):
    return subprocess.run([ECHOCTL] + [str(a) for a in args],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, text=True)


class FakeControl:
    """A UNIX socket that answers every request with `reply` (bytes)."""

    def __init__(self, path, reply):
        self.path, self.reply, self.requests = path, reply, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        with c:
            c.settimeout(5)
            self.requests.append(c.recv(1024))
            c.sendall(self.reply)

    def close(self):
        self.sock.close()
        self.thread.join(10)


class Usage(unittest.TestCase):
    def test_usage_errors_exit_64(self):
        for args in ([], ["bogus"], ["workers", "x"], ["workers", "+0"],
                     ["workers", "+99999"], ["status", "extra"], ["-Z"]):
            r = echoctl(*args)
            self.assertEqual(r.returncode, 64, (args, r.stderr))
            self.assertIn("usage: echoctl", r.stderr)

    def test_help_and_version(self):
        self.assertEqual(echoctl("--help").returncode, 0)
        r = echoctl("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^echoctl \d")

    def test_absent_socket_names_path_and_error(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "nothing")
            r = echoctl("-s", path, "status")
            self.assertEqual(r.returncode, 1)
            self.assertIn(path, r.stderr)
            self.assertIn("No such file or directory", r.stderr)


class FakePeer(unittest.TestCase):
    def run_fake(self, reply, *args):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ctl")
            fake = FakeControl(path, reply)
            try:
                r = echoctl("-s", path, *args)
            finally:
                fake.close()
            return r, fake.requests

    def test_error_reply_exit_1(self):
        r, req = self.run_fake(b'{"error": "no such thing"}', "reload")
        self.assertEqual(req, [b"reload\n"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("echod: no such thing", r.stderr)
        r, _ = self.run_fake(b'{"error": "x"}', "--json", "status")
        self.assertEqual(r.returncode, 1)

    def test_malformed_reply_exit_1(self):
        r, _ = self.run_fake(b'{"served": 1,', "status")
        self.assertEqual(r.returncode, 1)
        self.assertIn("malformed reply", r.stderr)

    def test_workers_request_and_escaped_peer(self):
        reply = json.dumps({"workers": [
            {"pid": 10, "role": "worker", "state": "busy", "generation": 1,
             "served": 3, "seconds": 2, "peer": "\x1b[2Jevil\n"},
            {"pid": 11, "role": "worker", "state": "idle", "generation": 1,
             "served": 0, "seconds": 5, "peer": None}]}).encode()
        r, req = self.run_fake(reply, "workers")
        self.assertEqual(req, [b"workers\n"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("\x1b", r.stdout)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "Scoreboard: W_")
        self.assertTrue(lines[1].startswith("PID"))
        self.assertRegex(lines[2], r"^10\s+worker\s+busy\s+1\s+3\s+2\s+\?\[2Jevil\?$")
        self.assertRegex(lines[3], r"^11\s+worker\s+idle\s+1\s+0\s+5\s+-$")


    def test_workers_step_is_an_action(self):
        reply = b'{"ok": true, "action": "workers", "change": -2}\n'
        r, req = self.run_fake(reply, "workers", "-2")
        self.assertEqual(req, [b"workers -2\n"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^change\s+-2$")


class RealDaemon(et.DaemonTestCase):
    model = "prefork"

    def setUp(self):
        super().setUp()
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "control")
        self.d = self.daemon("--control=" + self.path, "--workers=2")
        et.poll_until(lambda: os.path.exists(self.path), 10,
                      what="control socket")

    def tearDown(self):
        super().tearDown()
        self.dir.cleanup()

    def test_status_aligned_and_json(self):
        et.echo_once(self.d.port, b"hello")
        r = echoctl("-s", self.path, "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertGreater(len(lines), 5)
        col = None
        for line in lines:
            m = re.match(r"^(\S+)(\s+)\S", line)
            self.assertIsNotNone(m, line)
            start = m.end() - 1
            col = start if col is None else col
            self.assertEqual(start, col, "values not aligned: %r" % line)
        r = echoctl("-s", self.path, "--json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = json.loads(r.stdout)
        self.assertEqual(st["pid"], self.d.pid)
        self.assertEqual(st["model"], "prefork")

    def test_workers_table_matches_processes(self):
        self.d.wait_status(lambda s: s.get("workers") == 2, 10,
                           what="2 workers")
        r = echoctl("-s", self.path, "workers")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        board = lines[0].split(": ", 1)[1]
        rows = [l for l in lines[2:] if l.strip()]
        self.assertEqual(len(board), len(rows))
        pids = {int(l.split()[0]) for l in rows if l.split()[1] == "worker"}
        self.assertTrue(pids <= set(self.d.children()), (pids, lines))
        self.assertEqual(len(pids), 2)

    def test_metrics_and_actions(self):
        r = echoctl("-s", self.path, "metrics")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^# TYPE echod_\w+ (counter|gauge)$")
        r = echoctl("-s", self.path, "workers", "+2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.d.wait_status(lambda s: s.get("workers", 0) >= 4, 15,
                           what="pool grown by 2")
        r = echoctl("-s", self.path, "reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = echoctl("-s", self.path, "stop")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.wait_exit(15), 0)


if __name__ == "__main__":
    et.main(timeout=120)
