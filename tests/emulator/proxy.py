"""A latency-injecting, fault-injecting HTTP proxy between c3 (or boto3) and the local emulator.

usage: python proxy.py --upstream http://127.0.0.1:PORT [--port 0] [--delay-ms 30] [--seed 1]
                       [--throttle F] [--http429 F] [--http500 F] [--http503 F] [--reset F]
                       [--truncate F] [--slow F --slow-ms MS] [--retry-after-ms MS] [--stats FILE]

Point a client at it with AWS_ENDPOINT_URL=http://127.0.0.1:<port>. Standard library only.

  * It listens on 127.0.0.1 only (any other --host is refused) and forwards only to a loopback
    upstream: it is a test tool, never a way to reach anything else.
  * The first line on stdout is the port it listens on (useful with --port 0, which picks one).
  * Every request waits --delay-ms before it is forwarded: a fixed added round-trip latency.
  * Faults, each a fraction of requests, are drawn per request from one pseudo-random sequence
    seeded by --seed: the n-th request (in arrival order) always gets the same fate. The fractions
    are consecutive ranges of one draw, so at most one fault hits a request; they must sum to <= 1.
      --throttle   answered without forwarding: HTTP 400, ThrottlingException (JSON protocols,
                   Content-Type application/x-amz-json-1.x) or Throttling (query protocol, XML)
      --http429    answered without forwarding: HTTP 429, TooManyRequestsException
      --http500    answered without forwarding: HTTP 500, InternalFailure
      --http503    answered without forwarding: HTTP 503, ServiceUnavailable
      --reset      the connection is closed (RST) after the request is read, with no answer
      --truncate   forwarded; the answer goes back with its full Content-Length but only half its
                   body, then the connection is closed
      --slow       forwarded; the answer is held back --slow-ms more (to exceed a client timeout)
  * --retry-after-ms MS: the injected error answers (throttle, http429, http500, http503) carry
    `x-amz-retry-after: MS`, the AWS header by which a service tells the SDK how long to wait
    before it retries; the SDK then waits MS (at most its maximum backoff) instead of its own
    exponential backoff. The retries, their number and the retry quota are unchanged: only the
    waits are shorter, for tests that inject many faults. Resets and truncated answers carry no
    header and keep the SDK's backoff. Off by default (no header, as from KMS and IAM).
  * Keep-alive towards the client (HTTP/1.1); a new upstream connection per request (moto closes
    every connection anyway). Many concurrent connections.
  * On SIGTERM or SIGINT it prints the counts of requests and injected faults to stderr as JSON,
    and writes them to --stats FILE if given.
"""
import argparse
import asyncio
import http
import ipaddress
import json
import random
import signal
import socket
import struct
import sys
import time
import uuid
from urllib.parse import urlsplit

FAULTS = ("throttle", "http429", "http500", "http503", "reset", "truncate", "slow")
# status, JSON-protocol error type, query-protocol error code, message
ERRORS = {
    "throttle": (400, "ThrottlingException", "Throttling", "Rate exceeded"),
    "http429": (429, "TooManyRequestsException", "TooManyRequests", "Too Many Requests"),
    "http500": (500, "InternalFailure", "InternalFailure", "Internal server error (injected)"),
    "http503": (503, "ServiceUnavailable", "ServiceUnavailable", "Service unavailable (injected)"),
}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
              "upgrade", "expect"}
MAX_HEADER = 64 * 1024


