#!/usr/bin/env python3
"""test_shm_hostile: a prefork master that trusts nothing its workers
can write (issue 9, point 4).

As root, through /proc/PID/mem of one prefork worker, the test plays a
compromised worker: it finds the worker's shared writable mappings
(/proc/PID/maps lines whose permissions are rw and 's'hared: the
scoreboard, the --per-ip/--rate table, the counters page) and

  (a) writes the pid of an unrelated sentinel process wherever a
      worker's pid is stored in them, then SIGHUPs the master (which
      retires every worker: a master that signals pids read from the
      scoreboard would signal the sentinel);
  (b) overwrites them with random bytes, then SIGHUP, SIGTTOU, and
      finally SIGTERM.

Throughout, the sentinel (a python child of this test, trapping every
catchable signal into a file) is never signalled, the master answers
SIGUSR1 with a status line, echo works again within 15 s, and SIGTERM
still ends the master with status 0.  After each write the control
socket's "workers" answer (issue 11) is valid JSON that lists only the
master's own children, never the sentinel, with printable peers.

A second test kills a worker while the limit table's lock word names
it (a worker dying mid-update): the master renews the segments at once
and goes on serving.

Safety: no byte written is 0x00 or >= 0x7f, so no word in the mapping
can read as -1, 0 or any negative pid (a master with the bug would
otherwise kill(-1, ...) as root, or signal a process group), and the
sentinel's pid is the only real pid planted.  The daemon runs with
--per-ip and --rate so the limit table exists.
"""

import json
import os
import random
import socket
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import echodtest
from echodtest import (LOCAL4, Daemon, children_of, echo_once, poll_until)

SENTINEL = r"""
import os, signal, sys, time
out = sys.argv[1]
def hit(sig, frame):
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, b"%d\n" % sig)
    os.close(fd)
for s in signal.valid_signals():
    if s in (signal.SIGKILL, signal.SIGSTOP):
        continue
    try:
        signal.signal(s, hit)
    except (OSError, ValueError, RuntimeError):
        pass
sys.stdout.write("ready\n")
sys.stdout.flush()
end = time.monotonic() + 60
while time.monotonic() < end:
    time.sleep(0.2)
"""


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("ascii", "replace")
    except OSError:
        return ""


def state_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()[0]


def shared_rw_mappings(pid):
    """{(device, inode): (start, end)} of pid's MAP_SHARED writable
    mappings (an anonymous shared mapping has an inode of its own)."""
    out = {}
    try:
        with open("/proc/%d/maps" % pid) as f:
            lines = f.readlines()
    except OSError:
        return out
    for line in lines:
        words = line.split()
        perms = words[1]
        if perms[0] == "r" and perms[1] == "w" and perms[3] == "s":
            start, end = (int(x, 16) for x in words[0].split("-"))
            out[(words[3], words[4])] = (start, end)
    return out


def safe_random(n):
    """n random bytes in 0x01..0x7e: no word is 0, -1 or negative."""
    return bytes(random.randint(1, 0x7e) for _ in range(n))


