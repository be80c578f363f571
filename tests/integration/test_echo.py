#!/usr/bin/env python3
"""test_echo: RFC 862 over TCP and UNIX sockets, byte for byte.

Every byte sent comes back in order and unchanged (NULs included) however
the writes are split, while the client reads concurrently; a half-close
gets everything back and then EOF; IPv6 on ::1 when the host has it; a
unix:/path listener, whose path is removed when echod stops.  Repeated for
every (model, reap) variant the harness lists.
"""

import os
import random
import select
import signal
import socket
import struct
import tempfile
import threading
import time
import unittest

import echodtest as et

MIB = 1 << 20


def random_payload(rng, size):
    """Random bytes with runs of NULs and every byte value in them."""
    data = bytearray(rng.randbytes(size))
    for _ in range(64):
        at, n = rng.randrange(0, size - 300), rng.randrange(1, 256)
        data[at:at + n] = bytes(n)
    data[0:256] = bytes(range(256))
    data[-1] = 0
    return bytes(data)


def stream_echo(sock, data, rng, timeout=30.0):
    """Write data in random-sized pieces from a thread while reading
    here; half-close when all is written; return what came back."""
    errors = []

    def writer():
        try:
            i = 0
            while i < len(data):
                n = rng.choice([1, 7, 100, 1460, 4096, 65536,
                                rng.randrange(1, 200000)])
                sock.sendall(data[i:i + n])
                i += n
            sock.shutdown(socket.SHUT_WR)
        except Exception as e:          # reported by the reader side
            errors.append(e)

    sock.settimeout(timeout)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    got = et.recv_all(sock, limit=len(data) + 1)
    t.join(timeout)
    if errors:
        raise errors[0]
    return got


