#!/usr/bin/env python3
"""test_rules: --allow/--deny/--rules (first match, defaults, reload) and
--proxy-from (PROXY protocol v1 and v2) against the real daemon, with
distinct loopback source addresses (127.0.0.2, 127.0.0.3...) bound on the
client side.  Issue #12."""

import errno
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import echodtest
from echodtest import DaemonTestCase, poll_until

PAYLOAD = b"hello rules\n"
V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def connect_from(src, port, host="127.0.0.1", timeout=10.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


def served(src, port, host="127.0.0.1", pre=b"", data=PAYLOAD):
    """Echoed data back (True), or closed without a byte (False)."""
    s = connect_from(src, port, host)
    with s:
        try:
            s.sendall(pre + data)
            s.shutdown(socket.SHUT_WR)
            got = echodtest.recv_all(s, limit=len(pre + data) + 1)
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
                return False
            raise
    if got == b"":
        return False
    if got != data:
        raise AssertionError("echoed %r, wanted %r" % (got, data))
    return True


def v1(src, sport=5000, dst="127.0.0.1", dport=7):
    fam = "TCP6" if ":" in src else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport,
                                          dport)).encode()


def v2(src, sport=5000, dst="127.0.0.1", dport=7, local=False):
    if local:
        return V2SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    if ":" in src:
        body = (socket.inet_pton(socket.AF_INET6, src) +
                socket.inet_pton(socket.AF_INET6, dst) +
                struct.pack("!HH", sport, dport))
        return V2SIG + bytes([0x21, 0x21]) + struct.pack("!H",
                                                          len(body)) + body
    body = (socket.inet_aton(src) + socket.inet_aton(dst) +
            struct.pack("!HH", sport, dport))
    return V2SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


class Rules:
    def test_deny_then_allow(self):
        d = self.daemon("--deny=127.0.0.2", "--allow=127.0.0.0/8")
        self.assertFalse(served("127.0.0.2", d.port))
        self.assertTrue(served("127.0.0.3", d.port))
        st = d.wait_status(lambda s: s["refused_rule"] >= 1)
        self.assertEqual(st["refused_rule"], 1)
        self.assertEqual(st["refused"], 1)
        d.wait_for(r"refused 127\.0\.0\.2: deny rule 1")

    def test_first_match(self):
        d = self.daemon("--allow=127.0.0.2", "--deny=127.0.0.0/8",
                        "--allow=127.0.0.3")
        self.assertTrue(served("127.0.0.2", d.port))
        self.assertFalse(served("127.0.0.3", d.port))

    def test_default_allow(self):
        d = self.daemon("--deny=127.0.0.2")
        self.assertTrue(served("127.0.0.3", d.port))
        self.assertFalse(served("127.0.0.2", d.port))

    def test_default_deny(self):
        d = self.daemon("--allow=127.0.0.3/32")
        self.assertFalse(served("127.0.0.2", d.port))
        self.assertTrue(served("127.0.0.3", d.port))
        d.wait_for(r"refused 127\.0\.0\.2: no allow rule matches")

    def test_file_after_command_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".rules") as f:
            f.write("# who may echo\n\nallow 127.0.0.2 # one host\n"
                    "deny 127.0.0.0/8\n")
            f.flush()
            d = self.daemon("--deny=127.0.0.4", "--rules=" + f.name)
            self.assertTrue(served("127.0.0.2", d.port))
            self.assertFalse(served("127.0.0.3", d.port))
            self.assertFalse(served("127.0.0.4", d.port))
            st = d.wait_status(lambda s: s["refused_rule"] >= 2)
            self.assertEqual(st["refused_rule"], 2)

    @unittest.skipUnless(echodtest.have_ipv6(), "no ::1")
    def test_ipv6(self):
        d = self.daemon("-l", "[::1]:0", "--deny=::1/128")
        port = d.port_of("::1") if hasattr(d, "port_of") else d.port
        self.assertFalse(served("::1", port, host="::1"))
        st = d.wait_status(lambda s: s["refused_rule"] >= 1)
        self.assertEqual(st["refused_rule"], 1)


