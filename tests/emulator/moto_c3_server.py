"""moto's server plus a few KMS and IAM fidelity patches that the c3 tests need (written against moto 5.2.5).

usage: python moto_c3_server.py [-H 127.0.0.1] [-p 5000] [--parent-pid PID]   (plus moto_server's flags)

  --parent-pid PID     exit as soon as process PID is gone (polled every 0.5 s), so a test run that
                       dies never leaves a server behind.
  env C3_EMULATOR_LOG  append one JSON line per AWS API request to this file:
                       {"account": "123456789012", "service": "kms", "operation": "CreateKey",
                        "region": "eu-west-1", "status": 200}
                       The account is resolved exactly as moto resolves it for the request.

Plain moto 5.2.5 gets these wrong (see README.md); this launcher patches them in-process:
  * EnableKeyRotation ignores RotationPeriodInDays; GetKeyRotationStatus never returns
    KeyId / RotationPeriodInDays / NextRotationDate.  -> stored, range-checked (90..2560), returned.
  * EnableKeyRotation on asymmetric / disabled / pending-deletion keys succeeds. -> AWS's errors.
  * ListKeys / ListAliases / ListResourceTags ignore Limit and Marker (always one page).
    -> paged with AWS's defaults and maxima, opaque NextMarker, InvalidMarkerException.
  * ListAliases lists 14 predefined alias/aws/* aliases WITH a made-up TargetKeyId.
    -> TargetKeyId dropped unless the AWS-managed key really exists (as AWS does).
  * CreateKey / PutKeyPolicy accept any string as a policy. -> malformed JSON, or JSON without
    a Statement list, gives MalformedPolicyDocumentException (AWS validates far more).
  * GetKeyPolicy / PutKeyPolicy without PolicyName fail. -> PolicyName defaults to "default".
  * CreateAlias / UpdateAlias onto a PendingDeletion key succeed. -> KMSInvalidStateException.
  * ScheduleKeyDeletion with PendingWindowInDays outside 7..30 silently does nothing. -> ValidationException.
  * IAM GetPolicyVersion returns the Document as raw JSON. -> URL-encoded, as AWS (and moto's own
    GetAccountAuthorizationDetails) do.
  * IAM GetAccountAuthorizationDetails policies lack PolicyName and PolicyId. -> both returned.
  * CreateKey generates an RSA-2048 private key even for SYMMETRIC_DEFAULT keys (~40 ms each, which
    makes seeding large estates slow). -> for SYMMETRIC_DEFAULT keys it is generated lazily, on the
    first use of key.private_key (no KMS operation on a symmetric key uses it).
Everything else is moto's own behaviour. The patches reach into moto internals: pin moto.
"""
import argparse
import base64
import io
import json
import os
import re
import sys
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs

import moto
import moto.server
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.core.serialize import url_encode
from moto.core.utils import unix_time, utcnow
from moto.iam.models import ManagedPolicy
from moto.iam.responses import IamResponse
from moto.kms import models as kms_models
from moto.kms.responses import KmsResponse
from moto.kms.utils import RESERVED_ALIASES
from werkzeug.datastructures import EnvironHeaders

TESTED_WITH = "5.2.5"
_orig = {}


def _patch(name):
    def deco(fn):
        _orig[name] = getattr(KmsResponse, name)
        setattr(KmsResponse, name, fn)
        return fn

    return deco


def _err(code, message):
    return JsonRESTError(code, message)


def _key(self, key_id):
    """The moto Key object for a key id or key ARN (not an alias), after moto's own validation."""
    self._validate_cmk_id(key_id)
    return self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]


def _state_error(key):
    return _err("KMSInvalidStateException", f"{key.arn} is pending deletion.")


# ---- PolicyName defaults to "default" (current AWS API) ---------------------------------
_orig_get_param = KmsResponse._get_param


def _get_param(self, param_name, if_none=None):
    value = _orig_get_param(self, param_name, if_none)
    if param_name == "PolicyName" and value is None:
        return "default"
    return value


KmsResponse._get_param = _get_param


# ---- key policy: must at least be a JSON object with a Statement list --------------------
def _check_policy(policy):
    if policy is None:
        return
    try:
        doc = json.loads(policy)
    except ValueError:
        raise _err("MalformedPolicyDocumentException", "The new key policy is not valid JSON.")
    if not isinstance(doc, dict) or not isinstance(doc.get("Statement"), (list, dict)):
        raise _err("MalformedPolicyDocumentException", "The new key policy has no Statement.")


@_patch("create_key")
def create_key(self):
    _check_policy(self._get_param("Policy"))
    return _orig["create_key"](self)


@_patch("put_key_policy")
def put_key_policy(self):
    _check_policy(self._get_param("Policy"))
    return _orig["put_key_policy"](self)


@_patch("get_key_policy")
def get_key_policy(self):
    out = json.loads(_orig["get_key_policy"](self))
    out["PolicyName"] = "default"
    return json.dumps(out)


