"""test_limits: --per-ip, --rate, --idle-timeout, fd and process
exhaustion, and bounded memory, on loopback with real traffic."""

import os
import resource
import socket
import threading
import time
import unittest

from echodtest import (Echod, SLOW, WRAPPER, closed_at_once, cpu_seconds,
                         echo_ok, proc_status)


class PerIp(unittest.TestCase):
    def check(self, model):
        with Echod(["--per-ip=2", "-m", model]) as d:
            a, b = d.connect(), d.connect()
            # Served before the next one: workers accept in any order.
            self.assertTrue(echo_ok(a))
            self.assertTrue(echo_ok(b))
            c = d.connect()
            self.assertTrue(closed_at_once(c))
            st = d.wait_status(lambda s: s["refused_per_ip"] >= 1)
            self.assertEqual(st["refused"], 1)
            self.assertEqual(st["refused_rate"], 0)
            self.assertTrue(echo_ok(a, b"still fine\n"))
            self.assertTrue(echo_ok(b, b"still fine\n"))
            d.wait_for(r"refused 127\.0\.0\.1: --per-ip 2")
            # A slot frees when a connection ends (exact count).
            a.close()
            deadline = time.monotonic() + 5 * SLOW
            while True:
                e = d.connect()
                if echo_ok(e):
                    break
                e.close()
                self.assertLess(time.monotonic(), deadline)
            for s in (b, c, e):
                s.close()

    def test_fork(self):
        self.check("fork")

    def test_prefork(self):
        self.check("prefork")


class Rate(unittest.TestCase):
    def test_rate(self):
        with Echod(["--rate=3", "-m", "fork"]) as d:
            for i in range(3):
                s = d.connect()
                self.assertTrue(echo_ok(s))
                s.close()
            for i in range(4):
                s = d.connect()
                self.assertTrue(closed_at_once(s))
                s.close()
            st = d.status()
            self.assertEqual(st["refused_rate"], 4)
            self.assertEqual(st["refused"], 4)
            self.assertEqual(st["served"], 3)
            # Logged once per source per minute, not once per refusal.
            self.assertEqual(d.count(r"refused 127\.0\.0\.1: --rate"), 1)

    def test_prefork_rate_shared(self):
        # Workers share one bucket: 4 workers, still 2 connections.
        with Echod(["--rate=2", "-w", "4"]) as d:
            ok = 0
            for i in range(6):
                s = d.connect()
                ok += echo_ok(s)
                s.close()
            self.assertEqual(ok, 2)
            self.assertEqual(d.status()["refused_rate"], 4)


class Idle(unittest.TestCase):
    def check(self, model):
        with Echod(["-t", "1", "-m", model]) as d:
            s = d.connect()
            self.assertTrue(echo_ok(s))
            t0 = time.monotonic()
            self.assertTrue(closed_at_once(s, timeout=4))
            self.assertGreater(time.monotonic() - t0, 0.8)
            # A client that writes and never reads is cut too.
            w = d.connect()
            w.setblocking(False)
            chunk = b"x" * 65536
            try:
                while True:
                    w.send(chunk)
            except BlockingIOError:
                pass
            d.wait_status(lambda st: st["idle_closed"] >= 2, timeout=6)
            s.close()
            w.close()

    def test_fork(self):
        self.check("fork")

    def test_prefork(self):
        self.check("prefork")


class Exhaustion(unittest.TestCase):
    def test_emfile_no_spin(self):
        # --reap=ignore costs the master a pipe per child, so a small
        # RLIMIT_NOFILE runs it out of descriptors under a storm.
        def lowfd():
            resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))

        with Echod(["-m", "fork", "-r", "ignore"], preexec_fn=lowfd) as d:
            held = d.hold(60)
            d.wait_for(r"(pipe2|accept).*Too many open files")
            c0 = cpu_seconds(d.pid)
            t0 = time.monotonic()
            time.sleep(1.5)         # measuring, not syncing
            used = cpu_seconds(d.pid) - c0
            self.assertLess(used, 0.3 * SLOW,
                            "master busy while out of fds: %.2fs" % used)
            st = d.status()
            self.assertGreater(st["accept_failed"], 0)
            for s in held:
                s.close()
            # Serving again as soon as descriptors free up.
            d.wait_echo(5)

    @unittest.skipIf(os.geteuid() != 0, "needs root to switch user")
    def test_fork_failure(self):
        uid = 60000 + os.getpid() % 5000    # a uid nobody else runs as

        def nobody():
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            resource.setrlimit(resource.RLIMIT_NPROC, (3, 3))

        with Echod(["-m", "fork"], preexec_fn=nobody) as d:
            held = d.hold(8)
            d.wait_for(r"fork: accepting again in \d+ ms")
            self.assertIsNone(d.proc.poll())
            st = d.status()
            self.assertGreater(st["fork_failed"], 0)
            for s in held:
                s.close()
            d.wait_echo(8)
            self.assertEqual(d.stop(), 0)

    @unittest.skipIf(WRAPPER, "under valgrind the RSS measured is valgrind's")
    def test_write_only_client_bounded(self):
        total = 64 << 20
        with Echod(["-m", "fork"]) as d:
            s = d.connect(timeout=30)
            sent = [0]

            def writer():
                block = bytes(range(256)) * 256
                while sent[0] < total:
                    n = s.send(block[:min(len(block), total - sent[0])])
                    sent[0] += n
                s.shutdown(socket.SHUT_WR)
            t = threading.Thread(target=writer, daemon=True)
            t.start()
            # Wait for the stall: both sides' buffers full.
            last, deadline = -1, time.monotonic() + 10 * SLOW
            while sent[0] != last:
                last = sent[0]
                time.sleep(0.3)
                self.assertLess(time.monotonic(), deadline)
            self.assertLess(sent[0], total)
            kids = d.children("child")
            self.assertEqual(len(kids), 1)
            rss = int(proc_status(kids[0])["VmRSS"].split()[0])
            self.assertLess(rss, 16 * 1024, "serving child RSS %d kB" % rss)
            got = 0
            while True:
                b = s.recv(1 << 20)
                if not b:
                    break
                got += len(b)
            t.join(10)
            self.assertEqual(got, total)
            s.close()


if __name__ == "__main__":
    unittest.main()