echodtest.parametrise(globals(), Rules)


class Startup(unittest.TestCase):
    def test_bad_allow_is_usage_error(self):
        p = subprocess.run([echodtest.ECHOD, "--allow=10.0.0.300/8"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 64)
        self.assertIn(b"10.0.0.300", p.stderr)
        p = subprocess.run([echodtest.ECHOD, "--deny=10.0.0.0/33"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 64)
        self.assertIn(b"33", p.stderr)

    def test_bad_file_exits_1_naming_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".rules") as f:
            f.write("allow 127.0.0.1\n# fine\nallow 10.0.0.0/99\n")
            f.flush()
            p = subprocess.run([echodtest.ECHOD, "-l", "127.0.0.1:0",
                                "--rules=" + f.name],
                               capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 1)
            self.assertIn(("%s:3:" % f.name).encode(), p.stderr)


class Inetd(unittest.TestCase):
    """-i on a connected socket: the rules (and PROXY) apply too."""

    def run_one(self, src, pre=b"", *args):
        ls = socket.socket()
        with ls:
            ls.bind(("127.0.0.1", 0))
            ls.listen(1)
            c = connect_from(src, ls.getsockname()[1])
            conn, _ = ls.accept()
        with conn:
            p = subprocess.Popen([echodtest.ECHOD, "-i", "--log=stderr",
                                  "-v"] + list(args), stdin=conn, stdout=conn,
                                 stderr=subprocess.PIPE)
        try:
            with c:
                c.sendall(pre + PAYLOAD)
                c.shutdown(socket.SHUT_WR)
                try:
                    got = echodtest.recv_all(c)
                except ConnectionResetError:
                    got = b""
            p.wait(10)
            return got, p.stderr.read().decode()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()

    def test_rules_and_proxy(self):
        got, log = self.run_one("127.0.0.2", b"", "--deny=127.0.0.2")
        self.assertEqual(got, b"")
        self.assertIn("refused 127.0.0.2: deny rule 1", log)
        got, log = self.run_one("127.0.0.3", b"", "--deny=127.0.0.2")
        self.assertEqual(got, PAYLOAD)
        got, log = self.run_one("127.0.0.1", v1("127.0.0.9"),
                                "--proxy-from=127.0.0.1")
        self.assertEqual(got, PAYLOAD)
        self.assertRegex(log, r"conn 127\.0\.0\.9:5000 -> ")


class ForkNoFork(DaemonTestCase):
    model = "fork"

    def test_refused_without_fork(self):
        d = self.daemon("--deny=127.0.0.2")
        for _ in range(20):
            self.assertFalse(served("127.0.0.2", d.port))
            self.assertEqual(d.children(), [])
        st = d.status()
        self.assertEqual(st["served"], 0)
        self.assertEqual(st["refused_rule"], 20)
        self.assertTrue(served("127.0.0.3", d.port))


def udp_ask(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with s:
        s.bind((src, 0))
        s.settimeout(0.5)
        s.sendto(b"ping", ("127.0.0.1", port))
        try:
            return s.recvfrom(100)[0]
        except socket.timeout:
            return None


class Udp(DaemonTestCase):
    def test_udp_dropped_by_rule(self):
        d = self.daemon("-u", "--deny=127.0.0.2")
        port = d.port

        def ask(src):
            return udp_ask(src, port)
        poll_until(lambda: ask("127.0.0.3") == b"ping", 10,
                   what="the UDP worker")
        self.assertIsNone(ask("127.0.0.2"))
        st = d.wait_status(lambda s: s["udp_dropped_rule"] >= 1)
        self.assertGreaterEqual(st["udp_dropped"], st["udp_dropped_rule"])


class Reload(DaemonTestCase):
    model = "prefork"

    def setUp(self):
        super().setUp()
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "echod.rules")
        with open(self.path, "w") as f:
            f.write("allow 127.0.0.0/8\n")

    def tearDown(self):
        super().tearDown()
        self.dir.cleanup()

    def rewrite(self, text):
        tmp = self.path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.path)

    def test_new_rules_in_every_worker(self):
        d = self.daemon("-w", "4", "--rules=" + self.path)
        self.assertTrue(served("127.0.0.2", d.port))
        self.rewrite("deny 127.0.0.2\nallow 127.0.0.0/8\n")
        old = [echodtest.proc_identity(p) for p in d.children()]
        since = d.mark()
        d.signal(signal.SIGHUP)
        d.wait_for(r"rules reloaded from .*: 2 rules", since=since)
        d.wait_for(r"SIGHUP: generation 1, replacing", since=since)
        # Idle workers of the old generation leave within their accept
        # timeout (1 s); zombies do not accept.
        try:
            poll_until(lambda: not any(i and echodtest.identity_alive(i)
                                       for i in old), 15,
                       what="the old generation to leave")
        except AssertionError:
            raise AssertionError("old workers %r still alive; log:\n%s"
                                 % (old, "\n".join(d.lines[-30:])))
        for _ in range(12):	# more than the workers: every one asked
            self.assertFalse(served("127.0.0.2", d.port))
        self.assertTrue(served("127.0.0.3", d.port))

    def test_udp_worker_gets_new_rules(self):
        d = self.daemon("-u", "--rules=" + self.path)
        poll_until(lambda: udp_ask("127.0.0.2", d.port) == b"ping", 10,
                   what="the UDP worker")
        self.rewrite("deny 127.0.0.2\nallow 127.0.0.0/8\n")
        since = d.mark()
        d.signal(signal.SIGHUP)
        d.wait_for(r"rules reloaded", since=since)
        # The old UDP worker may answer until it is replaced.
        poll_until(lambda: udp_ask("127.0.0.2", d.port) is None and
                   udp_ask("127.0.0.3", d.port) == b"ping", 10,
                   what="the new UDP worker to drop 127.0.0.2")
        for _ in range(3):
            self.assertIsNone(udp_ask("127.0.0.2", d.port))
        st = d.wait_status(lambda s: s["udp_dropped_rule"] >= 4)
        self.assertGreaterEqual(st["udp_dropped"], 4)

    def test_broken_file_keeps_old_rules(self):
        d = self.daemon("-w", "2", "--rules=" + self.path)
        self.rewrite("deny 127.0.0.2\nallw 127.0.0.0/8\n")
        since = d.mark()
        d.signal(signal.SIGHUP)
        d.wait_for(r"rules not reloaded.*echod\.rules:2: unknown word "
                   r"\"allw\"", since=since)
        d.wait_for(r"SIGHUP: generation", since=since)
        for _ in range(6):
            self.assertTrue(served("127.0.0.2", d.port))


