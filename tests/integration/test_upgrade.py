#!/usr/bin/env python3
"""SIGUSR2: the binary upgrade (issue #11).

Under load (echoc --bench=conn) and held UDP traffic, in every process
model: zero client errors, the master pid changes, the old master and its
workers are gone within --grace + 2 s, the pid file names the new master.
A binary replaced by one that fails: the old master goes on serving and
a later SIGUSR2 succeeds.  systemd-socket-activate: the inherited sockets
are the ones the new master serves.  NOTIFY_SOCKET: MAINPID= and READY=1
come from the new master.

The new master is not our child (it is the old master's, and reparented
when that one exits), so each test ends it itself, by the pid it logged,
after checking /proc says it is that very process.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import echodtest
from echodtest import (ECHOC, LOCAL4, Daemon, DaemonTestCase, children_of,
                       echo_once, identity_alive, parametrise, poll_until,
                       proc_identity)

GRACE = 4      # generous: two cores shared by many under test
SSA = shutil.which("systemd-socket-activate")
NEW_MASTER = r"echod\[\d+\]: upgrade: new master (\d+) serving; old master"


def read_pid(path):
    try:
        with open(path) as f:
            s = f.read().strip()
        return int(s) if s else None
    except (FileNotFoundError, ValueError):
        return None


def gone_or_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def end_process_tree(ident):
    """SIGKILL a process we know by (pid, starttime) and its children."""
    if ident is None or not identity_alive(ident):
        return
    kids = [proc_identity(k) for k in children_of(ident[0])]
    os.kill(ident[0], signal.SIGKILL)
    for k in kids:
        if k is not None and identity_alive(k):
            os.kill(k[0], signal.SIGKILL)


class UDPHeld(threading.Thread):
    """Datagrams one after another, each waiting for its echo."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.sent = self.ok = self.bad = 0
        self.bad_at = []        # (monotonic time, what) for the report
        self.stop = threading.Event()

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # A late echo (two cores, heavy load) is not a lost one.
        s.settimeout(5.0)
        try:
            for i in range(100000):
                if self.stop.is_set():
                    break
                msg = b"udp %d " % i + os.urandom(32).hex().encode()
                s.sendto(msg, (LOCAL4, self.port))
                self.sent += 1
                try:
                    data = s.recvfrom(2048)[0]
                except socket.timeout:
                    self.bad += 1
                    self.bad_at.append((time.monotonic(), "timeout"))
                    continue
                if data == msg:
                    self.ok += 1
                else:
                    self.bad += 1
                    self.bad_at.append((time.monotonic(), "mismatch"))
                # Under the default --udp-rate (100/s a source): a drop
                # by the limiter is not the upgrade's.
                time.sleep(0.02)
        finally:
            s.close()


class UpgradeBase:
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="echod-upgrade-")
        self.new_ident = None
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def tearDown(self):
        # First: it holds the old master's stdout and stderr pipes.
        end_process_tree(self.new_ident)
        super().tearDown()

    def pidfile(self):
        return os.path.join(self.tmp, "echod.pid")

    def start(self, *extra, binary=None, env=None):
        args = ["-l", "127.0.0.1:0", "--udp", "--grace=%d" % GRACE,
                "-P", self.pidfile()] + list(extra)
        if binary is None:
            d = self.daemon(*args, env=env)
        else:
            d = Daemon(*(echodtest.model_args(self.model, self.reap)
                         + ["-v"] + args), env=env, binary=binary)
            self._daemons.append(d)
        poll_until(lambda: read_pid(self.pidfile()) == d.pid, 5,
                   what="the pid file")
        return d

    def upgrade(self, d, since=None):
        """SIGUSR2 and wait for the handover: the new master's pid."""
        since = d.mark() if since is None else since
        old_kids = [proc_identity(k) for k in children_of(d.pid)]
        d.signal(signal.SIGUSR2)
        m = d.wait_for(NEW_MASTER, 15, since)
        new = int(m.group(1))
        self.new_ident = proc_identity(new)
        self.assertIsNotNone(self.new_ident, "new master gone at once")
        return new, old_kids

    def check_old_gone(self, d, old_kids, t0):
        """Old master exits 0, it and its workers gone by grace + 2 s."""
        left = GRACE + 2 - (time.monotonic() - t0)
        self.assertEqual(d.wait_exit(max(left, 0.1)), 0, d.log())
        poll_until(lambda: not any(k is not None and identity_alive(k)
                                   for k in old_kids),
                   max(GRACE + 2 - (time.monotonic() - t0), 0.1),
                   what="the old master's workers to go")


