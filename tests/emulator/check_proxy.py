"""Check tests/emulator/proxy.py: added delay, concurrency, faults seen by boto3, retry-after hints,
determinism, stats.

usage: .venv/bin/python tests/emulator/check_proxy.py
         starts its own launcher on a free port and stops it afterwards
       ENDPOINT=http://127.0.0.1:PORT .venv/bin/python tests/emulator/check_proxy.py
         uses a running emulator (nothing is reset; it works in a fresh account of its own)
"""
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import common

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "proxy.py")

if common.ENDPOINT is None:
    _, endpoint = common.start_launcher()
    common.use_endpoint(endpoint)
    print(f"started {common.LAUNCHER} at {endpoint}", flush=True)
UPSTREAM = common.ENDPOINT
ACCOUNT = "%012d" % (int(time.time() * 1000) % 10**12)  # a fresh account for this run
results = []
procs = []


def check(name, cond):
    if callable(cond):
        try:
            cond = cond()
        except Exception as e:  # noqa: BLE001
            cond = False
            name += f"  [{type(e).__name__}: {e}]"
    results.append((name, bool(cond)))
    print(("PASS " if cond else "FAIL ") + name, flush=True)


def start_proxy(*flags, stats=None):
    cmd = [sys.executable, PROXY, "--upstream", UPSTREAM, "--port", "0", *flags]
    if stats:
        cmd += ["--stats", stats]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(proc)
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


def stop_proxy(proc):
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    return proc.returncode, err


def plain(endpoint, service, **config):
    """A client with dummy credentials (default account), retries off (total_max_attempts 1: in
    botocore's legacy mode max_attempts counts retries, not attempts)."""
    return boto3.session.Session().client(
        service, region_name="eu-west-1", endpoint_url=endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, **config))


def assumed(endpoint, service):
    creds = plain(UPSTREAM, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/c3-check-proxy", RoleSessionName="check-proxy")["Credentials"]
    return boto3.session.Session().client(
        service, region_name="eu-west-1", endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], config=Config(retries={"total_max_attempts": 1}))


def error_code(fn, **kw):
    try:
        fn(**kw)
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]
    except Exception as e:  # noqa: BLE001 - connection errors
        return type(e).__name__


def timings_ms(fn, n=15):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def median_ms(fn, n=15):
    return statistics.median(timings_ms(fn, n))


def min_ms(fn, n=15):
    return min(timings_ms(fn, n))


