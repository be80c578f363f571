#!/usr/bin/env python3
"""test_fork_model: the process side of echod, watched through /proc.

Concurrency (slow connections overlap), no zombies and no fd leak in the
master after thousands of connections, --max-children holding the third
connection in the kernel backlog, the SIGUSR1 status line, SIGTERM's
graceful stop (in-flight connections finish, exit 0), its grace limit,
SIGINT's fast stop (exit 0 and no child left), abnormal child exits
accounted.  Repeated over every (model, reap) variant the harness lists.
"""

import contextlib
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

import echodtest as et

# SPEC.md, "SIGUSR1": these keys, in this order, first.
STATUS_KEYS = ["model", "workers", "idle", "busy", "served", "open",
               "refused", "refused_per_ip", "refused_rate", "reaped",
               "abnormal", "backoff_ms"]


def run_threads(fn, args_list, timeout):
    """Run fn(*args) in one thread each; re-raise the first error."""
    errors, results = [], [None] * len(args_list)

    def wrap(i, args):
        try:
            results[i] = fn(*args)
        except BaseException as e:
            errors.append(e)
    ts = [threading.Thread(target=wrap, args=(i, a), daemon=True)
          for i, a in enumerate(args_list)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + timeout
    for t in ts:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in ts):
        raise AssertionError("client threads still running after %.0fs"
                             % timeout)
    if errors:
        raise errors[0]
    return results


def timed_echo(port, msg, t0):
    """Echo one message; (connected_at, reply_at, done_at) after t0."""
    s = et.connect(port, timeout=15)
    connected = time.monotonic() - t0
    with s:
        s.sendall(msg)
        s.shutdown(socket.SHUT_WR)
        got = et.recv_all(s, len(msg) + 1)
    done = time.monotonic() - t0
    if got != msg:
        raise AssertionError("echo mismatch: %r != %r" % (got, msg))
    return connected, done