class BadRequest(Exception):
    pass


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def read_head(reader):
    """(start line, [(name, value)]) of the next message, or None on a clean EOF before it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise BadRequest("connection closed inside the headers")
    except asyncio.LimitOverrunError:
        raise BadRequest("headers too large")
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {line!r}")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


def header(headers, name):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


async def read_body(reader, headers, until_eof=False):
    """The body per Content-Length or chunked encoding (decoded); to EOF when neither and until_eof."""
    if (header(headers, "transfer-encoding") or "").lower() == "chunked":
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    length = header(headers, "content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    if until_eof:
        return await reader.read()
    return b""


def reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def render(start, headers, body):
    out = [start]
    out += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body


class Proxy:
    def __init__(self, args):
        self.args = args
        up = urlsplit(args.upstream)
        if up.scheme != "http" or not up.hostname or not up.port:
            raise SystemExit(f"proxy: --upstream must be http://HOST:PORT, got {args.upstream!r}")
        if not is_loopback(up.hostname):
            raise SystemExit(f"proxy: the upstream must be on this machine (loopback), not {up.hostname}")
        self.up_host, self.up_port = up.hostname, up.port
        self.rng = random.Random(args.seed)
        self.ranges = []
        edge = 0.0
        for fault in FAULTS:
            frac = getattr(args, fault)
            if not 0.0 <= frac <= 1.0:
                raise SystemExit(f"proxy: --{fault} must be a fraction in 0..1, got {frac}")
            if frac > 0:
                self.ranges.append((edge, edge + frac, fault))
            edge += frac
        if edge > 1.0 + 1e-9:
            raise SystemExit(f"proxy: the fault fractions sum to {edge:.3f}, more than 1")
        self.stats = {"requests": 0, "forwarded": 0, "connections": 0, "upstream_errors": 0,
                      "bad_requests": 0, **{f: 0 for f in FAULTS}}
        self.started = time.time()

    def fate(self):
        """The fault for the next request (None: none), drawn in arrival order."""
        u = self.rng.random()
        for lo, hi, fault in self.ranges:
            if lo <= u < hi:
                return fault
        return None

    async def handle(self, reader, writer):
        self.stats["connections"] += 1
        try:
            while True:
                try:
                    head = await read_head(reader)
                except BadRequest:
                    self.stats["bad_requests"] += 1
                    return
                if head is None:
                    return
                start, headers = head
                method, _, rest = start.partition(" ")
                version = rest.rsplit(" ", 1)[-1] if " " in rest else "HTTP/1.0"
                if (header(headers, "expect") or "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    await writer.drain()
                body = await read_body(reader, headers)
                keep_alive = self.client_keeps_alive(version, headers)
                self.stats["requests"] += 1
                fault = self.fate()
                if fault:
                    self.stats[fault] += 1
                if self.args.delay_ms > 0:
                    await asyncio.sleep(self.args.delay_ms / 1000)
                if fault == "reset":
                    self.reset(writer)
                    return
                if fault in ERRORS:
                    status, reply_headers, reply = self.error_reply(fault, headers)
                    if self.args.retry_after_ms is not None:
                        reply_headers.append(("x-amz-retry-after", str(self.args.retry_after_ms)))
                else:
                    try:
                        status, reply_headers, reply = await self.forward(method, start, headers, body)
                        self.stats["forwarded"] += 1
                    except (OSError, asyncio.IncompleteReadError, BadRequest, ValueError) as e:
                        self.stats["upstream_errors"] += 1
                        status, reply_headers = 502, [("Content-Type", "text/plain")]
                        reply = f"proxy: upstream failed: {type(e).__name__}: {e}".encode()
                if fault == "slow":
                    await asyncio.sleep(self.args.slow_ms / 1000)
                reply_headers = [(k, v) for k, v in reply_headers
                                 if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
                reply_headers.append(("Content-Length", str(len(reply))))
                reply_headers.append(("Connection", "keep-alive" if keep_alive and fault != "truncate" else "close"))
                start_line = f"HTTP/1.1 {status} {reason(status)}"
                if method.upper() == "HEAD":
                    reply = b""
                if fault == "truncate":
                    writer.write(render(start_line, reply_headers, reply[: len(reply) // 2]))
                    await writer.drain()
                    return
                writer.write(render(start_line, reply_headers, reply))
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return
        except asyncio.CancelledError:  # shutting down with this connection open
            return
        finally:
            if not writer.is_closing():
                writer.close()

    @staticmethod
    def client_keeps_alive(version, headers):
        conn = (header(headers, "connection") or "").lower()
        if version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn

    @staticmethod
    def reset(writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:  # linger 0: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.transport.abort()

    @staticmethod
    def error_reply(fault, headers):
        status, json_type, query_code, message = ERRORS[fault]
        request_id = str(uuid.uuid4())
        ctype = (header(headers, "content-type") or "").lower()
        if ctype.startswith("application/x-amz-json"):
            body = json.dumps({"__type": json_type, "message": message}).encode()
            return status, [("Content-Type", ctype.split(";")[0]), ("x-amzn-RequestId", request_id),
                            ("x-amzn-ErrorType", json_type)], body
        body = (f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type>"
                f"<Code>{query_code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body

    async def forward(self, method, start, headers, body):
        up_reader, up_writer = await asyncio.open_connection(self.up_host, self.up_port, limit=MAX_HEADER)
        try:
            fwd = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
            if body or method.upper() in ("POST", "PUT", "PATCH"):
                fwd.append(("Content-Length", str(len(body))))
            fwd.append(("Connection", "close"))
            up_writer.write(render(start, fwd, body))
            await up_writer.drain()
            while True:
                head = await read_head(up_reader)
                if head is None:
                    raise BadRequest("the upstream closed the connection without answering")
                status_line, reply_headers = head
                status = int(status_line.split(" ", 2)[1])
                if status != 100:
                    break
            if method.upper() == "HEAD" or status in (204, 304):
                reply = b""
            else:
                reply = await read_body(up_reader, reply_headers, until_eof=True)
            return status, reply_headers, reply
        finally:
            up_writer.close()

    def report(self):
        out = dict(self.stats)
        out["seconds"] = round(time.time() - self.started, 3)
        out["delay_ms"] = self.args.delay_ms
        out["seed"] = self.args.seed
        text = json.dumps(out, sort_keys=True)
        print(f"proxy: {text}", file=sys.stderr, flush=True)
        if self.args.stats:
            with open(self.args.stats, "w", encoding="utf-8") as f:
                f.write(text + "\n")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="the emulator, http://127.0.0.1:PORT")
    p.add_argument("--host", default="127.0.0.1", help="bind address: 127.0.0.1 only")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument("--delay-ms", type=float, default=0.0, help="added delay per request, ms")
    p.add_argument("--seed", type=int, default=1)
    for fault in FAULTS:
        p.add_argument(f"--{fault}", type=float, default=0.0, metavar="FRACTION")
    p.add_argument("--slow-ms", type=float, default=0.0, help="extra delay of a --slow answer, ms")
    p.add_argument("--retry-after-ms", type=int, default=None, metavar="MS",
                   help="x-amz-retry-after on injected error answers, ms")
    p.add_argument("--stats", help="write the counts here as JSON on exit")
    args = p.parse_args(argv)
    if args.host != "127.0.0.1":
        p.error(f"refusing to listen on {args.host!r}: this proxy listens on 127.0.0.1 only")
    if args.delay_ms < 0 or args.slow_ms < 0:
        p.error("delays must be >= 0")
    if args.retry_after_ms is not None and args.retry_after_ms < 0:
        p.error("--retry-after-ms must be >= 0")
    if args.slow > 0 and args.slow_ms <= 0:
        p.error("--slow needs --slow-ms")
    return args


async def main(argv):
    args = parse_args(argv)
    proxy = Proxy(args)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", args.port, limit=MAX_HEADER,
                                        backlog=1024, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    print(f"proxy: 127.0.0.1:{port} -> {args.upstream}, delay {args.delay_ms} ms, seed {args.seed}, "
          + ", ".join(f"{lo_hi[2]} {lo_hi[1] - lo_hi[0]:g}" for lo_hi in proxy.ranges), file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()  # no waiting for idle keep-alive connections: report and go
    proxy.report()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
