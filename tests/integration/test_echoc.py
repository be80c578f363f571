#!/usr/bin/env python3
"""test_echoc.py: echoc, both modes, against known servers.

bad_echo (tests/helpers/bad_echo.c) plays a good echo server and faulty
ones (flip a byte, reset, hang); a closed port gives refusals; echod is
tried too when it serves (that class is skipped when it cannot start).
Every run is short (-d under a second or -n small) and every process
started here is killed by pid.  Standard library only; exit 77 to skip.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from echodtest import BUILDDIR, ECHOC, ECHOD, WRAPPER
BAD_ECHO = os.path.join(BUILDDIR, "tests", "helpers", "bad_echo")

KEYS = ["mode", "concurrency", "seconds", "ops", "ops_per_s", "bytes",
        "mb_per_s", "latency_us", "errors", "errors_total"]
LAT_KEYS = ["p50", "p90", "p99", "p999", "max"]
ERR_KEYS = ["refused", "reset", "timeout", "mismatch", "short"]
MODES = ["conn", "rtt", "bulk", "idle"]


def stop(proc):
    """End a process we started, by its pid, and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class BadEcho:
    """bad_echo MODE, on 127.0.0.1, for the length of a with block."""

    def __init__(self, mode):
        self.mode = mode
        self.proc = None
        self.port = None

    def __enter__(self):
        self.proc = subprocess.Popen([BAD_ECHO, self.mode, "60"],
                                     stdout=subprocess.PIPE)
        try:
            line = self.proc.stdout.readline()
            self.port = int(line)
        except Exception:
            stop(self.proc)
            raise
        return self

    def __exit__(self, *exc):
        stop(self.proc)
        self.proc.stdout.close()