class ForkReload(Reload):
    model = "fork"

    def test_new_rules_in_every_worker(self):
        d = self.daemon("--rules=" + self.path)
        self.assertTrue(served("127.0.0.2", d.port))
        self.rewrite("deny 127.0.0.2\nallow 127.0.0.0/8\n")
        since = d.mark()
        d.signal(signal.SIGHUP)
        d.wait_for(r"rules reloaded from .*: 2 rules", since=since)
        # The master decides: in force for the very next connection.
        for _ in range(5):
            self.assertFalse(served("127.0.0.2", d.port))
        self.assertTrue(served("127.0.0.3", d.port))

    def test_broken_file_keeps_old_rules(self):
        d = self.daemon("--rules=" + self.path)
        self.rewrite("deny 127.0.0.2\nallow 127.0.0.0/33\n")
        since = d.mark()
        d.signal(signal.SIGHUP)
        d.wait_for(r"rules not reloaded.*echod\.rules:2: prefix length",
                   since=since)
        for _ in range(3):
            self.assertTrue(served("127.0.0.2", d.port))


def at_limit(test, d, sport):
    """A connection from the proxy whose header names 127.0.0.9 (source
    port sport), echoed, then a second one from the same source refused
    (--per-ip=1): the first, still open, to use in a with."""
    a = connect_from("127.0.0.1", d.port)
    try:
        a.sendall(v1("127.0.0.9", sport) + PAYLOAD)
        test.assertEqual(echodtest.recv_exact(a, len(PAYLOAD)), PAYLOAD)
        test.assertFalse(served("127.0.0.1", d.port,
                                pre=v1("127.0.0.9", sport + 1)))
    except BaseException:
        a.close()
        raise
    return a


