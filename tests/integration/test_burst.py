#!/usr/bin/env python3
"""test_burst: the prefork pool absorbs a burst (issue 10, point 4).

1,000 connections are opened 8 at a time against the defaults plus
--max-children=1100, and each one is held open after its echo came
back, so every one of them needs a worker of its own.  The pool's
doubling alone (1, 2, 4 ... 32 a second) needs over 30 s to reach 1,000
workers; with the burst rule (a worker for each connection waiting in
the listen queue) all are served at once.  Each echo must come back
within its timeout, with no error, and all 1,000 are held together.

The time bound is the doubling's own schedule (doubling_seconds), so
it holds on a slow machine as long as forking 1,000 workers takes less
than that; on this 2-CPU machine under a load average of 20 the whole
test took 29 s, at load 5 it took 8 s.

The test client raises its own RLIMIT_NOFILE to hold 1,000 sockets.
Only 127.0.0.1; the daemon is stopped by pid whatever happens.
"""

import resource
import socket
import time

import echodtest
from echodtest import DaemonTestCase

N = 1000
AT_ONCE = 8
PER_ECHO_S = 10.0
FLOOR = 4           # --workers' default
RATE_MAX = 32       # the doubling's ceiling, a second


def doubling_seconds(n):
    """Whole seconds the 1, 2, 4 ... 32 a second doubling alone needs to
    grow a pool of FLOOR workers to n: the bound a burst must beat."""
    have, rate, t = FLOOR, 1, 0
    while have < n:
        have += rate
        rate = min(rate * 2, RATE_MAX)
        t += 1
    return t


# 36 s for 1,000: finishing sooner took more than the doubling.
WHOLE_S = doubling_seconds(N) - 1


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_batch(port, n, first):
    """n connections at once, each echoing its own line; the sockets."""
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(PER_ECHO_S)
        s.connect((echodtest.LOCAL4, port))
        socks.append(s)
    for i, s in enumerate(socks):
        s.sendall(b"burst %d\n" % (first + i))
    for i, s in enumerate(socks):
        want = b"burst %d\n" % (first + i)
        got = echodtest.recv_exact(s, len(want))
        if got != want:
            raise AssertionError("connection %d: got %r" % (first + i, got))
    return socks


class BurstTest(DaemonTestCase):
    model = "prefork"

    def test_thousand_held_opened_eight_at_a_time(self):
        if echodtest.WRAPPER:
            # 1,000 workers each under valgrind cannot be forked within
            # the doubling's schedule; check_pool covers the arithmetic.
            self.skipTest("1,000 workers under valgrind: no timing bound")
        if raise_nofile(N + 200) < N + 100:
            self.skipTest("RLIMIT_NOFILE too low for %d sockets" % N)
        d = self.daemon("--max-children=1100")
        port = d.port
        held = []
        try:
            t0 = time.monotonic()
            while len(held) < N:
                held += open_batch(port, min(AT_ONCE, N - len(held)),
                                   len(held))
            elapsed = time.monotonic() - t0
            self.assertEqual(len(held), N)
            self.assertLess(elapsed, WHOLE_S,
                            "the pool grew no faster than the doubling")
            # All held at once: a busy worker for each.
            st = d.wait_status(lambda s: s.get("busy", 0) >= N,
                               what="%d busy workers" % N)
            self.assertLessEqual(st["workers"], 1100)
            # Every held connection still echoes.
            for i in range(0, N, 97):
                held[i].sendall(b"again\n")
                self.assertEqual(echodtest.recv_exact(held[i], 6),
                                 b"again\n")
        finally:
            for s in held:
                s.close()
        st = d.wait_status(lambda s: s.get("busy", 1) == 0 and
                           s.get("served", 0) >= N,
                           what="every connection served")
        for key in ("refused", "fork_failed", "accept_failed", "abnormal"):
            self.assertEqual(st[key], 0, key)


if __name__ == "__main__":
    echodtest.main(timeout=150)