class HostileWorker(unittest.TestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to write /proc/PID/mem")
        self.tmp = tempfile.TemporaryDirectory(prefix="echod-shm-")
        self.addCleanup(self.tmp.cleanup)
        self.hits = os.path.join(self.tmp.name, "sentinel-signals")
        self.sentinel = subprocess.Popen(
            [sys.executable, "-c", SENTINEL, self.hits],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            start_new_session=True)
        self.addCleanup(self.end_sentinel)
        self.assertEqual(self.sentinel.stdout.readline(), b"ready\n")
        self.control = os.path.join(self.tmp.name, "control")
        self.d = Daemon("--model=prefork", "-v", "-l", LOCAL4 + ":0",
                        "--control=" + self.control,
                        "--workers=3", "--min-spare=1", "--max-spare=4",
                        "--max-children=16", "--per-ip=50",
                        "--rate=100000", "--grace=3")
        self.addCleanup(self.d.stop)

    def end_sentinel(self):
        if self.sentinel.poll() is None:
            self.sentinel.kill()
        self.sentinel.wait(10)
        self.sentinel.stdout.close()

    # -- checks

    def assert_sentinel_untouched(self):
        sig = []
        if os.path.exists(self.hits):
            with open(self.hits) as f:
                sig = f.read().split()
        self.assertEqual(sig, [],
                         "the sentinel was signalled: %s\n--- log ---\n%s"
                         % (sig, self.d.log()))
        self.assertIsNone(self.sentinel.poll(), "the sentinel died")
        self.assertNotIn(state_of(self.sentinel.pid), ("T", "t", None),
                         "the sentinel was stopped")

    def assert_master_answers(self):
        self.assertIsNone(self.d.proc.poll(), "the master died:\n"
                          + self.d.log())
        st = self.d.status(timeout=5.0)
        self.assertEqual(st.get("model"), "prefork")
        return st

    def assert_control_view(self):
        """The control socket's workers: the master's children only,
        never the sentinel whose pid is planted in the mappings."""
        kids = set(children_of(self.d.pid))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(5)
            c.connect(self.control)
            c.sendall(b"workers\n")
            data = b""
            while True:
                b = c.recv(65536)
                if not b:
                    break
                data += b
        ws = json.loads(data.decode("ascii"))["workers"]
        kids |= set(children_of(self.d.pid))
        for w in ws:
            pid = w["pid"]
            self.assertNotEqual(pid, self.sentinel.pid, data)
            if pid not in kids:
                # Spawned after the first look and reaped before the
                # second (a renewal retires and respawns): gone since.
                st = echodtest.proc_stat(pid)
                self.assertTrue(st is None or st[1] == self.d.pid,
                                (pid, st, data))
            peer = w["peer"]
            self.assertTrue(peer is None or peer.isprintable(), data)
        self.assertGreater(len(ws), 0, data)

    def workers(self):
        return [p for p in children_of(self.d.pid)
                if "worker" in cmdline(p) and state_of(p) not in ("Z",
                                                                   None)]

    def echo_works(self, timeout):
        port = self.d.port

        def ok():
            try:
                msg = os.urandom(64)
                return echo_once(port, msg, timeout=1.0) == msg
            except OSError:
                return False
        poll_until(ok, timeout, interval=0.2, what="echo to work again")

    # -- the hostile worker

    def victim(self):
        """A worker mapping the master's current segments (not one of an
        older generation still leaving with segments thrown away), and
        all the workers."""
        def find():
            mine = set(shared_rw_mappings(self.d.pid))
            ws = self.workers()
            for w in ws:
                if mine and mine <= set(shared_rw_mappings(w)):
                    return w, ws
            return None
        return poll_until(find, 10, interval=0.05,
                          what="a worker of the current segments")

    def maps(self, pid):
        """The worker's shared writable mappings that the master has."""
        mine = shared_rw_mappings(self.d.pid)
        m = [r for k, r in shared_rw_mappings(pid).items() if k in mine]
        self.assertTrue(m, "worker %d shares no writable mapping with "
                        "the master" % pid)
        return m

    def plant_pid(self, pid, pids, with_pid):
        """Replace every aligned 32-bit copy of any of pids by with_pid."""
        planted = 0
        want = {struct.pack("<i", p) for p in pids}
        new = struct.pack("<i", with_pid)
        with open("/proc/%d/mem" % pid, "r+b", buffering=0) as mem:
            for start, end in self.maps(pid):
                mem.seek(start)
                data = mem.read(end - start)
                for off in range(0, len(data) - 3, 4):
                    if data[off:off + 4] in want:
                        mem.seek(start + off)
                        mem.write(new)
                        planted += 1
        return planted

    def scribble(self, pid):
        with open("/proc/%d/mem" % pid, "r+b", buffering=0) as mem:
            for start, end in self.maps(pid):
                mem.seek(start)
                mem.write(safe_random(end - start))

    # -- the test

    def test_hostile_worker(self):
        d = self.d
        self.echo_works(5)
        w, ws = self.victim()
        since = d.mark()

        # (a) the sentinel's pid wherever a worker's pid is stored
        n = self.plant_pid(w, ws, self.sentinel.pid)
        self.assertGreater(n, 0, "no worker pid found in the shared "
                           "mappings: nothing tested")
        self.assert_control_view()
        d.signal(signal.SIGHUP)
        d.wait_for(r"SIGHUP", 5.0, since)
        self.assert_master_answers()
        self.assert_sentinel_untouched()
        self.echo_works(15)
        self.assert_sentinel_untouched()

        # (b) random bytes over every shared writable mapping
        w, ws = self.victim()
        self.scribble(w)
        self.assert_control_view()
        for sig in (signal.SIGHUP, signal.SIGTTOU):
            d.signal(sig)
            self.assert_master_answers()
            self.assert_sentinel_untouched()
        self.echo_works(15)
        self.assert_master_answers()
        self.assert_sentinel_untouched()

        # and it still stops as asked
        d.signal(signal.SIGTERM)
        self.assertEqual(d.wait_exit(15), 0, d.log())
        self.assert_sentinel_untouched()

    def test_worker_dies_holding_the_lock(self):
        """A worker killed while the limit table's lock names it: the
        master must not wait for the lock nor "make it consistent": it
        renews at once (before the lock could be called stuck, and with
        no client about to trip over it) and goes on serving."""
        d = self.d
        self.echo_works(5)
        w, ws = self.victim()
        # The limit table is the largest shared mapping (the scoreboard
        # and the counters are a page each); its first word is the lock.
        start, end = max(self.maps(w), key=lambda r: r[1] - r[0])
        self.assertGreater(end - start, 4096 * 16, "no limit table")
        with open("/proc/%d/mem" % w, "r+b", buffering=0) as mem:
            def lock_free():
                mem.seek(start)
                return mem.read(4) == b"\0\0\0\0"
            # The master's once-a-second check takes the lock for a
            # moment (long enough under valgrind to be seen): wait for it.
            poll_until(lock_free, 5, interval=0.01, what="the lock free")
            mem.seek(start)
            mem.write(struct.pack("<i", w))
        since = d.mark()
        t0 = time.monotonic()
        os.kill(w, signal.SIGKILL)
        d.wait_for(r"shared memory corrupt", 5.0, since)
        self.assertLess(time.monotonic() - t0, 1.9,
                        "renewed only once the lock looked stuck")
        self.assert_master_answers()
        self.echo_works(15)
        d.signal(signal.SIGTERM)
        self.assertEqual(d.wait_exit(15), 0, d.log())
        self.assert_sentinel_untouched()


if __name__ == "__main__":
    echodtest.main(timeout=100)