class ProxyPool(DaemonTestCase):
    model = "prefork"

    def test_waiting_for_the_header_is_busy(self):
        # A worker waiting (up to 5 s) for a PROXY header is no spare:
        # the scoreboard says busy at once, not after the header.
        d = self.daemon("--proxy-from=127.0.0.1", "-w", "2",
                        "--min-spare=1", "--max-spare=2")
        d.wait_status(lambda st: st["idle"] == 2 and st["busy"] == 0, 10,
                      "two idle workers")
        with connect_from("127.0.0.1", d.port) as s:
            st = d.wait_status(lambda st: st["busy"] == 1, 3,
                               "busy while the header is awaited")
            self.assertEqual(st["served"], 0)
            s.sendall(v1("127.0.0.9", 5001) + b"late\n")
            self.assertEqual(echodtest.recv_exact(s, 5), b"late\n")


class Proxy:
    def test_v1_and_v2_per_ip(self):
        d = self.daemon("--proxy-from=127.0.0.1", "--per-ip=2")
        a = connect_from("127.0.0.1", d.port)
        b = connect_from("127.0.0.1", d.port)
        a.sendall(v1("127.0.0.9", 5001) + b"a\n")
        b.sendall(v2("127.0.0.9", 5002) + b"b\n")
        self.assertEqual(echodtest.recv_exact(a, 2), b"a\n")
        self.assertEqual(echodtest.recv_exact(b, 2), b"b\n")
        # A third "from" 127.0.0.9: refused; 127.0.0.10 served.
        self.assertFalse(served("127.0.0.1", d.port, pre=v1("127.0.0.9")))
        self.assertTrue(served("127.0.0.1", d.port,
                               pre=v2("127.0.0.10", 5003)))
        st = d.wait_status(lambda s: s["refused_per_ip"] >= 1)
        self.assertEqual(st["refused_per_ip"], 1)
        a.close()
        b.close()
        d.wait_for(r"conn 127\.0\.0\.9:5001 -> ")
        d.wait_for(r"conn 127\.0\.0\.9:5002 -> ")
        d.wait_for(r"conn 127\.0\.0\.10:5003 -> ")

    def test_proxied_and_direct_counted_apart(self):
        # Fork model: the header's source is counted by the children,
        # a direct client by the master; both give their count back.
        d = self.daemon("--proxy-from=127.0.0.1", "--per-ip=1")
        at_limit(self, d, 6000).close()
        # Its connection over, 127.0.0.9 is served again (the release
        # follows the close: poll).
        poll_until(lambda: served("127.0.0.1", d.port,
                                  pre=v2("127.0.0.9", 6002)),
                   10, interval=0.1, what="127.0.0.9 served again")
        b = connect_from("127.0.0.2", d.port)
        with b:
            b.sendall(PAYLOAD)
            self.assertEqual(echodtest.recv_exact(b, len(PAYLOAD)),
                             PAYLOAD)
            self.assertFalse(served("127.0.0.2", d.port))
        poll_until(lambda: served("127.0.0.2", d.port), 10, interval=0.1,
                   what="127.0.0.2 served again")

    def test_header_address_judged_by_rules(self):
        d = self.daemon("--proxy-from=127.0.0.1", "--allow=127.0.0.9")
        self.assertTrue(served("127.0.0.1", d.port, pre=v1("127.0.0.9")))
        self.assertFalse(served("127.0.0.1", d.port, pre=v1("127.0.0.8")))
        # An IPv4-mapped source in a v2 TCP6 header is matched as IPv4.
        self.assertTrue(served("127.0.0.1", d.port,
                               pre=v2("::ffff:127.0.0.9", dst="::1")))
        # LOCAL (a health check): the proxy's own address, not allowed.
        self.assertFalse(served("127.0.0.1", d.port, pre=v2("", local=True)))

    def test_local_keeps_proxy_address(self):
        d = self.daemon("--proxy-from=127.0.0.1")
        self.assertTrue(served("127.0.0.1", d.port, pre=v2("", local=True)))
        d.wait_for(r"conn 127\.0\.0\.1:\d+ -> ")

    def test_bad_headers_closed_and_counted(self):
        d = self.daemon("--proxy-from=127.0.0.1")
        bad = [b"GET / HTTP/1.0\r\n\r\n",
               b"PROXY TCP4 127.0.0.9 127.0.0.1 5000\r\n",
               b"PROXY TCP4 127.0.0.09 127.0.0.1 5000 7\r\n",
               b"PROXY  TCP4 127.0.0.9 127.0.0.1 5000 7\r\n",
               b"PROXY TCP4 127.0.0.9 127.0.0.1 5000 7\n",
               b"PROXY TCP4 " + b"1" * 120 + b"\r\n",
               V2SIG + bytes([0x31, 0x11, 0, 12]) + bytes(12),
               V2SIG + bytes([0x21, 0x11, 0, 4]) + bytes(4),
               V2SIG + bytes([0x21, 0x41, 0, 0])]
        for hdr in bad:
            self.assertFalse(served("127.0.0.1", d.port, pre=hdr), hdr)
        # Truncated: half a header, then the end of the stream.
        self.assertFalse(served("127.0.0.1", d.port, pre=b"",
                                data=v2("127.0.0.9")[:20]))
        st = d.wait_status(lambda s: s["proxy_bad"] >= len(bad) + 1)
        self.assertEqual(st["proxy_bad"], len(bad) + 1)

    def test_slow_header_closed(self):
        d = self.daemon("--proxy-from=127.0.0.1")
        s = connect_from("127.0.0.1", d.port, timeout=15)
        with s:
            s.sendall(b"PROXY TCP4 127.0.0.9")
            t0 = time.monotonic()
            self.assertEqual(s.recv(100), b"")
            self.assertGreater(time.monotonic() - t0, 4.0)
        d.wait_status(lambda s: s["proxy_bad"] == 1)
        d.wait_for(r"PROXY header: no complete header within 5 s")

    def test_untrusted_header_is_data(self):
        d = self.daemon("--proxy-from=127.0.0.5")
        for hdr in (v1("127.0.0.9"), v2("127.0.0.9")):
            self.assertTrue(served("127.0.0.1", d.port, pre=b"",
                                   data=hdr + PAYLOAD))