def echoc(*args, stdin=None, timeout=60):
    return subprocess.run([ECHOC] + [str(a) for a in args],
                          input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def closed_port():
    """A port on 127.0.0.1 that nothing listens on (just freed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bench_args(mode, extra=()):
    """Small, bounded settings per mode."""
    args = ["--bench=" + mode, "--json"]
    if mode == "bulk":
        args += ["-s", "256K"]
    if mode == "idle":
        args += ["-c", "20"]
    else:
        args += ["-c", "2"]
    return args + list(extra)


class JsonMixin:
    def result(self, r):
        lines = r.stdout.decode().strip().splitlines()
        self.assertTrue(lines, "no output; stderr: %r" % r.stderr)
        obj = json.loads(lines[-1])
        for k in KEYS:
            self.assertIn(k, obj)
        for k in LAT_KEYS:
            self.assertIn(k, obj["latency_us"])
        for k in ERR_KEYS:
            self.assertIn(k, obj["errors"])
        self.assertEqual(obj["errors_total"], sum(obj["errors"].values()))
        return obj


class SendMode(unittest.TestCase):
    def test_args_good(self):
        with BadEcho("good") as s:
            r = echoc("127.0.0.1", s.port, "hello", "two words", "")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"hello\ntwo words\n\n")

    def test_stdin_good(self):
        with BadEcho("good") as s:
            r = echoc("-4", "127.0.0.1", s.port, stdin=b"one\ntwo\nthree")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"one\ntwo\nthree\n")

    def test_flip(self):
        with BadEcho("flip") as s:
            r = echoc("127.0.0.1", s.port, "hello", "world")
        self.assertEqual(r.returncode, 1)
        # The differing reply is printed all the same.
        self.assertEqual(r.stdout, b"iello\nworld\n")
        self.assertIn(b"differs", r.stderr)

    def test_udp(self):
        with BadEcho("good") as s:
            r = echoc("-u", "127.0.0.1", s.port, "ping", "pong")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"ping\npong\n")
        with BadEcho("flip") as s:
            r = echoc("-u", "127.0.0.1", s.port, "ping")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, b"qing\n")

    def test_refused(self):
        port = closed_port()
        r = echoc("127.0.0.1", port, "hello")
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("127.0.0.1", err)
        self.assertIn(str(port), err)
        self.assertIn("refused", err)

    def test_hang_times_out(self):
        with BadEcho("hang") as s:
            t0 = time.monotonic()
            r = echoc("-t", "0.5", "127.0.0.1", s.port, "hello")
        self.assertEqual(r.returncode, 1)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn(b"no reply", r.stderr)


class Bench(JsonMixin, unittest.TestCase):
    def test_good_every_mode(self):
        with BadEcho("good") as s:
            for mode in MODES:
                with self.subTest(mode=mode):
                    r = echoc(*bench_args(mode, ["-d", "0.5", "127.0.0.1",
                                                 s.port]))
                    obj = self.result(r)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(obj["mode"], mode)
                    self.assertEqual(obj["errors_total"], 0)
                    self.assertGreater(obj["ops"], 0)
                    self.assertGreater(obj["bytes"], 0)
                    self.assertGreater(obj["latency_us"]["max"], 0)
                    if mode == "idle":
                        self.assertEqual(obj["ops"], 20)

    def test_count(self):
        with BadEcho("good") as s:
            for mode in ["conn", "rtt", "bulk"]:
                with self.subTest(mode=mode):
                    r = echoc(*bench_args(mode, ["-n", "40", "127.0.0.1",
                                                 s.port]))
                    obj = self.result(r)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(obj["ops"], 40)
                    self.assertEqual(obj["latency_us"]["samples"], 40)

    def test_human_output(self):
        with BadEcho("good") as s:
            r = echoc("--bench=rtt", "-d", "0.3", "127.0.0.1", s.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        for word in ["ops", "/s", "MB/s", "p50", "p90", "p99", "max",
                     "errors", "refused", "mismatch"]:
            self.assertIn(word, out)
        self.assertEqual(r.stderr, b"")  # no progress line off a tty

    def test_flip(self):
        with BadEcho("flip") as s:
            for mode in MODES:
                with self.subTest(mode=mode):
                    r = echoc(*bench_args(mode, ["-d", "0.3", "127.0.0.1",
                                                 s.port]))
                    obj = self.result(r)
                    self.assertEqual(r.returncode, 1)
                    self.assertGreater(obj["errors"]["mismatch"], 0)
                    self.assertIn(b"mismatch", r.stderr)

    def test_reset(self):
        with BadEcho("reset") as s:
            for mode in MODES:
                with self.subTest(mode=mode):
                    r = echoc(*bench_args(mode, ["-d", "0.3", "127.0.0.1",
                                                 s.port]))
                    obj = self.result(r)
                    self.assertEqual(r.returncode, 1)
                    e = obj["errors"]
                    self.assertGreater(e["reset"] + e["short"], 0)

    def test_hang(self):
        with BadEcho("hang") as s:
            for mode in MODES:
                with self.subTest(mode=mode):
                    t0 = time.monotonic()
                    r = echoc(*bench_args(mode, ["-d", "0.3", "-t", "0.3",
                                                 "127.0.0.1", s.port]))
                    obj = self.result(r)
                    self.assertEqual(r.returncode, 1)
                    self.assertGreater(obj["errors"]["timeout"], 0)
                    self.assertEqual(obj["ops"], 0)
                    self.assertLess(time.monotonic() - t0, 10)

    def test_max_time(self):
        # A stream that cannot finish is cut by --max-time and counted.
        with BadEcho("hang") as s:
            r = echoc("--bench=rtt", "--json", "-n", "5", "-t", "30",
                      "--max-time=0.5", "127.0.0.1", s.port)
        obj = self.result(r)
        self.assertEqual(r.returncode, 1)
        self.assertGreater(obj["errors"]["timeout"], 0)

    def test_refused(self):
        port = closed_port()
        for mode in MODES:
            with self.subTest(mode=mode):
                extra = ["-d", "0.2"] if mode == "idle" else ["-n", "3"]
                r = echoc(*bench_args(mode, extra + ["127.0.0.1", port]))
                obj = self.result(r)
                self.assertEqual(r.returncode, 1)
                self.assertGreater(obj["errors"]["refused"], 0)
                self.assertEqual(obj["ops"], 0)


class Usage(unittest.TestCase):
    CASES = [
        (["--bench=foo", "h", "7"], "--bench"),
        (["--bench=conn", "-c", "0", "127.0.0.1", "7"], "-c"),
        (["--bench=conn", "-c", "many", "127.0.0.1", "7"], "many"),
        (["--bench=conn", "-s", "12Q", "127.0.0.1", "7"], "-s"),
        (["--bench=conn", "-d", "soon", "127.0.0.1", "7"], "-d"),
        (["--bench=conn", "-n", "5", "-d", "1", "127.0.0.1", "7"], "-n"),
        (["--bench=conn", "-u", "127.0.0.1", "7"], "-u"),
        (["--bench=conn", "--warmup=x", "127.0.0.1", "7"], "--warmup"),
        (["--frobnicate", "127.0.0.1", "7"], "--frobnicate"),
        (["-c", "2", "127.0.0.1", "7"], "-c"),
        (["-t", "-1", "127.0.0.1", "7"], "-t"),
        (["127.0.0.1", "99999"], "99999"),
        (["127.0.0.1"], "port"),
        ([], "host"),
    ]

    def test_usage(self):
        for args, word in self.CASES:
            with self.subTest(args=args):
                r = echoc(*args)
                self.assertEqual(r.returncode, 64, r.stderr)
                self.assertIn(word, r.stderr.decode())
                self.assertIn("usage:", r.stderr.decode())
                self.assertEqual(r.stdout, b"")

    def test_help_version(self):
        r = echoc("-h")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"usage:", r.stdout)
        r = echoc("-V")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"echoc", r.stdout)


class Daemon(JsonMixin, unittest.TestCase):
    """echoc against echod itself, when echod serves."""

    proc = None
    port = None
    log = None

    @classmethod
    def setUpClass(cls):
        if not ECHOD or not os.access(ECHOD, os.X_OK):
            raise unittest.SkipTest("no echod at $ECHOD")
        cls.log = tempfile.TemporaryFile()
        try:
            cls.proc = subprocess.Popen(
                [ECHOD, "--model=fork", "-l", "127.0.0.1:0", "-v"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=cls.log)
        except OSError as e:
            cls.log.close()
            raise unittest.SkipTest("echod does not start: %s" % e)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and cls.proc.poll() is None:
            cls.log.seek(0)
            text = cls.log.read().decode(errors="replace")
            m = re.search(r"listening on.*?127\.0\.0\.1:(\d+)", text)
            if m:
                cls.port = int(m.group(1))
                return
            time.sleep(0.05)
        stop(cls.proc)
        cls.log.close()
        raise unittest.SkipTest("echod did not say where it listens")

    @classmethod
    def tearDownClass(cls):
        if cls.proc is not None:
            stop(cls.proc)
        if cls.log is not None:
            cls.log.close()

    def test_send(self):
        r = echoc("127.0.0.1", self.port, "hello", "echod")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"hello\nechod\n")

    def test_every_mode(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                r = echoc(*bench_args(mode, ["-d", "0.5", "127.0.0.1",
                                             self.port]))
                obj = self.result(r)
                self.assertEqual(obj["errors_total"], 0, r.stderr)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertGreater(obj["ops"], 0)


if __name__ == "__main__":
    if not ECHOC or not os.access(ECHOC, os.X_OK):
        print("no echoc at $ECHOC", file=sys.stderr)
        sys.exit(77)
    if not os.access(BAD_ECHO, os.X_OK):
        print("no bad_echo at %s" % BAD_ECHO, file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
