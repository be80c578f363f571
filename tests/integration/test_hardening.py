"""test_hardening: what serving processes give up (descriptors,
RLIMIT_NOFILE, no_new_privs, the seccomp filter), that a forbidden
system call is refused, and that no command line crashes echod."""

import time
import os
import random
import re
import signal
import subprocess
import unittest

from echodtest import (ECHOD, WRAPPER, Echod, SLOW, cmdline, config_defined, echo_ok,
                       proc_status)

SECCOMP = os.environ.get("ECHOD_TEST_NO_SECCOMP") is None and \
    os.path.exists(os.path.join(os.environ.get("ECHOD_BUILDDIR", "."),
                                "config.h")) and \
    "#define HAVE_SECCOMP 1" in open(os.path.join(
        os.environ.get("ECHOD_BUILDDIR", "."), "config.h")).read()


def fds(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


def nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])


@unittest.skipIf(WRAPPER, "valgrind holds descriptors and titles of its own")
class Confined(unittest.TestCase):
    def check_proc(self, pid, maxfds):
        st = proc_status(pid)
        self.assertEqual(st["NoNewPrivs"], "1")
        if SECCOMP:
            self.assertEqual(st["Seccomp"], "2")
        f = fds(pid)
        self.assertLessEqual(len(f), maxfds, f)
        self.assertLessEqual(nofile(pid), max(f) + 1 + 8)

    def test_fork_child(self):
        with Echod(["-m", "fork"], udp=True) as d:
            s = d.connect()
            self.assertTrue(echo_ok(s))
            kid = d.children("child")
            self.assertEqual(len(kid), 1)
            # stdio and its connection: no listener, no master pipe.
            self.check_proc(kid[0], 4)
            # The UDP worker starts after "serving:": wait for it.
            deadline = time.monotonic() + 10
            while not d.children("udp worker"):
                self.assertLess(time.monotonic(), deadline,
                                "no udp worker appeared")
                time.sleep(0.05)
            self.check_proc(d.children("udp worker")[0], 4)
            s.close()

    def test_prefork_worker(self):
        with Echod(["--timestamp", "--prefix=E>"], udp=True) as d:
            s = d.connect()
            s.sendall(b"hi\n")
            self.assertRegex(s.recv(200).decode(),
                             r"^E>hi at \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d "
                             r"\d{4}\n$")
            for w in d.children("worker"):
                if "udp" in cmdline(w):
                    continue
                # stdio, the tcp listener, the master's wake pipe.
                self.check_proc(w, 6)
            s.close()
            self.assertEqual(d.status()["abnormal"], 0)


@unittest.skipUnless(SECCOMP, "built without libseccomp")
class Forbidden(unittest.TestCase):
    def test_execve_kills(self):
        env = {"ECHOD_TEST_FORBIDDEN_SYSCALL": "execve"}
        with Echod(["-m", "fork"], env=env) as d:
            s = d.connect()
            self.assertEqual(s.recv(10), b"")
            d.wait_for(r"child \d+ killed by signal %d" % signal.SIGSYS)
            st = d.wait_status(lambda st: st["abnormal"] == 1)
            self.assertEqual(st["reaped"], 1)
            self.assertIsNone(d.proc.poll())
            s.close()

    def test_socket_eperm(self):
        env = {"ECHOD_TEST_FORBIDDEN_SYSCALL": "socket"}
        with Echod(["-m", "fork"], env=env) as d:
            s = d.connect()
            d.wait_for(r"test: socket after the filter: "
                       r"Operation not permitted")
            self.assertTrue(echo_ok(s))
            s.close()
            d.wait_status(lambda st: st["reaped"] == 1)
            self.assertEqual(d.status()["abnormal"], 0)


@unittest.skipIf(WRAPPER, "make check-valgrind runs the hooks build without "
                 "seccomp; this test is about src/echod")