class UpgradeUnderLoad(UpgradeBase):
    def test_upgrade_under_load(self):
        d = self.start()
        port = d.port
        udp = UDPHeld(port)
        bench = subprocess.Popen(
            [ECHOC, "-j", "--bench=conn", "-c", "8", "-d", "6", LOCAL4,
             str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            udp.start()
            time.sleep(1.5)         # load, not synchronisation
            self.assertIsNone(bench.poll(), "echoc ended early")
            t0 = time.monotonic()
            new, old_kids = self.upgrade(d)
            self.assertNotEqual(new, d.pid)
            self.check_old_gone(d, old_kids, t0)
            poll_until(lambda: read_pid(self.pidfile()) == new, 5,
                       what="the pid file to name the new master")
            out, err = bench.communicate(timeout=30)
        finally:
            if bench.poll() is None:
                bench.kill()
                bench.wait()
            udp.stop.set()
            udp.join(10)
        report = json.loads(out.decode().strip().splitlines()[-1])
        print("upgrade under load (%s/%s): ops=%d errors_total=%d "
              "udp sent=%d ok=%d bad=%d" % (
                  self.model, self.reap, report["ops"],
                  report["errors_total"], udp.sent, udp.ok, udp.bad))
        self.assertEqual(report["errors_total"], 0, (report, err))
        self.assertGreater(report["ops"], 0)
        if udp.bad:
            since = d.mark()
            os.kill(new, signal.SIGUSR1)
            st = d.wait_for(r"echod\[%d\]: status: (.*)$" % new, 5, since)
            self.fail("UDP echoes lost or wrong: %s after SIGUSR2; new "
                      "master: %s\n--- log ---\n%s" % (
                          ["%s at %+.2fs" % (w, t - t0)
                           for t, w in udp.bad_at], st.group(1), d.log()))
        self.assertGreater(udp.ok, 0)
        # The new master serves, TCP and UDP.
        self.assertEqual(echo_once(port, b"after\n"), b"after\n")
        self.assertTrue(identity_alive(self.new_ident))


parametrise(globals(), UpgradeUnderLoad)


class UpgradeFailure(UpgradeBase, DaemonTestCase):
    model = "prefork"

    def put(self, path, content=None, source=None):
        """Replace path with a new file (a new inode, as a package does)."""
        tmp = path + ".new"
        if source is not None:
            shutil.copyfile(source, tmp)
        else:
            with open(tmp, "w") as f:
                f.write(content)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)

    def test_failing_binary_then_restored(self):
        exe = os.path.join(self.tmp, "echod")
        shutil.copyfile(echodtest.ECHOD, exe)
        os.chmod(exe, 0o755)
        d = self.start(binary=exe)
        port = d.port
        old_kids = sorted(children_of(d.pid))
        self.put(exe, "#!/bin/sh\nexit 1\n")
        since = d.mark()
        d.signal(signal.SIGUSR2)
        d.wait_for(r"upgrade failed: .*exited with status 1", 15, since)
        # Still the same master, same workers, still serving.
        self.assertEqual(echo_once(port, b"still here\n"), b"still here\n")
        self.assertEqual(read_pid(self.pidfile()), d.pid)
        self.assertFalse(os.path.exists(self.pidfile() + ".oldbin"))
        self.assertLessEqual(set(old_kids), set(children_of(d.pid)))
        # A binary that hangs: a second SIGUSR2 meanwhile is ignored.
        self.put(exe, "#!/bin/sh\nexec sleep 2\n")
        since = d.mark()
        d.signal(signal.SIGUSR2)
        d.wait_for(r"SIGUSR2: upgrade: starting", 5, since)
        d.signal(signal.SIGUSR2)
        d.wait_for(r"SIGUSR2: an upgrade is under way.*ignored", 5, since)
        d.wait_for(r"upgrade failed: .*status 0 before it was serving", 10,
                   since)
        self.assertEqual(echo_once(port, b"again\n"), b"again\n")
        # Restored: the next one succeeds.
        self.put(exe, source=echodtest.ECHOD)
        t0 = time.monotonic()
        new, old = self.upgrade(d)
        self.check_old_gone(d, old, t0)
        poll_until(lambda: read_pid(self.pidfile()) == new, 5,
                   what="the pid file to name the new master")
        self.assertEqual(echo_once(port, b"new\n"), b"new\n")


    def test_hung_binary_killed_at_the_deadline(self):
        # A new binary that never says it serves is killed when the
        # deadline passes (30 s; the hooks build takes a shorter one),
        # and the old master goes on serving.
        exe = os.path.join(self.tmp, "echod")
        shutil.copyfile(echodtest.ECHOD_HOOKS, exe)
        os.chmod(exe, 0o755)
        d = self.start(binary=exe,
                       env={"ECHOD_TEST_UPGRADE_TIMEOUT_MS": "1500"})
        port = d.port
        marker = os.path.join(self.tmp, "hung.pid")
        self.put(exe, "#!/bin/sh\necho $$ > %s\nexec sleep 60\n" % marker)
        since = d.mark()
        t0 = time.monotonic()
        d.signal(signal.SIGUSR2)
        d.wait_for(r"upgrade failed: the new master was not serving "
                   r"within 1\.5 s; old master %d goes on serving" % d.pid,
                   15, since)
        self.assertGreaterEqual(time.monotonic() - t0, 1.4)
        hung = read_pid(marker)
        self.assertIsNotNone(hung)
        poll_until(lambda: gone_or_zombie(hung), 5,
                   what="the hung binary to be killed")
        self.assertEqual(echo_once(port, b"still\n"), b"still\n")
        self.assertEqual(read_pid(self.pidfile()), d.pid)


class UpgradeNotify(UpgradeBase, DaemonTestCase):
    model = "prefork"

    def test_mainpid_and_ready(self):
        path = os.path.join(self.tmp, "notify")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(path)
        ns.settimeout(10)
        self.addCleanup(ns.close)
        d = self.start(env={"NOTIFY_SOCKET": path})
        poll_until(lambda: b"READY=1" in ns.recv(4096), 10,
                   what="READY=1 from the old master")
        new, old = self.upgrade(d)
        got = b""
        deadline = time.monotonic() + 10
        while (b"MAINPID=%d" % new not in got or
               got.count(b"READY=1") == 0) and \
                time.monotonic() < deadline:
            got += ns.recv(4096) + b"\n"
        self.assertIn(b"MAINPID=%d" % new, got)
        self.assertIn(b"READY=1", got.split(b"MAINPID=%d" % new, 1)[1])
        self.assertEqual(d.wait_exit(GRACE + 2), 0)
        # No STOPPING=1 from the old master once it handed over.
        ns.settimeout(0.3)
        try:
            while True:
                self.assertNotIn(b"STOPPING=1", ns.recv(4096))
        except socket.timeout:
            pass


@unittest.skipUnless(SSA, "systemd-socket-activate is not installed")
class UpgradeSocketActivated(UpgradeBase, DaemonTestCase):
    model = "prefork"

    def test_inherited_sockets_kept(self):
        s = socket.socket()
        s.bind((LOCAL4, 0))
        port = s.getsockname()[1]
        s.close()
        log = os.path.join(self.tmp, "ssa.log")
        with open(log, "wb") as f:
            p = subprocess.Popen(
                [SSA, "-l", "%s:%d" % (LOCAL4, port), "--fdname=echo",
                 os.path.abspath(echodtest.ECHOD), "-P", self.pidfile(),
                 "--grace=%d" % GRACE], stdin=subprocess.DEVNULL,
                stdout=f, stderr=f)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
        def listening():
            if not os.path.exists(log):
                return False
            with open(log) as f:
                return "Listening on" in f.read()
        poll_until(listening, 10, what="systemd-socket-activate to listen")
        # It execs echod (same pid) on the first connection.
        self.assertEqual(echo_once(port, b"before\n"), b"before\n")
        poll_until(lambda: read_pid(self.pidfile()) == p.pid, 10,
                   what="echod under systemd-socket-activate")
        inode = os.readlink("/proc/%d/fd/3" % p.pid)
        self.assertTrue(inode.startswith("socket:"), inode)
        os.kill(p.pid, signal.SIGUSR2)
        new = poll_until(lambda: (read_pid(self.pidfile()) or p.pid)
                         != p.pid and read_pid(self.pidfile()), 15,
                         what="the new master's pid file")
        self.new_ident = proc_identity(new)
        self.assertEqual(p.wait(GRACE + 2), 0)
        self.assertEqual(os.readlink("/proc/%d/fd/3" % new), inode)
        self.assertEqual(echo_once(port, b"after\n"), b"after\n")
        with open(log) as f:
            text = f.read()
        self.assertIn("127.0.0.1:%d (echo)" % port,
                      text.split("upgrade: new master", 1)[1])


class UpgradeUnixPath(UpgradeBase, DaemonTestCase):
    """A unix: listener's path passes to the new master with the socket:
    served after the upgrade, and removed when the new master stops."""
    model = "prefork"

    def test_path_removed_by_the_new_master(self):
        path = os.path.join(self.tmp, "echo.sock")
        d = self.start("-l", "unix:" + path)
        self.assertEqual(echo_once(echodtest.connect_unix(path), b"a\n"),
                         b"a\n")
        t0 = time.monotonic()
        new, old_kids = self.upgrade(d)
        self.check_old_gone(d, old_kids, t0)
        self.assertTrue(os.path.exists(path), "the old master removed it")
        self.assertEqual(echo_once(echodtest.connect_unix(path), b"b\n"),
                         b"b\n")
        os.kill(new, signal.SIGTERM)
        poll_until(lambda: not identity_alive(self.new_ident), 10,
                   what="the new master to stop")
        self.assertFalse(os.path.exists(path),
                         "socket path left behind by the new master")


class UpgradeDetached(UpgradeBase, DaemonTestCase):
    """-D: the new master is not detached again; the pid file leads."""
    model = "prefork"

    @unittest.skipIf(echodtest.WRAPPER, "valgrind keeps a copy of stderr: a detached daemon under it holds the caller's pipe open")
    def test_upgrade_daemonized(self):
        s = socket.socket()
        s.bind((LOCAL4, 0))
        port = s.getsockname()[1]
        s.close()
        ctl = os.path.join(self.tmp, "control")
        r = echodtest.run_echod("-D", "-P", self.pidfile(), "--udp",
                                "-l", "%s:%d" % (LOCAL4, port),
                                "--grace=%d" % GRACE, "--control=" + ctl)
        self.assertEqual(r.returncode, 0, r.stderr)
        old = read_pid(self.pidfile())
        old_ident = proc_identity(old)
        self.addCleanup(end_process_tree, old_ident)
        self.assertEqual(echo_once(port, b"before\n"), b"before\n")
        os.kill(old, signal.SIGUSR2)
        new = poll_until(lambda: (read_pid(self.pidfile()) or old) != old
                         and read_pid(self.pidfile()), 15,
                         what="the new master's pid file")
        self.new_ident = proc_identity(new)
        t0 = time.monotonic()
        poll_until(lambda: not identity_alive(old_ident), GRACE + 2,
                   what="the old master to exit")
        self.assertLess(time.monotonic() - t0, GRACE + 2)
        self.assertTrue(identity_alive(self.new_ident))
        self.assertEqual(echo_once(port, b"after\n"), b"after\n")
        # Detached: own session already, not a session leader again.
        self.assertNotEqual(os.getsid(new), new)
        self.assertTrue(os.path.exists(ctl))
        os.kill(new, signal.SIGTERM)
        poll_until(lambda: not identity_alive(self.new_ident), 10,
                   what="the new master to stop")
        self.assertFalse(os.path.exists(self.pidfile()))
        self.assertFalse(os.path.exists(ctl))


if __name__ == "__main__":
    echodtest.main(timeout=240)
