#!/usr/bin/env python3
"""echod -i: what inetd and xinetd hand it on fd 0.

A socket passed as fds 0, 1 and 2 the way inetd passes it (connected,
listening, datagram), then the real xinetd in nowait and wait modes.
"""
import os
import shutil
import signal
import socket
import subprocess
import unittest

from echodtest import (ECHOD, WRAPPER, TIMEOUT, children, free_port, kill, roundtrip,
                     tmpdir, wait_for, wait_line)


def run_on_fd0(sock, args, **kw):
    """echod with sock as stdin, stdout and stderr, as inetd starts it."""
    return subprocess.Popen(WRAPPER + [ECHOD, "-i"] + args, stdin=sock.fileno(),
                            stdout=sock.fileno(), stderr=sock.fileno(), **kw)


class InetdFd0(unittest.TestCase):
    def test_not_a_socket(self):
        r = subprocess.run(WRAPPER + [ECHOD, "-i"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"not a socket", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_unconnected_socket(self):
        s = socket.socket()
        try:
            r = subprocess.run(WRAPPER + [ECHOD, "-i"], stdin=s.fileno(),
                               capture_output=True, timeout=TIMEOUT)
        finally:
            s.close()
        self.assertEqual(r.returncode, 1)

    @unittest.skipIf(WRAPPER, "valgrind holds the client socket on fds 0-2 and may write to it")
    def test_nowait_connection_nothing_but_echo(self):
        # Even with -v, no log line may reach fds 0-2: they are the client.
        a, b = socket.socketpair()
        p = run_on_fd0(b, ["-v"])
        b.close()
        try:
            data = bytes(range(256)) * 64 + b"\0tail"
            a.sendall(data)
            a.shutdown(socket.SHUT_WR)
            got = b""
            a.settimeout(TIMEOUT)
            while True:
                x = a.recv(65536)
                if not x:
                    break
                got += x
            self.assertEqual(got, data)
            self.assertEqual(p.wait(timeout=TIMEOUT), 0)
        finally:
            kill(p)
            a.close()

    @unittest.skipIf(WRAPPER, "valgrind holds the client socket on fds 0-2 and may write to it")
    def test_nowait_tcp(self):
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        c = socket.create_connection(ls.getsockname(), timeout=TIMEOUT)
        conn, _ = ls.accept()
        ls.close()
        p = run_on_fd0(conn, [])
        conn.close()
        try:
            c.sendall(b"over tcp\n")
            c.shutdown(socket.SHUT_WR)
            self.assertEqual(c.recv(100), b"over tcp\n")
            self.assertEqual(p.wait(timeout=TIMEOUT), 0)
        finally:
            kill(p)
            c.close()

    def test_wait_listening_socket(self):
        # inetd "wait": echod gets the listener itself and keeps serving.
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(16)
        port = ls.getsockname()[1]
        p = run_on_fd0(ls, ["-m", "fork"])
        ls.close()
        try:
            for i in range(3):
                msg = b"wait %d\n" % i
                self.assertEqual(roundtrip(port, msg), msg)
            self.assertIsNone(p.poll())
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=TIMEOUT), 0)
        finally:
            kill(p)

    def test_datagram(self):
        # inetd "dgram wait": UDP echo, or (until the UDP engine exists)
        # a clear error naming the datagram socket.
        d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        d.bind(("127.0.0.1", 0))
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.bind(("127.0.0.1", 0))
        c.settimeout(TIMEOUT)
        p = subprocess.Popen(WRAPPER + [ECHOD, "-i", "--log=stderr"],
                             stdin=d.fileno(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            c.sendto(b"dgram", d.getsockname())
            d.close()
            try:
                rc = p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                rc = None
            if rc is not None:
                self.assertEqual(rc, 1)
                self.assertIn(b"datagram socket", p.stderr.read())
            else:
                self.assertEqual(c.recvfrom(100)[0], b"dgram")
        finally:
            kill(p)
            p.stderr.close()
            c.close()


@unittest.skipUnless(shutil.which("xinetd"), "xinetd is not installed")
@unittest.skipIf(WRAPPER, "xinetd execs the server itself: no wrapper")
class Xinetd(unittest.TestCase):
    def run_xinetd(self, d, wait, args):
        port = free_port()
        conf = os.path.join(d, "xinetd.conf")
        log = os.path.join(d, "xinetd.log")
        with open(conf, "w") as f:
            f.write("""defaults
{
}
service echodtest
{
	type		= UNLISTED
	port		= %d
	bind		= 127.0.0.1
	socket_type	= stream
	protocol	= tcp
	wait		= %s
	user		= root
	server		= %s
	server_args	= -i %s
	flags		= IPv4
	instances	= 16
}
""" % (port, "yes" if wait else "no", os.path.abspath(ECHOD), args))
        p = subprocess.Popen(["xinetd", "-dontfork", "-f", conf,
                              "-filelog", log,
                              "-pidfile", os.path.join(d, "xinetd.pid")],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            wait_line(log, "Started working")
        except AssertionError:
            kill(p)
            raise
        return p, port

    def test_nowait(self):
        with tmpdir() as d:
            p, port = self.run_xinetd(d, False, "-v")
            try:
                socks = [socket.create_connection(("127.0.0.1", port),
                                                  timeout=TIMEOUT)
                         for _ in range(3)]
                # three connections at once: three echod processes
                for i, s in enumerate(socks):
                    s.sendall(b"conn %d\n" % i)
                for i, s in enumerate(socks):
                    self.assertEqual(s.recv(100), b"conn %d\n" % i)
                wait_for(lambda: len(children(p.pid)) == 3,
                         "three echod under xinetd")
                for s in socks:
                    s.close()
                self.assertEqual(roundtrip(port, b"x" * 100000),
                                 b"x" * 100000)
            finally:
                for c in children(p.pid):
                    kill(c)
                kill(p)

    def test_wait(self):
        with tmpdir() as d:
            p, port = self.run_xinetd(d, True, "-m fork --user=nobody")
            try:
                for i in range(4):
                    msg = b"wait mode %d\n" % i
                    self.assertEqual(roundtrip(port, msg), msg)
                # one long-lived echod holds the listener
                kids = children(p.pid)
                self.assertEqual(len(kids), 1)
            finally:
                for c in children(p.pid):
                    kill(c, signal.SIGTERM)
                kill(p)


if __name__ == "__main__":
    unittest.main()