@unittest.skipUnless(config_defined("HAVE_SECCOMP"), "built without libseccomp")
class NoHooks(unittest.TestCase):
    """The installed daemon (src/echod) reads no ECHOD_TEST_* variable:
    with ECHOD_TEST_NO_SECCOMP=1 its serving processes are still
    filtered.  (Issue 9, point 8.)"""

    ENV = {"ECHOD_TEST_NO_SECCOMP": "1",
           "ECHOD_TEST_FORBIDDEN_SYSCALL": "socket"}

    def test_no_hook_strings(self):
        with open(ECHOD, "rb") as f:
            self.assertNotIn(b"ECHOD_TEST_", f.read())

    def check(self, args, title):
        with Echod(args, env=self.ENV, binary=ECHOD) as d:
            s = d.connect()
            self.assertTrue(echo_ok(s))
            kids = d.children(title)
            self.assertTrue(kids, "no %s process" % title)
            for k in kids:
                self.assertEqual(proc_status(k)["Seccomp"], "2")
            s.close()
            self.assertEqual(d.count("test:"), 0, d.log())

    def test_fork_child(self):
        self.check(["-m", "fork", "-v"], "child")

    def test_prefork_worker(self):
        self.check(["-m", "prefork", "-v"], "worker")


class CliFuzz(unittest.TestCase):
    # -D, -P, -i, --user, --group: they detach, write files or need a
    # launcher; not for a fuzz that may hit a valid vector.
    OPTS = ["-l", "--listen", "-u", "-m", "--model", "-r", "--reap", "-w",
            "--workers", "--min-spare", "--max-spare", "-c",
            "--max-children", "--max-requests", "--per-ip", "--rate",
            "--udp-rate", "-t", "--idle-timeout", "--grace", "--log",
            "-v", "-q", "--prefix", "--timestamp", "--delay", "-h", "-V",
            "--help", "--version", "-x", "--nope", "--", "-", "-lu", "-mz",
            "--per-ip=", "--rate=-1", "--model=", "-c0", "-w0"]
    VALUES = ["", "0", "1", "-1", "7", "65536", "99999999999999999999",
              "0x10", "1e3", " 1", "1 ", "fork", "prefork", "ignore",
              "waitpid", "stderr", "syslog", "[::1]:7", "999.1.1.1:7",
              "*:", ":7", "unix:", "127.0.0.1:99999", "0.5", "3601",
              "nan", "%s%n", "\xff\xfe", "a" * 5000, "-", "--"]

    def test_random_argv(self):
        rnd = random.Random(int(os.environ.get("FUZZ_SEED", "862")))
        started = 0
        for n in range(120 if not WRAPPER else 15):
            argv = []
            for i in range(rnd.randint(1, 6)):
                argv.append(rnd.choice(self.OPTS))
                if rnd.random() < 0.6:
                    argv.append(rnd.choice(self.VALUES))
            # Never bind *:7 for real if the vector happens to be valid.
            argv = ["-l", "127.0.0.1:0"] + argv
            p = subprocess.Popen(WRAPPER + [ECHOD] + argv,
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            try:
                out, err = p.communicate(timeout=3 * SLOW)
            except subprocess.TimeoutExpired:
                # A valid vector (the daemon runs), or a slow start
                # (sanitizers, a loaded machine): stop it.  Dying of
                # our own signal before its handler is set is fine.
                started += 1
                p.send_signal(signal.SIGTERM)
                out, err = p.communicate(timeout=10 * SLOW)
                self.assertIn(p.returncode, (0, -signal.SIGTERM),
                              (argv, err))
                continue
            self.assertGreaterEqual(p.returncode, 0,
                                    "signal %d on %r" % (-p.returncode,
                                                          argv))
            self.assertIn(p.returncode, (0, 1, 64), (argv, err))
            if p.returncode == 64:
                self.assertRegex(err.decode("utf-8", "replace"),
                                 r"^echod: ", argv)
            if p.returncode == 0:
                self.assertTrue(out, argv)      # help or version
        self.assertLess(started, 40)


if __name__ == "__main__":
    unittest.main()
