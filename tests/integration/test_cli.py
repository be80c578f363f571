#!/usr/bin/env python3
"""test_cli: echod's command line, as SPEC.md's option table says.

Every bad option or value exits 64 (EX_USAGE) with a message on stderr
naming the option and the value; --help and --version go to stdout and
exit 0; a setup failure (address in use, a name that doesn't resolve)
exits non-zero naming the address.  Every run is bounded: a command line
wrongly accepted would start serving, so each run listens on 127.0.0.1:0
only and is killed after a few seconds.
"""

import os
import socket
import tempfile
import unittest

import echodtest as et

EX_USAGE = 64
# Keep a wrongly accepted command line harmless and short-lived.
SAFE = ["-l", "127.0.0.1:0"]
FORK = ["--model=fork"]

# (option as typed, name the message must contain, bad values)
INT_OPTIONS = [
    ("--workers", "workers", ["0"]),
    ("-w", "workers", []),
    ("--min-spare", "min-spare", []),
    ("--max-spare", "max-spare", ["0"]),
    ("--max-children", "max-children", ["0"]),
    ("-c", "max-children", []),
    # up to 10^12 connections per worker is allowed: go past that
    ("--max-requests", "max-requests", ["99999999999999999999"]),
    ("--per-ip", "per-ip", []),
    ("--rate", "rate", []),
    ("--udp-rate", "udp-rate", []),
    ("--idle-timeout", "idle-timeout", []),
    ("-t", "idle-timeout", []),
    ("--grace", "grace", []),
]
BAD_INTS = ["abc", "-1", "1.5", "", "5x", " 5"]
TOO_LARGE = "99999999999"
BAD_DELAYS = ["abc", "-1", "99999999999", "1.2345", "", "1.5s", ".", "1."]


