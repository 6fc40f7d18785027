"""Shared helpers for the emulator checks: boto3 clients against a local emulator, and a way to
start our own launcher (moto_c3_server.py) on a free port when no ENDPOINT is given."""
import atexit
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "moto_c3_server.py")
ENDPOINT = os.environ.get("ENDPOINT")  # None: call start_launcher() first
R1 = os.environ.get("R1", "eu-west-1")
R2 = os.environ.get("R2", "eu-central-1")
ACCOUNT = os.environ.get("ACCOUNT", "123456789012")  # moto default; localstack uses 000000000000


def _forbidden(all_of_them):
    """The operations of forbidden_operations.txt; with `all_of_them` those
    allowed only at IAM's five-version limit too."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "forbidden_operations.txt")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if words and (all_of_them or len(words) == 1):
                out.append(words[0])
    return out


# What c3 apply must never call (tests/emulator/forbidden_operations.txt).
FORBIDDEN = _forbidden(False)
# The same, with DeletePolicyVersion, for tests whose policies never near IAM's version limit.
FORBIDDEN_BELOW_VERSION_LIMIT = _forbidden(True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(endpoint, proc=None, timeout=30.0):
    """Wait until GET /moto-api/ answers; fail early if `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"emulator exited with {proc.returncode} before answering")
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).read()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"emulator at {endpoint} did not answer within {timeout} s")


def start_launcher(log_path=None, parent_pid=None):
    """Start moto_c3_server.py with this interpreter on a free port, wait for it, stop it at exit.
    Returns (process, endpoint). With log_path, the server writes its request log there."""
    env = dict(os.environ)
    env.pop("MOTO_ACCOUNT_ID", None)  # it would disable account switching
    if log_path:
        env["C3_EMULATOR_LOG"] = log_path
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, LAUNCHER, "-H", "127.0.0.1", "-p", str(port),
           "--parent-pid", str(parent_pid or os.getpid())]
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop():
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    atexit.register(stop)
    try:
        wait_ready(endpoint, proc)
    except RuntimeError:
        out.seek(0)
        sys.stderr.write(out.read().decode("utf-8", "replace")[-4000:])
        raise
    return proc, endpoint


def use_endpoint(endpoint):
    global ENDPOINT
    ENDPOINT = endpoint


def client(service, region=R1, creds=None):
    creds = creds or {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    return boto3.session.Session().client(  # a session per client: thread-safe
        service,
        region_name=region,
        endpoint_url=ENDPOINT,
        config=Config(retries={"max_attempts": 1}),
        **creds,
    )


def call(fn, **kw):
    """Return ('ok', response-without-metadata) or ('err', code, message, http)."""
    try:
        r = fn(**kw)
        r.pop("ResponseMetadata", None)
        return ("ok", r)
    except ClientError as e:
        return (
            "err",
            e.response["Error"].get("Code"),
            e.response["Error"].get("Message"),
            e.response["ResponseMetadata"].get("HTTPStatusCode"),
        )
    except Exception as e:  # parameter validation inside botocore etc.
        return ("client-side", type(e).__name__, str(e)[:200])


def show(label, value):
    print(f"## {label}\n{json.dumps(value, default=str, indent=1)}\n", flush=True)


def reset():
    """Wipe all emulator state: moto's /moto-api/reset, else localstack's /_localstack/state/reset."""
    import urllib.error
    import urllib.request
    if os.environ.get("EMULATOR") == "localstack":
        return None  # /moto-api/reset answers 200 there but does not clear KMS/IAM: restart it instead
    for path in ("/moto-api/reset", "/_localstack/state/reset"):
        try:
            urllib.request.urlopen(urllib.request.Request(ENDPOINT + path, method="POST")).read()
        except urllib.error.HTTPError:
            continue
        try:
            deny_reset()  # our launcher's deny rules are state too
        except urllib.error.HTTPError:
            pass  # not our launcher
        return path
    raise RuntimeError("no reset endpoint answered")


def _c3_api(path, doc=None):
    """POST `doc` (JSON) to our launcher's control endpoint `path`; its JSON answer.
    Raises urllib.error.HTTPError on a 4xx/5xx (its body says why)."""
    data = json.dumps(doc).encode() if doc is not None else b""
    req = urllib.request.Request(ENDPOINT + path, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def deny(account, operation, code=None, message=None, role_arn=None):
    """Make every later call of `operation` in `account` fail (moto_c3_server.py's POST /c3-api/deny);
    with `role_arn`, only the calls naming that role of `account` (AssumeRole into it)."""
    doc = {"account": account, "operation": operation}
    if role_arn is not None:
        doc["role_arn"] = role_arn
    if code is not None:
        doc["code"] = code
    if message is not None:
        doc["message"] = message
    return _c3_api("/c3-api/deny", doc)


def deny_reset():
    """Lift every deny rule (POST /c3-api/deny/reset)."""
    return _c3_api("/c3-api/deny/reset")