class EchoTests:

    def check_stream(self, sock, size=MIB, seed=None):
        rng = random.Random(seed if seed is not None else
                            int.from_bytes(os.urandom(4), "big"))
        data = random_payload(rng, size)
        with sock:
            got = stream_echo(sock, data, rng)
        self.assertEqual(len(got), len(data), "length differs")
        if got != data:
            at = next(i for i, (a, b) in enumerate(zip(got, data)) if a != b)
            self.fail("first difference at byte %d" % at)

    def test_one_mib_binary(self):
        d = self.daemon()
        since = d.mark()
        self.check_stream(et.connect(d.port))
        # -v: one line for the connection with the byte counts.
        m = d.wait_for(r"conn 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:%d in=(\d+) "
                       r"out=(\d+) time=[\d.]+s end=(\w+)" % d.port, 5, since)
        self.assertEqual(int(m.group(1)), MIB)
        self.assertEqual(int(m.group(2)), MIB)
        self.assertEqual(m.group(3), "eof")

    def test_parallel_streams(self):
        d = self.daemon()
        errors = []

        def one(seed):
            try:
                self.check_stream(et.connect(d.port), 256 << 10, seed)
            except Exception as e:
                errors.append(e)
        ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertEqual(errors, [])

    def test_half_close(self):
        d = self.daemon()
        with et.connect(d.port) as s:
            s.sendall(b"first\n\0second")
            self.assertEqual(et.recv_exact(s, 13), b"first\n\0second")
            s.sendall(b"after the first reply")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(et.recv_all(s), b"after the first reply")
            # EOF, and it stays EOF.
            self.assertEqual(s.recv(1), b"")

    def test_half_close_immediately(self):
        d = self.daemon()
        with et.connect(d.port) as s:
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(et.recv_all(s), b"")

    def test_ping_pong(self):
        d = self.daemon()
        rng = random.Random(862)
        with et.connect(d.port) as s:
            for i in range(200):
                msg = rng.randbytes(rng.randrange(1, 2000))
                s.sendall(msg)
                self.assertEqual(et.recv_exact(s, len(msg)), msg,
                                 "round %d" % i)

    def test_ipv6(self):
        if not et.have_ipv6():
            self.skipTest("no IPv6 on ::1 here")
        d = self.daemon("-l", "[::1]:0")
        port = d.port_of("::1")
        self.assertEqual(et.echo_once(port, b"over IPv6\0!", host="::1"),
                         b"over IPv6\0!")
        self.check_stream(et.connect(port, host="::1"), 128 << 10)

    def test_ipv4_and_ipv6_same_port(self):
        if not et.have_ipv6():
            self.skipTest("no IPv6 on ::1 here")
        d = self.daemon("-l", "127.0.0.1:0", "-l", "[::1]:0")
        p4, p6 = d.port_of("127.0.0.1"), d.port_of("::1")
        self.assertEqual(et.echo_once(p4, b"four"), b"four")
        self.assertEqual(et.echo_once(p6, b"six", host="::1"), b"six")

    def test_name_binds_every_address(self):
        # "localhost" resolves to 127.0.0.1 and often ::1: each address
        # is bound, all on the one port the kernel chose for the first.
        d = self.daemon("-l", "localhost:0")
        tcp = [a for p, a in d.listening() if p == "tcp"]
        self.assertGreaterEqual(len(tcp), 1)
        ports = {int(a.rpartition(":")[2]) for a in tcp}
        self.assertEqual(len(ports), 1, "ports differ: %r" % tcp)
        for a in tcp:
            host = a.rpartition(":")[0].strip("[]")
            self.assertIn(host, ("127.0.0.1", "::1"))
            port = int(a.rpartition(":")[2])
            self.assertEqual(et.echo_once(port, b"lo", host=host), b"lo")

    def test_unix_socket(self):
        with tempfile.TemporaryDirectory(prefix="echod-test-") as tmp:
            path = os.path.join(tmp, "echo.sock")
            d = self.daemon("-l", "unix:" + path)
            d.wait_for(r"listening on unix unix:%s$" % path, 5)
            self.assertTrue(os.path.exists(path))
            self.assertEqual(et.echo_once(et.connect_unix(path), b"hi\0there"),
                             b"hi\0there")
            self.check_stream(et.connect_unix(path), 256 << 10)
            d.signal(signal.SIGTERM)
            self.assertEqual(d.wait_exit(10), 0)
            self.assertFalse(os.path.exists(path),
                             "socket path left behind after SIGTERM")

    def test_unix_stale_socket_replaced(self):
        with tempfile.TemporaryDirectory(prefix="echod-test-") as tmp:
            path = os.path.join(tmp, "echo.sock")
            # A socket file nobody serves, as a crashed echod leaves it.
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.close()
            d = self.daemon("-l", "unix:" + path)
            self.assertEqual(et.echo_once(et.connect_unix(path), b"x"), b"x")
            d.stop()

    def test_unix_live_socket_not_stolen(self):
        with tempfile.TemporaryDirectory(prefix="echod-test-") as tmp:
            path = os.path.join(tmp, "echo.sock")
            d1 = self.daemon("-l", "unix:" + path)
            r = et.run_echod(*(et.model_args(self.model, self.reap) +
                               ["-l", "unix:" + path]), timeout=10)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(path, r.stderr.decode("utf-8", "replace"))
            # The first one still serves.
            self.assertEqual(et.echo_once(et.connect_unix(path), b"ok"),
                             b"ok")
            d1.stop()

    def test_many_short_connections(self):
        d = self.daemon()
        for i in range(50):
            msg = b"connection %d\n" % i
            self.assertEqual(et.echo_once(d.port, msg), msg)
        st = d.wait_status(lambda s: s["open"] == 0 and s["served"] >= 50,
                           10, "open=0")
        self.assertEqual(st["served"], 50)

    def test_client_reset(self):
        # A client that vanishes mid-stream must not hurt the daemon.
        d = self.daemon()
        for _ in range(5):
            s = et.connect(d.port)
            s.sendall(os.urandom(200000))
            # linger on, 0 s: close() sends a RST.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()
        self.assertEqual(et.echo_once(d.port, b"still here"), b"still here")
        d.wait_status(lambda s: s["open"] == 0, 10, "open=0")

        d.wait_for(r"conn .* end=reset", 5)

    def fill_until_blocked(self, s, pattern, stall=1.0):
        """Send without reading until the socket stays unwritable for
        `stall` seconds; how many bytes went."""
        s.setblocking(False)
        sent, view = 0, memoryview(pattern)
        last_progress = time.monotonic()
        while sent < len(pattern):
            try:
                n = s.send(view[sent:sent + 65536])
                sent += n
                last_progress = time.monotonic()
            except BlockingIOError:
                if time.monotonic() - last_progress > stall:
                    break
                select.select([], [s], [], 0.1)
        s.settimeout(30)
        return sent

    @unittest.skipIf(et.WRAPPER, "under valgrind the server drains too slowly for the stall bound")
    def test_backpressure(self):
        # A client that never reads cannot make echod buffer without
        # bound: sending must stall after roughly the socket buffers.
        d = self.daemon()
        pattern = bytes(range(251)) * ((64 << 20) // 251)
        with et.connect(d.port) as s:
            sent = self.fill_until_blocked(s, pattern)
            self.assertLess(sent, len(pattern),
                            "64 MiB went in without being read back: "
                            "no backpressure")
            kid = d.children()[0]
            with open("/proc/%d/status" % kid) as f:
                rss = next(int(l.split()[1]) for l in f
                           if l.startswith("VmRSS:"))
            self.assertLess(rss, 32 << 10, "child RSS %d KiB" % rss)
            # Then everything sent so far comes back, in order.
            s.shutdown(socket.SHUT_WR)
            got = et.recv_all(s, sent + 1)
        self.assertEqual(len(got), sent)
        self.assertTrue(got == pattern[:sent], "stream corrupted")

    def test_idle_timeout(self):
        d = self.daemon("--idle-timeout=1")
        with et.connect(d.port) as s:
            s.sendall(b"then silence")
            self.assertEqual(et.recv_exact(s, 12), b"then silence")
            t0 = time.monotonic()
            self.assertEqual(et.recv_all(s), b"")
            took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.8)
        self.assertLess(took, 4.0)
        d.wait_for(r"conn .* in=12 out=12 .* end=idle", 5)

    def assert_idle_close(self, s, d):
        # The server closes a connection that moved nothing for ~1 s.
        t0 = time.monotonic()
        s.settimeout(10)
        self.assertEqual(et.recv_all(s), b"")
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.8)
        self.assertLess(took, 4.0)
        d.wait_for(r"conn .* end=idle", 5)

    def test_idle_timeout_silent(self):
        # Not a byte ever sent: the serving process waits in its first
        # read (a blocking recv bounded by the inherited receive
        # timeout), and the idle timeout still ends it.
        d = self.daemon("--idle-timeout=1")
        with et.connect(d.port) as s:
            self.assert_idle_close(s, d)

    def test_idle_timeout_unix(self):
        # An AF_UNIX accept inherits no receive timeout from its
        # listener: the idle timeout must hold there too.
        with tempfile.TemporaryDirectory(prefix="echod-test-") as tmp:
            path = os.path.join(tmp, "echo.sock")
            d = self.daemon("--idle-timeout=1", "-l", "unix:" + path)
            d.wait_for(r"listening on unix unix:%s$" % path, 5)
            with et.connect_unix(path) as s:
                s.sendall(b"x")
                self.assertEqual(et.recv_exact(s, 1), b"x")
                self.assert_idle_close(s, d)

    def test_idle_timeout_while_blocked(self):
        # SPEC: under backpressure "the idle timeout still applies".
        d = self.daemon("--idle-timeout=1")
        pattern = bytes(range(251)) * ((64 << 20) // 251)
        with et.connect(d.port) as s:
            sent = self.fill_until_blocked(s, pattern, stall=0.3)
            self.assertLess(sent, len(pattern))
            d.wait_for(r"conn .* end=idle", 6)
        d.wait_status(lambda st: st["open"] == 0, 5, "open=0")

    def test_line_mode(self):
        d = self.daemon("--prefix=Echo=>")
        with et.connect(d.port) as s:
            s.sendall(b"hello\nwor")
            self.assertEqual(et.recv_exact(s, 12), b"Echo=>hello\n")
            s.sendall(b"ld\r\nlast")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(et.recv_all(s),
                             b"Echo=>world\nEcho=>last\n")

    def test_line_mode_timestamp(self):
        d = self.daemon("--prefix=Echo=>", "--timestamp")
        got = et.echo_once(d.port, b"hello\n", timeout=10)
        self.assertRegex(got, rb"^Echo=>hello at (Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
                         rb"\w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n$")

    def test_empty_connection(self):
        d = self.daemon()
        since = d.mark()
        et.connect(d.port).close()
        d.wait_for(r"conn .* in=0 out=0 .* end=eof", 5, since)


et.parametrise(globals(), EchoTests)

if __name__ == "__main__":
    et.main(timeout=100)