class CliTest(unittest.TestCase):

    def usage(self, args, *words):
        """echod args exits 64 and stderr contains every word."""
        try:
            r = et.run_echod(*args, timeout=5)
        except Exception as e:      # subprocess.TimeoutExpired: it served
            self.fail("echod %r did not exit: %s" % (args, e))
        err = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, EX_USAGE,
                         "echod %r: exit %d, stderr: %s"
                         % (args, r.returncode, err))
        for w in words:
            if w:
                self.assertIn(w, err, "echod %r: message lacks %r: %s"
                              % (args, w, err))
        self.assertEqual(r.stdout, b"", "usage errors go to stderr only")
        return err

    def test_bad_integers(self):
        for opt, name, extra in et.sample(INT_OPTIONS, 3):
            large = [] if opt == "--max-requests" else [TOO_LARGE]
            for v in et.sample(BAD_INTS + large + extra, 2):
                with self.subTest(opt=opt, value=v):
                    self.usage(FORK + SAFE + [opt, v], name, v.strip())
                    if opt.startswith("--"):
                        self.usage(FORK + SAFE + [opt + "=" + v], name,
                                   v.strip())

    def test_bad_delay(self):
        for v in et.sample(BAD_DELAYS, 3):
            with self.subTest(value=v):
                self.usage(FORK + SAFE + ["--delay", v], "delay", v)
                self.usage(FORK + SAFE + ["--delay=" + v], "delay", v)

    def test_bad_model(self):
        for v in et.sample(["threads", "", "FORK", "pre-fork"], 2):
            with self.subTest(value=v):
                self.usage(SAFE + ["--model", v], "model", v)
                self.usage(SAFE + ["-m" + v] if v else
                           SAFE + ["-m", v], "model", v)

    def test_bad_reap(self):
        for v in et.sample(["wait", "", "IGNORE", "signal"], 2):
            with self.subTest(value=v):
                self.usage(FORK + SAFE + ["--reap", v], "reap", v)
                self.usage(FORK + SAFE + ["-r", v], "reap", v)

    def test_reap_ignore_needs_fork(self):
        self.usage(SAFE + ["--reap=ignore"], "reap", "fork")
        self.usage(SAFE + ["--reap=ignore", "--model=prefork"], "reap",
                   "fork")
        self.usage(SAFE + ["-m", "prefork", "-r", "ignore"], "reap", "fork")

    def test_bad_log(self):
        for v in et.sample(["file", "", "STDERR", "syslog:local0"], 2):
            with self.subTest(value=v):
                self.usage(FORK + SAFE + ["--log", v], "log", v)

    def test_bad_addresses(self):
        for v in et.sample(["999.1.1.1:7", "[::1]7", "host:70000",
                            "unix:relative", "1.2.3:7", "::1:7", ":7",
                            "host:", "host:-1", "", "[zz]:7",
                            "127.0.0.1:http"], 3):
            with self.subTest(value=v):
                self.usage(FORK + ["-l", v], "listen", v)
                self.usage(FORK + ["--listen=" + v], "listen", v)

    def test_bad_address_no_lookup(self):
        # Looks numeric, so it must fail at once without a DNS query.
        r = et.run_echod(*(FORK + ["-l", "999.1.1.1:7"]), timeout=5)
        self.assertEqual(r.returncode, EX_USAGE)

    def test_cross_option_rules(self):
        self.usage(FORK + SAFE + ["-i", "-D"], "inetd", "daemon")
        self.usage(FORK + SAFE + ["-w", "10", "-c", "5"], "workers",
                   "max-children")
        self.usage(FORK + SAFE + ["--min-spare=9", "--max-spare=3"],
                   "min-spare", "max-spare")

    def test_empty_strings(self):
        self.usage(FORK + SAFE + ["--pidfile="], "pidfile")
        self.usage(FORK + SAFE + ["--user="], "user")
        self.usage(FORK + SAFE + ["--group="], "group")

    def test_unknown_option(self):
        self.usage(FORK + SAFE + ["--bogus"], "--bogus")
        self.usage(FORK + SAFE + ["--bogus=1"], "--bogus")
        self.usage(FORK + SAFE + ["-x"], "-x")
        self.usage(FORK + SAFE + ["--udp=yes"], "udp", "yes")

    def test_missing_value(self):
        for opt, name in et.sample([("-l", "listen"), ("--listen", "listen"),
                                    ("-w", "workers"),
                                    ("--max-children", "max-children"),
                                    ("--grace", "grace"),
                                    ("--delay", "delay"),
                                    ("--min-spare", "min-spare")], 3):
            with self.subTest(opt=opt):
                self.usage(FORK + SAFE + [opt], name)

    def test_extra_argument(self):
        self.usage(FORK + SAFE + ["extra"], "extra")
        self.usage(FORK + ["127.0.0.1:7"], "127.0.0.1:7")

    def test_usage_hint(self):
        err = self.usage(FORK + SAFE + ["--bogus"], "--bogus")
        self.assertIn("--help", err)

    def test_help(self):
        for a in ["--help", "-h"]:
            with self.subTest(arg=a):
                r = et.run_echod(a, timeout=5)
                self.assertEqual(r.returncode, 0)
                out = r.stdout.decode()
                self.assertIn("usage: echod", out)
                for opt in ["--listen", "--model", "--reap", "--max-children",
                            "--grace", "--delay"]:
                    self.assertIn(opt, out)
                self.assertEqual(r.stderr, b"")

    def test_version(self):
        for a in ["--version", "-V"]:
            with self.subTest(arg=a):
                r = et.run_echod(a, timeout=5)
                self.assertEqual(r.returncode, 0)
                self.assertRegex(r.stdout.decode(), r"^echod \d+\.\d+")
                self.assertEqual(r.stderr, b"")

    def test_address_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            addr = "127.0.0.1:%d" % port
            r = et.run_echod(*(FORK + ["-l", addr]), timeout=10)
            err = r.stderr.decode("utf-8", "replace")
            self.assertEqual(r.returncode, 1, err)
            self.assertIn(addr, err)
            self.assertRegex(err, r"(?i)in use")

    def test_second_address_in_use(self):
        # The first listener is bound; the failure must still be clean.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            addr = "127.0.0.1:%d" % s.getsockname()[1]
            r = et.run_echod(*(FORK + ["-l", "127.0.0.1:0", "-l", addr]),
                             timeout=10)
            err = r.stderr.decode("utf-8", "replace")
            self.assertNotEqual(r.returncode, 0, err)
            self.assertNotEqual(r.returncode, EX_USAGE, err)
            self.assertIn(addr, err)

    def test_unresolvable_name(self):
        # RFC 6761: .invalid never resolves.
        r = et.run_echod(*(FORK + ["-l", "nonexistent.invalid:7"]),
                         timeout=30)
        err = r.stderr.decode("utf-8", "replace")
        self.assertNotEqual(r.returncode, 0, err)
        self.assertNotEqual(r.returncode, EX_USAGE,
                            "a name that doesn't resolve is a setup "
                            "failure, not a usage error")
        self.assertIn("nonexistent.invalid", err)

    def test_unix_path_not_a_socket(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "plain-file")
            with open(path, "w") as f:
                f.write("keep me\n")
            r = et.run_echod(*(FORK + ["-l", "unix:" + path]), timeout=10)
            err = r.stderr.decode("utf-8", "replace")
            self.assertEqual(r.returncode, 1, err)
            self.assertIn(path, err)
            with open(path) as f:
                self.assertEqual(f.read(), "keep me\n", "file clobbered")

    def test_unix_path_missing_dir(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "no", "such", "dir", "s")
            r = et.run_echod(*(FORK + ["-l", "unix:" + path]), timeout=10)
            err = r.stderr.decode("utf-8", "replace")
            self.assertEqual(r.returncode, 1, err)
            self.assertIn(path, err)


if __name__ == "__main__":
    et.main(timeout=100)