try:
    # ---- bind address -------------------------------------------------------------------------
    bad = subprocess.run([sys.executable, PROXY, "--upstream", UPSTREAM, "--host", "0.0.0.0"],
                         capture_output=True, text=True, timeout=30)
    check("refuses to listen on 0.0.0.0", bad.returncode != 0 and "127.0.0.1 only" in bad.stderr)
    bad = subprocess.run([sys.executable, PROXY, "--upstream", "http://192.0.2.1:80"],
                         capture_output=True, text=True, timeout=30)
    check("refuses a non-loopback upstream", bad.returncode != 0 and "loopback" in bad.stderr)

    # ---- delay ------------------------------------------------------------------------------
    kms_direct = assumed(UPSTREAM, "kms")
    key = kms_direct.create_key()["KeyMetadata"]["KeyId"]
    proxy, url = start_proxy("--delay-ms", "50")
    kms_delayed = assumed(url, "kms")
    direct = median_ms(lambda: kms_direct.describe_key(KeyId=key))
    delayed = median_ms(lambda: kms_delayed.describe_key(KeyId=key))
    fastest = min_ms(lambda: kms_delayed.describe_key(KeyId=key))
    print(f"     DescribeKey: median direct {direct:.1f} ms, through --delay-ms 50 median {delayed:.1f} ms, "
          f"fastest {fastest:.1f} ms")
    # Through the proxy the client keeps its connection alive (moto closes each one), which saves a
    # little of the 50 ms; no request can be faster than the delay.
    check("--delay-ms 50: every request takes >= 50 ms, the median about 50 ms more than direct",
          fastest >= 50 and 35 <= delayed - direct <= 90)
    check("answers pass through unchanged", kms_delayed.describe_key(KeyId=key)["KeyMetadata"]["KeyId"] == key)
    blob = kms_delayed.encrypt(KeyId=key, Plaintext=b"through the proxy")["CiphertextBlob"]
    check("a body goes both ways (Encrypt/Decrypt)", kms_delayed.decrypt(CiphertextBlob=blob)["Plaintext"] == b"through the proxy")
    iam_delayed = assumed(url, "iam")
    check("query protocol (IAM) passes through", error_code(iam_delayed.list_policies, Scope="Local") == "ok")

    # ---- concurrency ------------------------------------------------------------------------
    kms_pool = [assumed(url, "kms") for _ in range(4)]
    t = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda i: kms_pool[i % 4].describe_key(KeyId=key)["KeyMetadata"]["KeyId"], range(64)))
    elapsed = time.perf_counter() - t
    print(f"     64 DescribeKey on 32 threads through --delay-ms 50: {elapsed:.2f} s (serial would be >= 3.2 s)")
    check("concurrent requests are delayed concurrently", answers == [key] * 64 and elapsed < 2.0)
    code, err = stop_proxy(proxy)
    try:
        stats = json.loads(err.strip().splitlines()[-1].removeprefix("proxy: "))
    except (ValueError, IndexError):
        print(err)
        stats = {}
    check("SIGTERM: exits 0 and prints its counts to stderr", lambda: code == 0 and stats["requests"] >= 64 + 30
          and stats["forwarded"] == stats["requests"] and stats["throttle"] == 0)

    # ---- throttling, as boto3 sees it with retries off ----------------------------------------
    tmp = tempfile.mkdtemp(prefix="c3-check-proxy-")
    stats_file = os.path.join(tmp, "stats.json")
    proxy, url = start_proxy("--throttle", "1.0", stats=stats_file)
    kms_t = plain(url, "kms")
    iam_t = plain(url, "iam")
    sts_t = plain(url, "sts")
    check("--throttle 1.0: KMS (JSON) -> ThrottlingException", error_code(kms_t.list_keys) == "ThrottlingException")
    check("--throttle 1.0: IAM (query/XML) -> Throttling", error_code(iam_t.list_policies) == "Throttling")
    check("--throttle 1.0: STS (query/XML) -> Throttling", error_code(sts_t.get_caller_identity) == "Throttling")
    try:
        kms_t.list_keys()
        status = None
    except ClientError as e:
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
    check("throttled answer is HTTP 400", status == 400)
    code, err = stop_proxy(proxy)
    print("     " + err.strip().splitlines()[-1])
    with open(stats_file, encoding="utf-8") as f:
        stats = json.load(f)
    check("--stats FILE: 4 requests, 4 throttled, none forwarded",
          code == 0 and stats["requests"] == 4 and stats["throttle"] == 4 and stats["forwarded"] == 0)

    # ---- other faults -----------------------------------------------------------------------
    for flag, want in (("--http429", 429), ("--http500", 500), ("--http503", 503)):
        proxy, url = start_proxy(flag, "1.0")
        kms_f = plain(url, "kms")
        try:
            kms_f.list_keys()
            got = None
        except ClientError as e:
            got = e.response["ResponseMetadata"]["HTTPStatusCode"]
        stop_proxy(proxy)
        check(f"{flag} 1.0: boto3 gets HTTP {want}", got == want)
    proxy, url = start_proxy("--reset", "1.0")
    got = error_code(plain(url, "kms").list_keys)
    stop_proxy(proxy)
    check(f"--reset 1.0: boto3 gets a connection error, not an answer ({got})", got == "ConnectionClosedError")
    # boto3 does not notice a short body on a 200 (botocore parses what came); http.client does.
    proxy, url = start_proxy("--truncate", "1.0")
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    conn.request("POST", "/", body=b"{}", headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys",
        "Authorization": "AWS4-HMAC-SHA256 Credential=t/20260101/eu-west-1/kms/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    answer = conn.getresponse()
    try:
        answer.read()
        got = "complete"
    except http.client.IncompleteRead as e:
        got = f"IncompleteRead {len(e.partial)} of {answer.getheader('Content-Length')} bytes"
    conn.close()
    stop_proxy(proxy)
    check(f"--truncate 1.0: the body stops half-way under the full Content-Length ({got})",
          got.startswith("IncompleteRead"))
    proxy, url = start_proxy("--slow", "1.0", "--slow-ms", "1500")
    kms_f = plain(url, "kms", read_timeout=0.5)
    got = error_code(kms_f.list_keys)
    stop_proxy(proxy)
    check(f"--slow 1.0 --slow-ms 1500: a 0.5 s read timeout fires ({got})", got == "ReadTimeoutError")

    # ---- x-amz-retry-after on injected errors -------------------------------------------------
    def retry_after(*flags):
        """The x-amz-retry-after header of an injected error answer (None: none), per fault."""
        out = {}
        for fault in ("--throttle", "--http429", "--http500", "--http503"):
            proxy, url = start_proxy(fault, "1.0", *flags)
            try:
                plain(url, "kms").list_keys()
                out[fault] = "no error"
            except ClientError as e:
                out[fault] = e.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-retry-after")
            stop_proxy(proxy)
        return out

    hinted, unhinted = retry_after("--retry-after-ms", "250"), retry_after()
    check(f"--retry-after-ms 250: every injected error answer carries x-amz-retry-after: 250 ({hinted})",
          set(hinted.values()) == {"250"})
    check(f"without --retry-after-ms: no x-amz-retry-after ({unhinted})", set(unhinted.values()) == {None})
    bad = subprocess.run([sys.executable, PROXY, "--upstream", UPSTREAM, "--retry-after-ms", "-1"],
                         capture_output=True, text=True, timeout=30)
    check("refuses a negative --retry-after-ms", bad.returncode != 0 and "retry-after-ms" in bad.stderr)

    # ---- determinism ------------------------------------------------------------------------
    def fates(seed):
        proxy, url = start_proxy("--throttle", "0.5", "--seed", str(seed))
        kms_f = plain(url, "kms")
        out = [error_code(kms_f.list_keys) for _ in range(24)]
        stop_proxy(proxy)
        return out

    a, b, c = fates(7), fates(7), fates(8)
    check("--seed: the same seed throttles the same requests", a == b and 4 <= a.count("ThrottlingException") <= 20)
    check("--seed: another seed throttles others", a != c)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()

failed = [n for n, ok in results if not ok]
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
raise SystemExit(1 if failed else 0)
