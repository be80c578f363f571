#!/usr/bin/env python3
"""test_prefork: the prefork model against the real daemon.

The pool's size and turnover are read from /proc (children of the
master by ppid, their process titles) and from status lines asked for
with SIGUSR1; every wait is a bounded poll (echodtest.wait_until).
Each test starts its own echod on 127.0.0.1:0 and kills it, and every
worker it still has, by pid in a finally clause.
"""

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from echodtest import (ECHOC, ECHOD_HOOKS, TITLES_SKIP, WRAPPER, Echod, alive, config_defined, connect, echo_conn,
                          echo_keep, proc_cmdline, proc_stat,
                          wait_until, zombies)


class PreforkTest(unittest.TestCase):

    def start(self, *args, **kw):
        d = Echod(*args, **kw)
        self.addCleanup(d.kill)
        return d

    # ---- the pool ------------------------------------------------------

    def test_pool_starts_with_workers(self):
        d = self.start("--workers=3")
        ws = d.wait_workers(3)
        self.assertEqual(len(ws), 3)
        st = d.status()
        self.assertEqual(st["model"], "prefork")
        self.assertEqual((st["workers"], st["idle"], st["busy"]), (3, 3, 0))
        if WRAPPER:
            return      # the title below is hidden by the wrapper's argv
        wait_until(lambda: proc_cmdline(d.pid).startswith(
            "echod: master prefork 3 idle 0 busy"), 3, "master title")

    def test_echo_many(self):
        d = self.start()
        d.wait_workers(4)
        for i in range(100):
            msg = b"hello %d\0\xff\n" % i
            self.assertEqual(echo_conn(d, msg), msg)

        # 30 at once: more than the pool, so some wait in the backlog
        # while it grows.
        errors = []

        def client(i):
            try:
                msg = os.urandom(1000 + i)
                if echo_conn(d, msg, timeout=10) != msg:
                    errors.append("mismatch %d" % i)
            except Exception as e:        # reported below
                errors.append("%d: %r" % (i, e))
        ts = [threading.Thread(target=client, args=(i,)) for i in range(30)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(20)
        self.assertEqual(errors, [])

        # echoc too: one connection, two messages.
        r = subprocess.run([ECHOC, "127.0.0.1", str(d.port), "one", "two"],
                           stdout=subprocess.PIPE, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout.split(), [b"one", b"two"])
        extra = 1
        d.wait_status(lambda s: s["served"] == 130 + extra, 5,
                      "served=%d" % (130 + extra))
        st = d.status()
        self.assertEqual(st["abnormal"], 0)

    def test_kill_worker_replaced(self):
        d = self.start()
        before = d.wait_workers(4)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        d.wait_log(r"child %d killed by signal 9" % victim, 5)
        after = d.wait_workers(4)
        self.assertNotIn(victim, after)
        self.assertEqual(len(after - before), 1)
        self.assertEqual(before - after, {victim})
        st = d.status()
        self.assertEqual(st["abnormal"], 1)
        self.assertEqual(st["reaped"], 1)
        self.assertEqual(st["workers"], 4)
        msg = b"still here"
        self.assertEqual(echo_conn(d, msg), msg)

    def test_grow_and_shrink(self):
        d = self.start()            # workers 4, spares 2..8
        d.wait_workers(4)
        held = []
        try:
            for i in range(40):
                held.append(d.connect(timeout=15))
            # A connection occupies a worker once it is echoed: all 40
            # are served at once by the time each has answered.
            for i, s in enumerate(held):
                self.assertEqual(echo_keep(s, b"%d\n" % i), b"%d\n" % i)
            st = d.wait_status(lambda s: s["busy"] == 40 and
                               s["workers"] >= 42 and s["idle"] >= 2, 10,
                               "40 busy, pool >= 42")
            self.assertGreaterEqual(len(d.workers()), 42)
            self.assertLessEqual(st["workers"], 256)
            # Still echoing while held.
            self.assertEqual(echo_keep(held[0], b"x"), b"x")
        finally:
            for s in held:
                s.close()
        t0 = time.monotonic()
        st = d.wait_status(lambda s: s["busy"] == 0 and s["idle"] == 8 and
                           s["workers"] == 8, 25, "shrink to max-spare",
                           interval=0.25)
        took = time.monotonic() - t0
        self.assertEqual(len(d.workers()), 8)
        self.assertEqual(st["abnormal"], 0)
        # Retired at 4 a second: the surplus cannot all go at once.
        peak = max(int(m.group(1)) for m in
                   d.find_all(r"status: model=prefork workers=(\d+)"))
        self.assertGreaterEqual(took, (peak - 8) / 4.0 - 2.0)

    def test_max_requests_recycles(self):
        d = self.start("--max-requests=5")
        first = d.wait_workers(4)
        for i in range(200):
            msg = b"req %d" % i
            self.assertEqual(echo_conn(d, msg), msg)
        d.wait_status(lambda s: s["served"] == 200, 5, "served=200")
        # Settled: four idle workers, none on its way out.
        now = d.wait_workers(4)
        self.assertFalse(first & now, "an initial worker was not recycled")
        # Who served what, from the workers' own "conn" lines (-v).
        rx = r"^echod\[(\d+)\]: conn "
        d.wait_log(rx, 3, count=200)
        per = {}
        for m in d.find_all(rx):
            per[int(m.group(1))] = per.get(int(m.group(1)), 0) + 1
        self.assertEqual(sum(per.values()), 200)
        # The jittered limit is 4 or 5: a worker that is gone served
        # exactly its limit, one still here fewer.
        for pid, n in per.items():
            if pid in now:
                self.assertLessEqual(n, 4, "pid %d" % pid)
            else:
                self.assertIn(n, (4, 5), "pid %d" % pid)
        self.assertGreaterEqual(len(per), 200 // 5)
        st = d.wait_status(lambda s: s["reaped"] >= len(set(per) - now), 3,
                           "every recycled worker reaped")
        self.assertEqual(st["abnormal"], 0)
        wait_until(lambda: not zombies(d.pid), 2, "no zombies")
        self.assertEqual(d.find_all(r"killed by signal|exited with"), [])

    def test_ttin_ttou(self):
        # No spare logic: with --min-spare=0 nothing is spawned for
        # spares, and --max-spare=1 makes any worker above the floor a
        # surplus, so the pool is exactly the floor and each signal
        # moves it by one.
        d = self.start("--workers=3", "--min-spare=0", "--max-spare=1")
        d.wait_workers(3)
        os.kill(d.pid, signal.SIGTTIN)
        d.wait_log(r"SIGTTIN: workers 4", 3)
        d.wait_workers(4)
        os.kill(d.pid, signal.SIGTTOU)
        d.wait_log(r"SIGTTOU: workers 3", 3)
        d.wait_workers(3)
        os.kill(d.pid, signal.SIGTTOU)
        d.wait_log(r"SIGTTOU: workers 2", 3)
        d.wait_workers(2)
        os.kill(d.pid, signal.SIGTTOU)
        d.wait_log(r"SIGTTOU: workers 1", 3)
        last = d.wait_workers(1)
        # Never below one: the last worker stays.
        os.kill(d.pid, signal.SIGTTOU)
        d.wait_log(r"SIGTTOU: workers 1", 3, count=2)
        d.wait_status(lambda s: s["workers"] == 1 and s["idle"] == 1, 3,
                      "one worker")
        self.assertEqual(d.wait_workers(1), last)
        os.kill(d.pid, signal.SIGTTIN)
        d.wait_log(r"SIGTTIN: workers 2", 3)
        self.assertEqual(len(d.wait_workers(2) & last), 1)
        st = d.status()
        self.assertEqual(st["abnormal"], 0)
        msg = b"ttin"
        self.assertEqual(echo_conn(d, msg), msg)

    @unittest.skipIf(WRAPPER, TITLES_SKIP)
    def test_sighup_replaces_workers(self):
        d = self.start()
        old = d.wait_workers(4)
        c = d.connect()
        try:
            self.assertEqual(echo_keep(c, b"before\n"), b"before\n")
            port = c.getsockname()[1]
            busy = wait_until(
                lambda: [p for p, t in d.titles().items()
                         if t.startswith("echod: worker 127.0.0.1:%d" % port)],
                3, "busy worker title")
            self.assertEqual(len(busy), 1)
            busy = busy[0]
            self.assertIn(busy, old)
            busy_start = proc_stat(busy)[2]

            os.kill(d.pid, signal.SIGHUP)
            d.wait_log(r"SIGHUP: generation 1, replacing 4 workers", 3)
            # Idle old ones leave at once; four new ones come.
            def replaced():
                ws = d.workers()
                return ws if (ws & old) == {busy} and \
                    len(d.idle_workers() - old) == 4 else None
            wait_until(replaced, 5, "new generation")
            self.assertTrue(alive(busy, busy_start))
            for i in range(3):
                msg = b"after %d\n" % i
                self.assertEqual(echo_keep(c, msg), msg)
            self.assertTrue(alive(busy, busy_start))
        finally:
            c.close()
        wait_until(lambda: not alive(busy, busy_start), 5,
                   "old busy worker exits after its connection")
        new = d.wait_workers(4)
        self.assertFalse(new & old)
        st = d.status()
        self.assertEqual(st["abnormal"], 0)
        self.assertEqual(st["workers"], 4)
        msg = b"new generation"
        self.assertEqual(echo_conn(d, msg), msg)

    # ---- stopping ------------------------------------------------------

    @unittest.skipIf(WRAPPER, TITLES_SKIP)
    def test_sigterm_graceful(self):
        d = self.start("--delay=1")
        ws = d.wait_workers(4)
        c = d.connect()
        try:
            port = c.getsockname()[1]
            c.sendall(b"in flight")
            c.shutdown(socket.SHUT_WR)
            wait_until(lambda: [p for p, t in d.titles().items()
                                if t.startswith("echod: worker 127.0.0.1:%d"
                                                % port)],
                       3, "connection taken by a worker")
            t0 = time.monotonic()
            os.kill(d.pid, signal.SIGTERM)
            d.wait_log(r"graceful stop", 3)
            c.settimeout(5)
            buf = b""
            while True:
                b = c.recv(4096)
                if not b:
                    break
                buf += b
            self.assertEqual(buf, b"in flight")
        finally:
            c.close()
        self.assertEqual(d.wait_exit(5), 0)
        self.assertLess(time.monotonic() - t0, 5)
        wait_until(lambda: not any(alive(p) for p in ws), 3,
                   "workers gone")

    def test_sigint_fast(self):
        d = self.start()
        ws = d.wait_workers(4)
        t0 = time.monotonic()
        os.kill(d.pid, signal.SIGINT)
        self.assertEqual(d.wait_exit(3), 0)
        self.assertLess(time.monotonic() - t0, 2)
        d.wait_log(r"fast stop", 1)
        wait_until(lambda: not any(alive(p) for p in ws), 3,
                   "workers gone")

    def test_master_killed_workers_die(self):
        d = self.start()
        ws = d.wait_workers(4)
        starts = {p: proc_stat(p)[2] for p in ws}
        os.kill(d.pid, signal.SIGKILL)
        d.proc.wait(3)
        wait_until(lambda: not any(alive(p, s) for p, s in starts.items()),
                   3, "every worker gone with the master")

    @unittest.skipUnless(os.access(ECHOD_HOOKS, os.X_OK),
                         "tests/hooks/echod (make check builds it) is absent")
    @unittest.skipIf(WRAPPER, "valgrind emulates RLIMIT_NOFILE: the kernel "
                     "never sees the low limit")
    def test_worker_accept_failures_counted(self):
        # A worker out of descriptors (its RLIMIT_NOFILE below what it
        # holds: the hooks build) counts each failed accept in the
        # status line's accept_failed, as the fork model's master does,
        # logs it once, pauses rather than spins, and lives on.
        d = self.start("--workers=1", "--min-spare=1", "--max-spare=1",
                       env={"ECHOD_TEST_NOFILE": "3"})
        d.wait_workers(1, idle=False)
        with connect(d.port):
            st = d.wait_status(lambda s: s["accept_failed"] >= 2, 10,
                               "failed accepts counted")
            self.assertEqual(st["served"], 0)
            self.assertEqual(st["abnormal"], 0)
        d.wait_for(r"worker: accept: Too many open files")

    # ---- crash loop ----------------------------------------------------

    @unittest.skipUnless(os.access(ECHOD_HOOKS, os.X_OK),
                         "tests/hooks/echod (make check builds it) is absent")
    def test_crash_loop_backoff(self):
        fd, crash = tempfile.mkstemp(prefix="echod-crash-")
        os.close(fd)
        self.addCleanup(lambda: os.path.exists(crash) and os.unlink(crash))
        d = self.start(env={"ECHOD_TEST_CRASH_FILE": crash})
        rx = r"workers die right after start: respawn backoff (\d+) ms"
        d.wait_log(rx, 5, count=3)
        ns = [int(m.group(1)) for m in d.find_all(rx)]
        self.assertEqual(ns, sorted(ns))
        self.assertGreater(ns[-1], ns[0])
        self.assertIsNone(d.proc.poll())
        st = d.status()
        self.assertGreater(st["backoff_ms"], 0)
        self.assertGreaterEqual(st["abnormal"], 3)
        d.wait_log(r"child \d+ killed by signal 6", 1)
        # Still crashing: abnormal keeps growing under the backoff.
        d.wait_status(lambda s: s["abnormal"] > st["abnormal"], 5,
                      "another crash")
        self.assertIsNone(d.proc.poll())

        # The next worker lives: after 2 s the backoff ends and the
        # pool is restored, all within one deadline.
        os.unlink(crash)
        deadline = time.monotonic() + 20
        left = lambda: max(0.5, deadline - time.monotonic())
        d.wait_log(r"respawn backoff over", left())
        d.wait_workers(4, timeout=left())
        d.wait_status(lambda s: s["backoff_ms"] == 0 and
                      s["workers"] == 4 and s["idle"] == 4, left(),
                      "pool restored")
        self.assertIsNone(d.proc.poll())
        msg = b"recovered"
        self.assertEqual(echo_conn(d, msg), msg)


if __name__ == "__main__":
    unittest.main(verbosity=2)
