#!/usr/bin/env python3
"""echod as a classic daemon: -D, -P, --user/--group.

-D returns only once the daemon serves, and with a bind error returns 1
on the terminal; the daemon is in its own session, not its leader, with
no controlling tty; -P refuses a second instance naming the first, and
SIGTERM removes the pid file; --user=nobody shows in all four uid and
gid fields of every serving process.
"""
import os
import pwd
import signal
import socket
import subprocess
import unittest

from echodtest import (ECHOD, WRAPPER, TIMEOUT, alive, children, free_port, kill,
                     listen_port, proc_fields, roundtrip, start_echod,
                     status_ids, tmpdir, wait_for)


def read_pid(path):
    """The pid in a pid file, or None while it is still being written
    (echod creates it before binding and writes it once serving)."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


class Daemon(unittest.TestCase):
    @unittest.skipIf(WRAPPER, "valgrind keeps a copy of stderr: a detached daemon under it holds the caller's pipe open")
    def test_detach_pidfile(self):
        with tmpdir() as d:
            pidfile = os.path.join(d, "echod.pid")
            port = free_port()
            r = subprocess.run(WRAPPER + [ECHOD, "-D", "-P", pidfile, "-m", "fork",
                                "-l", "127.0.0.1:%d" % port],
                               stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=TIMEOUT)
            pid = None
            try:
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout + r.stderr, b"")
                pid = read_pid(pidfile)
                # serving already: the command returned only after READY
                self.assertEqual(roundtrip(port, b"daemon\n"), b"daemon\n")
                st = proc_fields(pid)
                ppid, pgrp, sid, tty = (int(st[1]), int(st[2]), int(st[3]),
                                        int(st[4]))
                self.assertNotEqual(sid, pid, "a session leader")
                self.assertNotEqual(sid, os.getsid(0), "same session")
                self.assertEqual(tty, 0, "has a controlling tty")
                self.assertNotEqual(ppid, os.getpid())
                self.assertEqual(os.readlink("/proc/%d/cwd" % pid), "/")
                for fd in (0, 1, 2):
                    self.assertEqual(
                        os.readlink("/proc/%d/fd/%d" % (pid, fd)),
                        "/dev/null")
                # a second instance refuses and names the first
                r2 = subprocess.run(WRAPPER + [ECHOD, "-D", "-P", pidfile, "-m",
                                     "fork", "-l", "127.0.0.1:0"],
                                    stdin=subprocess.DEVNULL,
                                    capture_output=True, timeout=TIMEOUT)
                self.assertEqual(r2.returncode, 1)
                self.assertIn(b"pid %d" % pid, r2.stderr)
                self.assertIn(pidfile.encode(), r2.stderr)
                self.assertEqual(read_pid(pidfile), pid)
                # SIGTERM: clean exit, pid file gone
                os.kill(pid, signal.SIGTERM)
                wait_for(lambda: not os.path.exists(pidfile),
                         "the pid file to be removed")
                wait_for(lambda: not alive(pid), "the daemon to exit")
            finally:
                if pid is not None:
                    kill(pid)

    @unittest.skipIf(WRAPPER, "valgrind keeps a copy of stderr: a detached daemon under it holds the caller's pipe open")
    def test_detach_bind_error(self):
        # the error reaches the terminal, with exit 1, and nothing stays
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with tmpdir() as d:
            pidfile = os.path.join(d, "echod.pid")
            try:
                r = subprocess.run(WRAPPER + [ECHOD, "-D", "-P", pidfile, "-m", "fork",
                                    "-l", "127.0.0.1:%d" % port],
                                   stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=TIMEOUT)
            finally:
                busy.close()
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"127.0.0.1:%d" % port, r.stderr)
            self.assertIn(b"in use", r.stderr)
            self.assertFalse(os.path.exists(pidfile))

    def test_pidfile_foreground(self):
        # no -D: the pid file names the process itself; SIGINT removes it
        with tmpdir() as d:
            pidfile = os.path.join(d, "echod.pid")
            log = os.path.join(d, "echod.log")
            p = start_echod(["-P", pidfile, "-m", "fork", "-l",
                             "127.0.0.1:0"], log)
            try:
                listen_port(log)
                wait_for(lambda: read_pid(pidfile) == p.pid,
                         "the pid file to name echod")
                p.send_signal(signal.SIGINT)
                self.assertEqual(p.wait(timeout=TIMEOUT), 0)
                self.assertFalse(os.path.exists(pidfile))
            finally:
                kill(p)

    def test_stale_pidfile(self):
        # an unlocked pid file from a dead echod does not block a start
        with tmpdir() as d:
            pidfile = os.path.join(d, "echod.pid")
            with open(pidfile, "w") as f:
                f.write("999999\n")
            log = os.path.join(d, "echod.log")
            p = start_echod(["-P", pidfile, "-m", "fork", "-l",
                             "127.0.0.1:0"], log)
            try:
                listen_port(log)
                wait_for(lambda: read_pid(pidfile) == p.pid,
                         "the pid file to name echod")
            finally:
                kill(p, signal.SIGTERM)

    def test_unknown_user_group(self):
        for opt, name in (("--user", "no-such-user-echod"),
                          ("--group", "no-such-group-echod")):
            r = subprocess.run(WRAPPER + [ECHOD, "-m", "fork", "-l", "127.0.0.1:0",
                                "%s=%s" % (opt, name)],
                               stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 1, opt)
            self.assertIn(name.encode(), r.stderr)


@unittest.skipUnless(os.geteuid() == 0, "dropping privileges needs root")
class Privdrop(unittest.TestCase):
    def setUp(self):
        pw = pwd.getpwnam("nobody")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def serving_child(self, master, port):
        """Open a connection and return (socket, pid serving it)."""
        c = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        c.sendall(b"x")
        self.assertEqual(c.recv(1), b"x")
        kids = wait_for(lambda: children(master), "a serving child")
        return c, kids[0]

    def check_nobody(self, pid):
        uids, gids = status_ids(pid)
        self.assertEqual(uids, [self.uid] * 4)
        self.assertEqual(gids, [self.gid] * 4)

    def test_user_nobody_with_pidfile(self):
        # the master keeps root (it removes the pid file); children don't
        with tmpdir() as d:
            pidfile = os.path.join(d, "echod.pid")
            log = os.path.join(d, "echod.log")
            p = start_echod(["--user=nobody", "-P", pidfile, "-m", "fork",
                             "-l", "127.0.0.1:0"], log)
            try:
                port = listen_port(log)
                c, kid = self.serving_child(p.pid, port)
                try:
                    self.check_nobody(kid)
                    self.assertEqual(status_ids(p.pid)[0], [0] * 4)
                finally:
                    c.close()
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(timeout=TIMEOUT), 0)
                self.assertFalse(os.path.exists(pidfile))
            finally:
                kill(p)

    def test_user_nobody_master_drops(self):
        # nothing needs root later: the master drops too
        with tmpdir() as d:
            log = os.path.join(d, "echod.log")
            p = start_echod(["--user=nobody", "-m", "fork", "-l",
                             "127.0.0.1:0"], log)
            try:
                port = listen_port(log)
                c, kid = self.serving_child(p.pid, port)
                try:
                    self.check_nobody(kid)
                    self.check_nobody(p.pid)
                finally:
                    c.close()
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(timeout=TIMEOUT), 0)
            finally:
                kill(p)

    @unittest.skipIf(WRAPPER, "valgrind holds the client socket on fds 0-2 and may write to it")
    def test_user_nobody_inetd(self):
        a, b = socket.socketpair()
        p = subprocess.Popen(WRAPPER + [ECHOD, "-i", "--user=nobody"], stdin=b.fileno(),
                             stdout=b.fileno(), stderr=b.fileno())
        b.close()
        try:
            a.settimeout(TIMEOUT)
            a.sendall(b"y")
            self.assertEqual(a.recv(1), b"y")
            self.check_nobody(p.pid)
            a.shutdown(socket.SHUT_WR)
            self.assertEqual(p.wait(timeout=TIMEOUT), 0)
        finally:
            kill(p)
            a.close()

    def test_group_only(self):
        with tmpdir() as d:
            log = os.path.join(d, "echod.log")
            p = start_echod(["--group=%d" % self.gid, "-m", "fork", "-l",
                             "127.0.0.1:0"], log)
            try:
                port = listen_port(log)
                # The line comes at bind, before the drop; an echo is
                # answered only once the master is in its loop.
                self.assertEqual(roundtrip(port), b"hello, echo\n")
                uids, gids = status_ids(p.pid)
                self.assertEqual(gids, [self.gid] * 4)
            finally:
                kill(p)


if __name__ == "__main__":
    unittest.main()
