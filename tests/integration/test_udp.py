"""test_udp: UDP echo (-u): whole datagrams, the source filter, the
per-source token bucket, the worker's respawn."""

import os
import signal
import socket
import time
import unittest

from echodtest import Echod, SLOW, WRAPPER, TITLES_SKIP


class Udp(unittest.TestCase):
    def sizes(self, model):
        with Echod(["-m", model], udp=True) as d:
            u = d.udp_socket()
            for n in (1, 1400, 65507):
                data = os.urandom(n)
                u.sendto(data, ("127.0.0.1", d.uport))
                got, frm = u.recvfrom(70000)
                self.assertEqual(len(got), n)
                self.assertEqual(got, data)
                self.assertEqual(frm, ("127.0.0.1", d.uport))
            u.sendto(b"", ("127.0.0.1", d.uport))
            self.assertEqual(u.recvfrom(10)[0], b"")
            # The reply can overtake the worker's count: wait for it.
            st = d.wait_status(lambda st: st["udp_out"] == 4)
            self.assertEqual(st["udp_in"], 4)
            self.assertEqual(st["udp_dropped"], 0)
            u.close()

    def test_sizes_prefork(self):
        self.sizes("prefork")

    def test_sizes_fork(self):
        self.sizes("fork")

    def test_service_port_dropped(self):
        with Echod([], udp=True) as d:
            for port in (19, 7):
                u = d.udp_socket(bind=("127.0.0.1", port))
                u.sendto(b"loop?", ("127.0.0.1", d.uport))
                d.wait_status(lambda st, p=port:
                              st["udp_dropped_port"] >= (1 if p == 19
                                                         else 2))
                u.setblocking(False)
                with self.assertRaises(BlockingIOError):
                    u.recvfrom(100)
                u.close()
            # An ordinary port is still answered.
            u = d.udp_socket()
            u.sendto(b"ok", ("127.0.0.1", d.uport))
            self.assertEqual(u.recvfrom(10)[0], b"ok")
            st = d.wait_status(lambda st: st["udp_out"] == 1)
            self.assertEqual(st["udp_dropped"], 2)
            self.assertEqual(st["udp_out"], 1)

    def test_token_bucket(self):
        with Echod(["--udp-rate=100"], udp=True) as d:
            u = d.udp_socket(timeout=0.5)
            u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            for i in range(300):
                u.sendto(b"%d" % i, ("127.0.0.1", d.uport))
            d.wait_status(lambda st: st["udp_in"] + 0 >= 250 and
                          st["udp_in"] == st["udp_out"] +
                          st["udp_dropped"])
            answered = 0
            try:
                while True:
                    u.recvfrom(100)
                    answered += 1
            except socket.timeout:
                pass
            st = d.wait_status(lambda st: st["udp_out"] == answered)
            self.assertGreaterEqual(answered, 95)
            self.assertLessEqual(answered, 110 * SLOW)
            self.assertEqual(st["udp_out"], answered)
            self.assertGreaterEqual(st["udp_dropped_rate"], 140)
            u.close()

    @unittest.skipIf(WRAPPER, TITLES_SKIP)
    def test_worker_respawn(self):
        for model in ("prefork", "fork"):
            with Echod(["-m", model], udp=True) as d:
                u = d.udp_socket()
                u.sendto(b"a", ("127.0.0.1", d.uport))
                self.assertEqual(u.recvfrom(10)[0], b"a")
                w = d.children("udp worker")
                self.assertEqual(len(w), 1)
                os.kill(w[0], signal.SIGKILL)
                d.wait_for(r"killed by signal 9")
                st = d.wait_status(lambda st: st["udp_restarts"] == 1)
                self.assertEqual(st["abnormal"], 1)
                u.sendto(b"b", ("127.0.0.1", d.uport))
                self.assertEqual(u.recvfrom(10)[0], b"b")
                self.assertEqual(len(d.children("udp worker")), 1)
                self.assertEqual(d.stop(), 0)
                u.close()


if __name__ == "__main__":
    unittest.main()
