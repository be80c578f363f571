#!/usr/bin/env python3
"""test_master: the one master loop, its signals and its own table.

  * 30 SIGHUPs mixed with SIGTTIN/SIGTTOU while clients keep echoing
    (prefork): when it settles, the SIGUSR1 `workers=` count equals the
    worker processes in /proc, no client saw an error, and every worker
    was started after the last SIGHUP was sent;
  * echod started by a parent that left SIGCHLD blocked and ignored
    (both survive execve): in the fork model 200 connections leave no
    zombie and `reaped=` counts every one of them; the master's own
    mask and dispositions in /proc/PID/status are the ones it set.
"""

import os
import signal
import subprocess
import threading
import time

import echodtest as et

SIGCHLD_BIT = 1 << (signal.SIGCHLD - 1)


def uptime_ticks():
    """Now, in the clock ticks /proc/PID/stat's starttime counts in."""
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) * os.sysconf("SC_CLK_TCK")


def live_workers(pid):
    """{pid: starttime} of the master's children that are not zombies."""
    out = {}
    for p, st in et.processes().items():
        if st[1] == pid and st[0] not in ("Z", "X"):
            out[p] = st[2]
    return out


def proc_sigmasks(pid):
    """(SigBlk, SigIgn) of a process as integers."""
    want = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("SigBlk", "SigIgn"):
                want[k] = int(v.strip(), 16)
    return want["SigBlk"], want["SigIgn"]


def signalfd_masks(pid):
    """The signal sets of every signalfd the process holds."""
    masks = []
    fddir = "/proc/%d/fd" % pid
    for fd in os.listdir(fddir):
        try:
            if os.readlink(os.path.join(fddir, fd)) != "anon_inode:[signalfd]":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("sigmask:"):
                        masks.append(int(line.split()[1], 16))
        except FileNotFoundError:
            continue
    return masks


class Load:
    """Clients echoing in threads until stop(); counts what went wrong."""

    def __init__(self, port, nthreads=4):
        self.port = port
        self.done = threading.Event()
        self.errors = []
        self.count = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(k,),
                                         daemon=True)
                        for k in range(nthreads)]
        for t in self.threads:
            t.start()

    def run(self, k):
        i = 0
        while not self.done.is_set() and i < 100000:
            msg = b"load %d/%d\n" % (k, i)
            i += 1
            try:
                got = et.echo_once(self.port, msg, timeout=10)
                if got != msg:
                    raise AssertionError("%r != %r" % (got, msg))
            except Exception as e:      # reported by the test
                with self.lock:
                    self.errors.append(repr(e))
                return
            with self.lock:
                self.count += 1

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(15)
        return self.count, self.errors


class SignalStorm(et.DaemonTestCase):
    model = "prefork"

    def test_hup_storm_under_load(self):
        d = self.daemon("--workers=4", "--min-spare=1", "--max-spare=6")
        et.poll_until(lambda: len(live_workers(d.pid)) >= 4, 5,
                      what="4 workers")
        load = Load(d.port)
        try:
            et.poll_until(lambda: load.count >= 20 or load.errors, 10,
                          what="the load running")
            mix = [signal.SIGTTIN, signal.SIGTTOU, signal.SIGTTIN]
            for i in range(29):
                d.signal(signal.SIGHUP)
                d.signal(mix[i % 3])
                time.sleep(0.02)     # pacing, so they are not all merged
            # Every worker alive now must be gone once the last HUP
            # has been acted on, the ones forked in between too.
            before = live_workers(d.pid)
            t_hup = uptime_ticks()
            mark = d.mark()
            d.signal(signal.SIGHUP)
            d.wait_for(r"SIGHUP: generation \d+, replacing", 5, mark)
        finally:
            served, errors = load.stop()
        self.assertEqual(errors, [], "clients failed during the storm")
        self.assertGreater(served, 20)

        def settled():
            st = d.status()
            ws = live_workers(d.pid)
            if st["workers"] != len(ws) or d.zombies():
                return None
            if any(p in before and before[p] == s for p, s in ws.items()):
                return None
            return st, ws
        st, ws = et.poll_until(settled, 20, interval=0.1,
                               what="workers= to match /proc, old gone")
        self.assertGreaterEqual(len(ws), 1)
        for p, start in ws.items():
            # starttime has clock-tick resolution: allow one tick.
            self.assertGreaterEqual(start + 1, t_hup,
                                    "worker %d predates the last HUP" % p)
        # Still serving, and the count is the master's own, exact.
        self.assertEqual(et.echo_once(d.port, b"after"), b"after")
        # That connection may make the pool grow: wait for it to settle.
        st = et.poll_until(
            lambda: (lambda s: s if s["workers"] ==
                     len(live_workers(d.pid)) else None)(d.status()),
            10, interval=0.1, what="workers= to match /proc again")
        self.assertEqual(st["abnormal"], 0)


def careless_parent():
    """What a parent may leave to echod: SIGCHLD blocked and ignored."""
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)


class InheritedState(et.DaemonTestCase):
    model = "fork"
    reap = "waitpid"

    def start_inheriting(self, *args):
        real = subprocess.Popen

        def popen(*a, **kw):
            kw["preexec_fn"] = careless_parent
            return real(*a, **kw)
        subprocess.Popen = popen
        try:
            return self.daemon(*args)
        finally:
            subprocess.Popen = real

    def test_sigchld_blocked_and_ignored(self):
        d = self.start_inheriting()
        blk, ign = proc_sigmasks(d.pid)
        # Under valgrind /proc shows the tool's own mask, not echod's:
        # the zombies and reaped= below still tell whether it reaps.
        if not et.WRAPPER:
            self.assertEqual(ign & SIGCHLD_BIT, 0, "SIGCHLD still ignored")
            # Blocked is how the master reads it: from its signalfd.
            if blk & SIGCHLD_BIT:
                self.assertTrue(any(m & SIGCHLD_BIT
                                    for m in signalfd_masks(d.pid)),
                                "SIGCHLD blocked and read by no signalfd")
        n = 200
        for i in range(n):
            msg = b"conn %d" % i
            self.assertEqual(et.echo_once(d.port, msg), msg)
        st = d.wait_status(lambda s: s["reaped"] >= n and s["open"] == 0,
                           10, "every child reaped")
        self.assertEqual(st["served"], n)
        self.assertEqual(st["reaped"], n)
        self.assertEqual(st["abnormal"], 0)
        et.poll_until(lambda: not d.children(), 3, what="no children")
        self.assertEqual(d.zombies(), [])

    def test_prefork_too(self):
        # The pool needs SIGCHLD as much: a worker retired by TTOU
        # must be reaped, not left a zombie.
        self.model = "prefork"
        self.reap = None
        d = self.start_inheriting("--workers=3", "--min-spare=1",
                                  "--max-spare=1")
        et.poll_until(lambda: len(live_workers(d.pid)) == 3, 5,
                      what="3 workers")
        for floor in (2, 1):        # one at a time: signals merge
            mark = d.mark()
            d.signal(signal.SIGTTOU)
            d.wait_for(r"SIGTTOU: workers %d" % floor, 5, mark)
        st = d.wait_status(lambda s: s["workers"] == 1 and s["reaped"] >= 2,
                           10, "two workers retired and reaped")
        self.assertEqual(d.zombies(), [])
        self.assertEqual(st["abnormal"], 0)


if __name__ == "__main__":
    et.main(timeout=150)