class ForkModelTests:

    def wait_idle(self, d, timeout=10.0):
        """Poll SIGUSR1 until open=0 (bounded): every child accounted."""
        return d.wait_status(lambda s: s["open"] == 0, timeout, "open=0")

    def assert_no_zombies(self, d, timeout=2.0):
        """No zombie outlives the parent's next turn: give it `timeout`
        (the kernel may still be tearing an exiting child down)."""
        try:
            et.poll_until(lambda: not d.zombies(), timeout,
                          what="no zombies")
        except AssertionError:
            self.fail("zombies of %d: %r" % (d.pid, d.zombies()))

    @unittest.skipIf(et.WRAPPER, "a timing bound (8 clients, --delay=1, < 5 s): valgrind forks too slowly")
    def test_concurrency(self):
        d = self.daemon("--delay=1")
        t0 = time.monotonic()
        res = run_threads(timed_echo,
                          [(d.port, b"client %d\n" % i, t0)
                           for i in range(8)], 15)
        total = time.monotonic() - t0
        self.assertLess(total, 5.0, "8 clients with --delay=1 took %.1fs: "
                        "not served concurrently" % total)
        # And the delay really happened (else this proves nothing).
        self.assertGreaterEqual(min(done for _, done in res), 0.9)
        st = self.wait_idle(d)
        self.assertEqual(st["served"], 8)

    @unittest.skipIf(et.WRAPPER, "valgrind opens descriptors of its own in the master")
    def test_no_zombies_no_fd_leak(self):
        d = self.daemon()
        port = d.port
        # One warm-up connection so lazily opened fds (resolver, log)
        # are counted in "before".
        self.assertEqual(et.echo_once(port, b"warm"), b"warm")
        self.wait_idle(d)
        fds_before = d.fds()
        nthreads, per_thread = 4, 500

        def client(k):
            for i in range(per_thread):
                msg = b"%d/%d" % (k, i)
                s = et.connect(port, timeout=10)
                with s:
                    s.sendall(msg)
                    s.shutdown(socket.SHUT_WR)
                    got = et.recv_all(s, 64)
                if got != msg:
                    raise AssertionError("%r != %r" % (got, msg))
        run_threads(client, [(k,) for k in range(nthreads)], 60)
        st = self.wait_idle(d, 15)
        total = 1 + nthreads * per_thread
        self.assertEqual(st["served"], total)
        self.assertEqual(st["reaped"], total)
        self.assertEqual(st["abnormal"], 0)
        self.assert_no_zombies(d)
        et.poll_until(lambda: not d.children(), 2.0, what="no children")
        self.assertEqual(d.fds(), fds_before,
                         "master fds: %d before, %d after %d connections"
                         % (fds_before, d.fds(), total))

    def test_max_children_backlog(self):
        d = self.daemon("--max-children=2", "--delay=1")
        port = d.port
        t0 = time.monotonic()
        results = {}

        def client(name, start_after):
            time.sleep(start_after)
            results[name] = timed_echo(port, name.encode() * 10, t0)
        threads = [threading.Thread(target=client, args=a, daemon=True)
                   for a in [("one", 0), ("two", 0.05), ("three", 0.3)]]
        for t in threads:
            t.start()
        # While one and two are in their delay, the third waits in the
        # kernel's backlog: connected, but no third child.
        time.sleep(0.6)
        kids = d.children()
        self.assertLessEqual(len(kids), 2, "children %r" % kids)
        st = d.status()
        self.assertEqual(st["open"], 2)
        for t in threads:
            t.join(15)
        self.assertEqual(sorted(results), ["one", "three", "two"])
        c3, done3 = results["three"]
        _, done1 = results["one"]
        self.assertLess(c3, 0.9, "the kernel should accept the 3rd at once")
        self.assertGreater(done3, done1,
                           "3rd echoed (%.2fs) before the 1st finished "
                           "(%.2fs)" % (done3, done1))
        # Served only after a slot freed, then its own second of delay.
        self.assertGreaterEqual(done3, 1.8)
        self.wait_idle(d)

    def test_status_line(self):
        d = self.daemon()
        since = d.mark()
        d.signal(signal.SIGUSR1)
        m = d.wait_for(r"status: (.*)$", 5, since)
        words = m.group(1).split()
        keys = [w.split("=", 1)[0] for w in words]
        self.assertEqual(keys[:len(STATUS_KEYS)], STATUS_KEYS,
                         "status line: %s" % m.group(0))
        for w in words:
            self.assertRegex(w, r"^[a-z_0-9]+=\S+$")
        st = et.parse_status(m.group(1))
        self.assertEqual(st["model"], self.model)
        for k in STATUS_KEYS[1:]:
            self.assertIsInstance(st[k], int, k)
            self.assertGreaterEqual(st[k], 0, k)
        self.assertEqual(st["served"], 0)
        for i in range(3):
            self.assertEqual(et.echo_once(d.port, b"x"), b"x")
        st = self.wait_idle(d)
        self.assertEqual(st["served"], 3)
        self.assertEqual(st["reaped"], 3)
        self.assertEqual(st["busy"], 0)

    def test_status_with_quiet(self):
        # -q logs errors only, so not even "serving": wait on the socket.
        with tempfile.TemporaryDirectory(prefix="echod-test-") as tmp:
            path = os.path.join(tmp, "s")
            d = self.daemon("-q", "-l", "unix:" + path, ready=False)
            et.poll_until(lambda: et.unix_ready(path), 10,
                          what="echod -q to serve " + path)
            self.assertEqual(et.echo_once(et.connect_unix(path), b"q"), b"q")
            st = d.wait_status(lambda s: s["open"] == 0, 10, "open=0")
            self.assertEqual(st["model"], self.model)
            self.assertEqual(d.count(r"conn |listening on|serving:"), 0,
                             "-q should log errors only:\n" + d.log())
            d.signal(signal.SIGTERM)
            self.assertEqual(d.wait_exit(10), 0)

    def test_status_busy(self):
        d = self.daemon("--delay=2")
        s = et.connect(d.port)
        with s:
            s.sendall(b"busy")
            st = d.wait_status(lambda st: st["open"] == 1, 5, "open=1")
            self.assertEqual(st["busy"], 1)
            self.assertEqual(len(d.children()), 1)

    @unittest.skipIf(et.WRAPPER, "under valgrind a connect right after the SIGTERM log line still succeeded (not investigated)")
    def test_sigterm_graceful(self):
        d = self.daemon("--delay=1")
        s = et.connect(d.port, timeout=10)
        with s:
            s.sendall(b"in flight\0")
            s.shutdown(socket.SHUT_WR)
            et.poll_until(lambda: d.children(), 5, what="a child")
            since = d.mark()
            d.signal(signal.SIGTERM)
            d.wait_for(r"graceful stop", 5, since)
            # Listeners are closed at once: new clients are refused.
            with self.assertRaises(ConnectionRefusedError):
                et.connect(d.port, timeout=5).close()
            # The one in flight still gets its echo.
            self.assertEqual(et.recv_all(s), b"in flight\0")
        self.assertEqual(d.wait_exit(10), 0)

    def test_sigterm_grace_expires(self):
        d = self.daemon("--delay=30", "--grace=1")
        s = et.connect(d.port, timeout=10)
        with s:
            s.sendall(b"too slow")
            et.poll_until(lambda: d.children(), 5, what="a child")
            kids = [et.proc_identity(k) for k in d.children()]
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            self.assertEqual(d.wait_exit(10), 0)
            took = time.monotonic() - t0
            self.assertGreaterEqual(took, 0.9, "cut before the grace")
            self.assertLess(took, 5.0, "grace of 1s took %.1fs" % took)
            # The connection was cut, not answered.
            try:
                self.assertEqual(et.recv_all(s), b"")
            except ConnectionResetError:
                pass
        for k in kids:
            if k is not None:
                self.assertFalse(et.identity_alive(k), "child %d survived"
                                 % k[0])

    def test_sigint_fast(self):
        d = self.daemon("--delay=30")
        socks = [et.connect(d.port, timeout=10) for _ in range(3)]
        try:
            for s in socks:
                s.sendall(b"never answered")
            et.poll_until(lambda: len(d.children()) == 3, 5,
                          what="3 children")
            kids = [et.proc_identity(k) for k in d.children()]
            t0 = time.monotonic()
            d.signal(signal.SIGINT)
            self.assertEqual(d.wait_exit(5), 0)
            self.assertLess(time.monotonic() - t0, 2.0, "SIGINT not prompt")
            for k in kids:
                if k is not None:
                    et.poll_until(lambda: not et.identity_alive(k), 2.0,
                                  what="child %d to be gone" % k[0])
        finally:
            for s in socks:
                s.close()

    def test_sigint_during_grace(self):
        d = self.daemon("--delay=30", "--grace=60")
        with et.connect(d.port, timeout=10) as s:
            s.sendall(b"slow")
            et.poll_until(lambda: d.children(), 5, what="a child")
            d.signal(signal.SIGTERM)
            d.wait_for(r"graceful stop", 5)
            t0 = time.monotonic()
            d.signal(signal.SIGINT)
            self.assertEqual(d.wait_exit(5), 0)
            self.assertLess(time.monotonic() - t0, 2.0)

    def test_master_killed_children_follow(self):
        # SPEC: no child outlives the parent, even one killed with -9.
        d = self.daemon("--delay=30")
        socks = [et.connect(d.port, timeout=10) for _ in range(2)]
        try:
            for s in socks:
                s.sendall(b"orphan?")
            et.poll_until(lambda: len(d.children()) == 2, 5,
                          what="2 children")
            kids = [et.proc_identity(k) for k in d.children()]
            d.signal(signal.SIGKILL)
            d.wait_exit(5)
            for k in kids:
                if k is not None:
                    et.poll_until(lambda: not et.identity_alive(k), 3.0,
                                  what="orphan %d to end" % k[0])
        finally:
            for s in socks:
                s.close()

    def test_sigint_idle(self):
        d = self.daemon()
        self.assertEqual(et.echo_once(d.port, b"x"), b"x")
        d.signal(signal.SIGINT)
        self.assertEqual(d.wait_exit(5), 0)

    def test_sigterm_idle(self):
        d = self.daemon()
        d.signal(signal.SIGTERM)
        self.assertEqual(d.wait_exit(5), 0)

    def test_killed_child_accounted(self):
        d = self.daemon()
        s = et.connect(d.port, timeout=10)
        with s:
            s.sendall(b"doomed")
            # Answered: its child is serving, waiting for more.
            self.assertEqual(et.recv_exact(s, 6), b"doomed")
            kid = et.poll_until(lambda: d.children(), 5, what="a child")[0]
            os.kill(kid, signal.SIGKILL)
            st = self.wait_idle(d)
        self.assertEqual(st["reaped"], 1)
        if self.reap == "waitpid":
            # An exit status arrives: abnormal, and logged.
            self.assertEqual(st["abnormal"], 1)
            d.wait_for(r"child %d killed by signal 9" % kid, 5)
        self.assert_no_zombies(d)
        # And the daemon still serves.
        self.assertEqual(et.echo_once(d.port, b"alive"), b"alive")

    @unittest.skipIf(et.WRAPPER, "valgrind reserves descriptors under RLIMIT_NOFILE for itself")
    def test_fd_exhaustion(self):
        # With few fds the master must make connections wait in the
        # backlog (and back off, not spin), never accept and drop them.
        # With --reap=ignore each child costs the master a pipe fd, so
        # 12 fds hold only a handful of children at once.
        d = self.daemon("--delay=0.5", nofile=12)
        t0 = time.monotonic()
        res = run_threads(timed_echo, [(d.port, b"fd %d" % i, t0)
                                       for i in range(12)], 30)
        self.assertEqual(len(res), 12)
        st = self.wait_idle(d)
        self.assertEqual(st["served"], 12)
        self.assertEqual(st["abnormal"], 0)
        with open("/proc/%d/stat" % d.pid) as f:
            ticks = sum(int(x) for x in f.read().rpartition(")")[2]
                        .split()[11:13])
        self.assertLess(ticks / os.sysconf("SC_CLK_TCK"), 1.0,
                        "the master spun while out of fds")
        self.assertEqual(et.echo_once(d.port, b"after"), b"after")

    def test_other_signals_harmless(self):
        # HUP reopens the log; TTIN/TTOU size the prefork pool.  None may
        # stop the fork master (TTIN/TTOU's default action would).
        d = self.daemon()
        for sig in (signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU,
                    signal.SIGHUP):
            d.signal(sig)
            time.sleep(0.05)
            st = et._stat(d.pid)
            self.assertIsNotNone(st)
            self.assertNotIn(st[0], ("T", "t", "Z"),
                             "master state %s after %s" % (st[0], sig))
            self.assertEqual(et.echo_once(d.port, b"hup"), b"hup")
        self.assertEqual(d.status()["model"], self.model)

    @contextlib.contextmanager
    def held_child(self, d):
        """A connection echoed once and held open: (socket, the one
        child serving it)."""
        with et.connect(d.port) as c:
            c.sendall(b"before")
            self.assertEqual(et.recv_exact(c, 6), b"before")
            kids = d.children()
            self.assertEqual(len(kids), 1)
            yield c, kids[0]

    def test_group_signals_spare_the_children(self):
        # `systemctl kill -s USR2 echod` or a terminal's hangup reaches
        # every process: a child serving a connection must live on.
        d = self.daemon("-t", "0")
        with self.held_child(d) as (c, kid):
            kids = [kid]
            for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                        signal.SIGTTIN, signal.SIGTTOU):
                os.kill(kids[0], sig)
            c.sendall(b"after")
            self.assertEqual(et.recv_exact(c, 5), b"after")
            self.assertEqual(d.children(), kids)

    @unittest.skipIf(et.WRAPPER, "/proc/PID/cmdline shows valgrind's own argv, not the one setproctitle writes")
    def test_titles(self):
        # echod(8): each process shows its state in ps, a child its peer.
        # The child's title is written by the master before the fork
        # (issue #10): it must still be the child's, and the master's
        # own must come back.
        # libbsd may leave padding after a title shorter than the argv
        # area (seen in the ASan build): compare the words it starts with.
        def title(pid, nwords):
            return " ".join(et.proc_cmdline(pid).split()[:nwords])

        d = self.daemon("-t", "0")
        with self.held_child(d) as (c, kid):
            self.assertEqual(title(kid, 3),
                             "echod: child 127.0.0.1:%d" % c.getsockname()[1])
            et.poll_until(lambda: title(d.pid, 5) ==
                          "echod: master fork 1 busy", 5,
                          what="the master's title to say 1 busy")
        et.poll_until(lambda: title(d.pid, 5) ==
                      "echod: master fork 0 busy", 5,
                      what="the master's title to say 0 busy")

    def test_no_zombie_between_connections(self):
        # No load, no signal from us: the parent must still reap at once.
        d = self.daemon()
        for i in range(20):
            self.assertEqual(et.echo_once(d.port, b"z"), b"z")
        et.poll_until(lambda: not d.children(), 3,
                      what="children to be reaped without SIGUSR1")


FORK_VARIANTS = [v for v in et.VARIANTS if v[0] == "fork"]
et.parametrise(globals(), ForkModelTests, FORK_VARIANTS)

if __name__ == "__main__":
    if not FORK_VARIANTS:
        sys.stderr.write("fork model not in ECHOD_TEST_MODELS: skipped\n")
        sys.exit(et.SKIP)
    et.main(timeout=110)