# ---- rotation period ----------------------------------------------------------------------
@_patch("enable_key_rotation")
def enable_key_rotation(self):
    key_id = self._get_param("KeyId")
    period = self._get_param("RotationPeriodInDays")
    key = _key(self, key_id)
    if period is not None and not 90 <= int(period) <= 2560:
        raise _err("ValidationException", f"RotationPeriodInDays must be between 90 and 2560, got {period}")
    if key.key_state == "PendingDeletion":
        raise _state_error(key)
    if key.key_state == "Disabled":
        raise _err("DisabledException", f"{key.arn} is disabled.")
    if key.key_spec != "SYMMETRIC_DEFAULT" or key.origin != "AWS_KMS":
        raise _err("UnsupportedOperationException", f"{key.arn} does not support automatic rotation.")
    out = _orig["enable_key_rotation"](self)
    # Unverified against AWS: a re-enable without a period keeps the stored one (localstack does this).
    key.c3_rotation_period = int(period) if period is not None else getattr(key, "c3_rotation_period", 365)
    key.c3_next_rotation = utcnow() + timedelta(days=key.c3_rotation_period)
    return out


@_patch("get_key_rotation_status")
def get_key_rotation_status(self):
    out = json.loads(_orig["get_key_rotation_status"](self))
    key = _key(self, self._get_param("KeyId"))
    out["KeyId"] = key.arn
    if out.get("KeyRotationEnabled"):
        out["RotationPeriodInDays"] = getattr(key, "c3_rotation_period", 365)
        nxt = getattr(key, "c3_next_rotation", None) or utcnow() + timedelta(days=365)
        out["NextRotationDate"] = unix_time(nxt)
    return json.dumps(out)


# ---- pagination -----------------------------------------------------------------------------
def _paginate(self, body, items_key, default_limit, max_limit):
    data = json.loads(body)
    items = data.get(items_key, [])
    limit = self._get_param("Limit")
    if limit is not None and not 1 <= int(limit) <= max_limit:
        raise _err("ValidationException", f"Limit must be between 1 and {max_limit}")
    limit = int(limit) if limit is not None else default_limit
    marker = self._get_param("Marker")
    start = 0
    if marker:
        try:
            start = int(base64.urlsafe_b64decode(marker.encode()).decode().removeprefix("c3:"))
        except ValueError:
            raise _err("InvalidMarkerException", "Invalid marker")
    page = items[start:start + limit]
    data[items_key] = page
    data["Truncated"] = start + limit < len(items)
    data.pop("NextMarker", None)
    if data["Truncated"]:
        data["NextMarker"] = base64.urlsafe_b64encode(f"c3:{start + limit}".encode()).decode()
    return json.dumps(data)


@_patch("list_keys")
def list_keys(self):
    return _paginate(self, _orig["list_keys"](self), "Keys", 100, 1000)


@_patch("list_aliases")
def list_aliases(self):
    data = json.loads(_orig["list_aliases"](self))
    keys = self.kms_backend.keys
    for alias in data["Aliases"]:
        if alias["AliasName"] in RESERVED_ALIASES and alias.get("TargetKeyId") not in keys:
            alias.pop("TargetKeyId", None)  # predefined alias, no AWS-managed key created yet
    return _paginate(self, json.dumps(data), "Aliases", 50, 100)


@_patch("list_resource_tags")
def list_resource_tags(self):
    return _paginate(self, _orig["list_resource_tags"](self), "Tags", 50, 50)


# ---- key state checks that matter for alias repointing ---------------------------------------
def _alias_target_check(self):
    target = self._get_param("TargetKeyId")
    if target and not target.startswith("alias/") and ":alias/" not in target:
        backend = self.kms_backend
        key = backend.keys.get(backend.get_key_id(target))
        if key is not None and key.key_state == "PendingDeletion":
            raise _state_error(key)


@_patch("create_alias")
def create_alias(self):
    _alias_target_check(self)
    return _orig["create_alias"](self)


@_patch("update_alias")
def update_alias(self):
    _alias_target_check(self)
    return _orig["update_alias"](self)


@_patch("schedule_key_deletion")
def schedule_key_deletion(self):
    window = self._get_param("PendingWindowInDays")
    if window is not None and not 7 <= int(window) <= 30:
        raise _err("ValidationException", f"PendingWindowInDays should be between 7 and 30, but it is {window}")
    return _orig["schedule_key_deletion"](self)


# ---- fast CreateKey: no RSA key generation for symmetric keys ---------------------------------
# moto's Key.__init__ calls generate_private_key(key_spec), which makes an RSA-2048 key for
# SYMMETRIC_DEFAULT too (~40 ms per CreateKey). Sign/Verify/GetPublicKey are the only users of
# key.private_key and they refuse symmetric keys, so the key is made only if something asks for it.
_orig_generate_private_key = kms_models.generate_private_key
_LAZY_PRIVATE_KEY = object()


def _generate_private_key(key_spec):
    if key_spec == "SYMMETRIC_DEFAULT":
        return _LAZY_PRIVATE_KEY
    return _orig_generate_private_key(key_spec)