class ProxyKilled:
    def test_killed_child_gives_its_count_back(self):
        # A fork child killed mid-connection gives its header source's
        # --per-ip count back when the master forgets it: the ticket
        # was in the child's cell (limit.h), not only in the child.
        d = self.daemon("--proxy-from=127.0.0.1", "--per-ip=1")
        with at_limit(self, d, 7000) as a:
            # The refused one's child has gone: a's is the only one.
            kids = echodtest.wait_for(
                lambda: (lambda k: k if len(k) == 1 else None)(
                    d.workers()), "the one child serving a")
            echodtest.kill(next(iter(kids)))
            echodtest.wait_for(lambda: not d.workers(),
                               "the killed child forgotten")
            self.assertTrue(closed_or_reset(a))
        poll_until(lambda: served("127.0.0.1", d.port,
                                  pre=v1("127.0.0.9", 7002)),
                   10, interval=0.1, what="127.0.0.9 served again")
        st = d.status()
        self.assertEqual(st["refused_per_ip"], 1)


def closed_or_reset(s):
    """The peer's end is gone: EOF or a reset."""
    try:
        return echodtest.recv_all(s, limit=1) == b""
    except ConnectionResetError:
        return True


echodtest.parametrise(globals(), Proxy)
echodtest.parametrise(globals(), ProxyKilled,
                      [v for v in echodtest.VARIANTS if v[0] == "fork"])


if __name__ == "__main__":
    echodtest.main(timeout=300)
