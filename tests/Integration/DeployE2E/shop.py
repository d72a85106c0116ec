#!/usr/bin/env python3
"""A tiny web shop for the deploy end-to-end test. The version it is "deployed" at is the content of
<dir>/version, read on every request. Good versions fail 1 request in 50 (2 %); a version containing
"bad" fails 1 in 10 (10 %, five times as many) and is a little slower. Every request is reported to
StatsD: shop.requests (counter), shop.errors (counter, on failures), shop.latency (timer, ms)."""
import argparse, os, socket, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--statsd", required=True)  # host:port
ap.add_argument("--dir", required=True)
args = ap.parse_args()
statsd_host, statsd_port = args.statsd.rsplit(":", 1)
statsd = (statsd_host, int(statsd_port))
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
lock = threading.Lock()
count = 0


def version():
    try:
        with open(os.path.join(args.dir, "version")) as f:
            return f.read().strip()
    except OSError:
        return "unknown"


class Shop(BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        with lock:
            count += 1
            n = count
        v = version()
        bad = "bad" in v
        failed = n % (10 if bad else 50) == 0
        latency = (24 if bad else 20) + n % 7
        lines = [f"shop.requests:1|c", f"shop.latency:{latency}|ms"]
        if failed:
            lines.append("shop.errors:1|c")
        sock.sendto("\n".join(lines).encode(), statsd)
        body = f"{v} {'error' if failed else 'ok'}\n".encode()
        self.send_response(500 if failed else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


ThreadingHTTPServer(("127.0.0.1", args.port), Shop).serve_forever()