def _get_private_key(self):
    pk = self.__dict__.get("_c3_private_key")
    if pk is _LAZY_PRIVATE_KEY:
        pk = _orig_generate_private_key(self.key_spec)
        self.__dict__["_c3_private_key"] = pk
    return pk


def _set_private_key(self, value):
    self.__dict__["_c3_private_key"] = value


kms_models.generate_private_key = _generate_private_key
kms_models.Key.private_key = property(_get_private_key, _set_private_key)


# ---- IAM ------------------------------------------------------------------------------------
# GetPolicyVersion: AWS URL-encodes the document (RFC 3986); moto returns it raw. moto's own
# serializer hook, with moto's own encoder (the one GetAccountAuthorizationDetails already uses).
IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER["GetPolicyVersionResponse.PolicyVersion.Document"] = url_encode

# GetAccountAuthorizationDetails: the ManagedPolicyDetail shape has no "Policy" prefix, so moto's
# serializer finds no value for PolicyName / PolicyId. It also looks for snake_case attributes:
# provide them (GetPolicy / ListPolicies already returned the same values through `name` / `id`).
ManagedPolicy.policy_name = property(lambda self: self.name)
ManagedPolicy.policy_id = property(lambda self: self.id)


# ---- request log (env C3_EMULATOR_LOG) -------------------------------------------------------
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")


class _AccountProbe:
    """moto's own account resolution (BaseResponse.get_current_account: MOTO_ACCOUNT_ID, then the
    x-moto-account-id header, then the access key id looked up in every account's IAM access keys,
    which is where STS AssumeRole registers the credentials it hands out, else the default account),
    run on a request's headers without building a whole BaseResponse."""

    access_key_regex = BaseResponse.access_key_regex
    get_access_key = BaseResponse.get_access_key
    get_current_account = BaseResponse.get_current_account

    def __init__(self, headers, querystring):
        self.headers = headers
        self.querystring = querystring


class RequestLog:
    """WSGI middleware around moto's app: one JSON line per signed AWS request, appended under a lock."""

    def __init__(self, app, path):
        self.app = app
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        try:
            entry = self._describe(environ)
        except Exception as e:  # noqa: BLE001 - the log must never break a request
            entry = {"error": f"{type(e).__name__}: {e}"}
        if entry is None:  # not a signed AWS call (e.g. /moto-api/)
            return self.app(environ, start_response)
        seen = {}

        def _start_response(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, _start_response)
        finally:
            entry["status"] = seen.get("status")
            self._append(entry)

    def _append(self, entry):
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        try:
            with self.lock, open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as e:  # the log must never break a request
            print(f"moto_c3_server: cannot append to {self.path}: {e}", file=sys.stderr, flush=True)

    @staticmethod
    def _describe(environ):
        headers = EnvironHeaders(environ)
        scope = _SCOPE.search(headers.get("Authorization", ""))
        if scope is None:
            return None
        query = parse_qs(environ.get("QUERY_STRING", ""))
        operation = headers.get("X-Amz-Target", "").rsplit(".", 1)[-1] or None
        if operation is None:
            params = dict(query)
            if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                if length:
                    body = environ["wsgi.input"].read(length)
                    environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
                    params.update(parse_qs(body.decode("utf-8", "replace")))
            action = params.get("Action")
            operation = action[0] if action else f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
            query = params
        account = _AccountProbe(headers, query).get_current_account()
        return {
            "account": account,
            "service": scope.group("service"),
            "operation": operation,
            "region": scope.group("region"),
        }


def _install_request_log(path):
    run_simple = moto.server.run_simple

    def run_simple_with_log(hostname, port, application, **kwargs):
        return run_simple(hostname, port, RequestLog(application, path), **kwargs)

    moto.server.run_simple = run_simple_with_log


# ---- --parent-pid ------------------------------------------------------------------------------
def _watch_parent(pid):
    """Exit the whole process when `pid` is gone (also when it is a zombie we were orphaned from)."""
    was_child = os.getppid() == pid

    def gone():
        if was_child and os.getppid() != pid:
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def loop():
        while not gone():
            time.sleep(0.5)
        print(f"moto_c3_server: parent process {pid} is gone, exiting", file=sys.stderr, flush=True)
        os._exit(0)

    threading.Thread(target=loop, name="parent-watchdog", daemon=True).start()


def main(argv):
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--parent-pid", type=int, default=None)
    ours, rest = parser.parse_known_args(argv)
    if moto.__version__ != TESTED_WITH:
        print(f"warning: patches written for moto {TESTED_WITH}, running {moto.__version__}", file=sys.stderr)
    if ours.parent_pid is not None:
        _watch_parent(ours.parent_pid)
    log = os.environ.get("C3_EMULATOR_LOG")
    if log:
        _install_request_log(log)
    sys.argv = [sys.argv[0], *rest]  # moto's main falls back to sys.argv when given no arguments
    moto.server.main(rest)


if __name__ == "__main__":
    main(sys.argv[1:])
