"""moto's server plus a few KMS and IAM fidelity patches that the c3 tests need (written against moto 5.2.5).

usage: python moto_c3_server.py [-H 127.0.0.1] [-p 5000] [--parent-pid PID]   (plus moto_server's flags)

  --parent-pid PID     exit as soon as process PID is gone (polled every 0.5 s), so a test run that
                       dies never leaves a server behind.
  env C3_EMULATOR_LOG  append one JSON line per AWS API request to this file (denied ones too):
                       {"account": "123456789012", "service": "kms", "operation": "ScheduleKeyDeletion",
                        "region": "eu-west-1", "params": {"KeyId": "1234abcd-..."}, "status": 200}
                       The account is resolved exactly as moto resolves it for the request. params
                       holds those of LOGGED_PARAMS (PolicyArn, PolicyName, Path, VersionId, KeyId,
                       AliasName, TargetKeyId, GrantId, RoleArn) the request carries, as strings:
                       from the form or query parameters (IAM, STS), or the JSON body (KMS).

Control endpoints (answered by the launcher itself, never by moto, never logged):
  POST /c3-api/deny        {"account": "<12 digits>", "operation": "ListGrants", "code": "...", "message": "..."}
                           every later call of that operation in that account (the account as moto
                           resolves it) fails with that error, in the service's protocol: KMS (JSON)
                           HTTP 400 {"__type": code, "message": msg} + x-amzn-ErrorType; IAM/STS (query)
                           the XML ErrorResponse, HTTP 403 for AccessDenied(Exception), else 400.
                           code defaults to AccessDeniedException (JSON) / AccessDenied (query).
  POST /c3-api/deny/reset  clears every deny rule.      GET /c3-api/deny lists them.
  Each answers {"denied": [rules]} (200) or {"error": "..."} (400 bad body, 404, 405).
  POST /c3-api/kms/expire-deletions {"account": "<12 digits>"}
                           the waiting period of every PendingDeletion key of that account ends: each
                           is deleted as AWS deletes it (key, aliases, tags, its place among its
                           primary's replicas). Answers {"deleted": [key ARNs]}.

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
  * IAM CreatePolicy accepts a name that a customer-managed policy of the account already has under
    another path or in another case. -> EntityAlreadyExists (HTTP 409), as AWS: names are unique in
    an account whatever the path, and not distinguished by case.
  * CreateKey generates an RSA-2048 private key even for SYMMETRIC_DEFAULT keys (~40 ms each, which
    makes seeding large estates slow). -> for SYMMETRIC_DEFAULT keys it is generated lazily, on the
    first use of key.private_key (no KMS operation on a symmetric key uses it).
  * ReplicateKey copies the primary object (shared aliases and configuration), ignores Policy,
    Description and Tags, answers MultiRegionKeyType PRIMARY, overwrites an existing replica and
    replicates from replicas. -> a replica of its own with the primary's id and key material, its own
    policy, description and tags, REPLICA configurations, AlreadyExistsException and
    UnsupportedOperationException as AWS documents.
  * Keys never leave PendingDeletion. -> POST /c3-api/kms/expire-deletions ends the waiting period.
  * CreateKey refuses the ML_DSA_44/65/87 specs. -> ML-DSA SIGN_VERIFY keys (cryptography's ML-DSA), Sign
    and Verify with ML_DSA_SHAKE_256 (MessageType RAW).
  * GetKeyLastUsage does not exist. -> answered as AWS documents it: every successful Encrypt, Decrypt,
    ReEncrypt (both keys), GenerateDataKey(WithoutPlaintext), GenerateMac, VerifyMac, Sign, Verify records
    Operation, Timestamp, CloudTrailEventId, KmsRequestId on its key; TrackingStartDate = the later of
    KEY_LAST_USAGE_TRACKING_START (2026-04-27) and the key's creation; KeyLastUsage {} when none;
    AccessDeniedException when the key policy has a Deny of kms:GetKeyLastUsage / kms:Get* / kms:* on "*".
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
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from urllib.parse import parse_qs
from xml.sax.saxutils import escape as xml_escape

import moto
import moto.server
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.core.serialize import url_encode
from moto.core.utils import unix_time, utcnow
from moto.iam.exceptions import EntityAlreadyExists
from moto.iam.models import AWSManagedPolicy, IAMBackend, ManagedPolicy
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


# ---- ReplicateKey, as AWS documents it -------------------------------------------------------
# moto copies the primary object into the replica region (so both share one alias table and one
# MultiRegionConfiguration, and describing the replica flips the primary to REPLICA), ignores Policy,
# Description and Tags, answers MultiRegionKeyType PRIMARY, lets a second ReplicateKey overwrite the
# replica and replicates from replicas. Here a replica is a key of its own in its region, with the
# primary's id, spec, usage, origin and key material (so a signature made in one region verifies in
# the other), its own policy, description and tags, and the configurations AWS reports.
def _region_arn(key, region):
    return key.arn.replace(f":kms:{key.region}:", f":kms:{region}:", 1)


@_patch("replicate_key")
def replicate_key(self):
    key_id = self._get_param("KeyId")
    replica_region = self._get_param("ReplicaRegion")
    policy = self._get_param("Policy")
    _check_policy(policy)
    primary = _key(self, key_id)
    config = getattr(primary, "multi_region_configuration", None) if primary.multi_region else None
    if config is None:
        raise _err("UnsupportedOperationException", f"{primary.arn} is not a multi-Region key.")
    if config["MultiRegionKeyType"] != "PRIMARY" or config["PrimaryKey"]["Arn"] != primary.arn:
        raise _err("UnsupportedOperationException", f"{primary.arn} is not a multi-Region primary key.")
    if replica_region == primary.region:
        raise _err("ValidationException", f"ReplicaRegion {replica_region} is the primary key's region.")
    backend = kms_models.kms_backends[primary.account_id][replica_region]
    if primary.id in backend.keys:
        raise _err("AlreadyExistsException", f"{_region_arn(primary, replica_region)} already exists.")
    replica = kms_models.Key(policy, primary.key_usage, primary.key_spec, self._get_param("Description") or "",
                             primary.account_id, replica_region, multi_region=True, origin=primary.origin)
    replica.id = primary.id
    replica.arn = _region_arn(primary, replica_region)
    replica.key_material = primary.key_material
    replica.private_key = primary.private_key
    config["ReplicaKeys"].append({"Arn": replica.arn, "Region": replica_region})
    replica.multi_region_configuration = {
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": dict(config["PrimaryKey"]),
        "ReplicaKeys": config["ReplicaKeys"],
    }
    backend.keys[replica.id] = replica
    tags = self._get_param("Tags") or []
    if tags:
        backend.tagger.tag_resource(replica.id, tags)
    return json.dumps({"ReplicaKeyMetadata": replica.to_dict()["KeyMetadata"], "ReplicaPolicy": replica.policy,
                       "ReplicaTags": tags})


def expire_deletions(account):
    """Deletes every key of `account` (every region) that is PendingDeletion, as AWS does when the
    waiting period ends: the key, its aliases and tags, and its entry among its primary's replicas.
    moto never deletes a key. Returns the ARNs deleted."""
    deleted = []
    for region, backend in kms_models.kms_backends[account].items():
        for key in [k for k in backend.keys.values() if k.key_state == "PendingDeletion"]:
            backend.delete_key(key.id)
            deleted.append(key.arn)
            config = getattr(key, "multi_region_configuration", None) if key.multi_region else None
            if config is not None:
                replicas = config["ReplicaKeys"]
                replicas[:] = [r for r in replicas if r["Arn"] != key.arn]
    return deleted


# ---- GetKeyLastUsage (moto has no such operation) --------------------------------------------------
# AWS (API_GetKeyLastUsage, API_KeyLastUsageData): the last *successful* cryptographic operation per key
# (Operation, Timestamp, CloudTrailEventId, KmsRequestId), TrackingStartDate = the later of the date KMS
# began tracking and the key's creation, KeyLastUsage {} when nothing was recorded. ReEncrypt records
# both keys. Required permission kms:GetKeyLastUsage (key policy); errors NotFoundException etc.
#: The date KMS began tracking: the feature's launch (API change of 2026-04-27, "AWS KMS tracks last
#: usage of KMS keys", What's New 2026/04). Keys created earlier report this date (see README.md).
KEY_LAST_USAGE_TRACKING_START = datetime(2026, 4, 27)  # 00:00 UTC (moto's datetimes are naive UTC)
#: The operations AWS tracks (KeyLastUsageTrackingOperation) that moto 5.2.5 implements, by handler.
#: Not implemented by moto, so never recorded: GenerateDataKeyPair(WithoutPlaintext), DeriveSharedSecret.
_TRACKED = {"encrypt": "Encrypt", "decrypt": "Decrypt", "re_encrypt": "ReEncrypt",
            "generate_data_key": "GenerateDataKey",
            "generate_data_key_without_plaintext": "GenerateDataKeyWithoutPlaintext",
            "generate_mac": "GenerateMac", "verify_mac": "VerifyMac", "sign": "Sign", "verify": "Verify"}
#: Actions whose explicit Deny in the key policy (Resource "*") refuses GetKeyLastUsage, as moto's own
#: policy_validator does for kms:DescribeKey (moto evaluates no Allow, Principal or Condition).
_LAST_USAGE_ACTIONS = ("kms:*", "kms:Get*", "kms:GetKeyLastUsage")


def _record_last_usage(backend, key_ref, operation):
    """Record a successful `operation` on the key that `key_ref` (id, ARN; alias for VerifyMac) names."""
    if not key_ref:
        return
    key_id = backend.get_key_id(key_ref)
    if key_ref.startswith("alias/") or ":alias/" in key_ref:
        key_id = backend.get_key_id_from_alias(backend.get_alias_name(key_ref)) or key_id
    key = backend.keys.get(key_id)
    if key is not None:
        key.c3_last_usage = {"Operation": operation, "Timestamp": unix_time(utcnow()),
                             "CloudTrailEventId": str(uuid.uuid4()), "KmsRequestId": str(uuid.uuid4())}


def _tracked(handler, operation):
    def wrapper(self):
        outermost = not getattr(self, "_c3_tracking", False)  # GenerateDataKeyWithoutPlaintext calls
        self._c3_tracking = True  # generate_data_key: record only the operation the client called
        try:
            body = _orig[handler](self)
        finally:
            if outermost:
                self._c3_tracking = False
        if outermost:
            out = json.loads(body)
            if handler == "re_encrypt":
                _record_last_usage(self.kms_backend, out.get("SourceKeyId"), operation)
            _record_last_usage(self.kms_backend, out.get("KeyId") or self._get_param("KeyId"), operation)
        return body

    wrapper.__name__ = handler
    return wrapper


for _handler, _operation in _TRACKED.items():
    _patch(_handler)(_tracked(_handler, _operation))


def _denies(statement, action_names):
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    resources = statement.get("Resource", "")
    resources = [resources] if isinstance(resources, str) else resources
    return (str(statement.get("Effect", "")).lower() == "deny" and any(a in action_names for a in actions)
            and "*" in resources)


def get_key_last_usage(self):
    """https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html"""
    key = _key(self, self._get_param("KeyId"))
    try:
        statements = json.loads(key.policy).get("Statement", [])
    except (ValueError, AttributeError, TypeError):
        statements = []
    statements = [statements] if isinstance(statements, dict) else statements
    if any(isinstance(s, dict) and _denies(s, _LAST_USAGE_ACTIONS) for s in statements):
        raise _err("AccessDeniedException",
                   f"User: arn:aws:iam::{self.current_account}:root is not authorized to perform: "
                   f"kms:GetKeyLastUsage on resource: {key.arn} with an explicit deny in a resource-based policy")
    return json.dumps({"KeyId": key.id, "KeyCreationDate": key.creation_date,
                       "TrackingStartDate": max(key.creation_date, unix_time(KEY_LAST_USAGE_TRACKING_START)),
                       "KeyLastUsage": dict(getattr(key, "c3_last_usage", {}))})


KmsResponse.get_key_last_usage = get_key_last_usage


# ---- fast CreateKey: no RSA key generation for symmetric keys ---------------------------------
# moto's Key.__init__ calls generate_private_key(key_spec), which makes an RSA-2048 key for
# SYMMETRIC_DEFAULT too (~40 ms per CreateKey). Sign/Verify/GetPublicKey are the only users of
# key.private_key and they refuse symmetric keys, so the key is made only if something asks for it.
_orig_generate_private_key = kms_models.generate_private_key
_LAZY_PRIVATE_KEY = object()


def _generate_private_key(key_spec):
    if key_spec == "SYMMETRIC_DEFAULT":
        return _LAZY_PRIVATE_KEY
    if key_spec in _ML_DSA:
        return _MLDSAPrivateKey(key_spec)
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

# ---- ML-DSA keys (ML_DSA_44/65/87, SIGN_VERIFY): moto 5.2.5 refuses the specs --------------------
# AWS: signing algorithm ML_DSA_SHAKE_256, MessageType RAW (or EXTERNAL_MU, not modelled here).
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import mldsa  # noqa: E402

_ML_DSA = {"ML_DSA_44": mldsa.MLDSA44PrivateKey, "ML_DSA_65": mldsa.MLDSA65PrivateKey,
           "ML_DSA_87": mldsa.MLDSA87PrivateKey}
_ML_DSA_ALGORITHMS = ["ML_DSA_SHAKE_256"]


class _MLDSAPrivateKey:
    """moto's private-key interface (sign, verify, public_key) over cryptography's ML-DSA."""

    def __init__(self, key_spec):
        self.private_key = _ML_DSA[key_spec].generate()

    def sign(self, message, signing_algorithm):
        if signing_algorithm not in _ML_DSA_ALGORITHMS:
            raise _err("ValidationException", f"SigningAlgorithm must be one of {_ML_DSA_ALGORITHMS}")
        return self.private_key.sign(message)

    def verify(self, message, signature, signing_algorithm):
        if signing_algorithm not in _ML_DSA_ALGORITHMS:
            raise _err("ValidationException", f"SigningAlgorithm must be one of {_ML_DSA_ALGORITHMS}")
        try:
            self.private_key.public_key().verify(signature, message)
            return True
        except InvalidSignature:
            return False

    def public_key(self):
        return self.private_key.public_key().public_bytes(
            encoding=serialization.Encoding.DER, format=serialization.PublicFormat.SubjectPublicKeyInfo)


_orig_ensure_valid_key_spec = kms_models.KmsBackend._KmsBackend__ensure_valid_key_spec


def _ensure_valid_key_spec(self, key_spec):
    if key_spec in _ML_DSA:
        return None
    return _orig_ensure_valid_key_spec(self, key_spec)


kms_models.KmsBackend._KmsBackend__ensure_valid_key_spec = _ensure_valid_key_spec
_orig_signing_algorithms = kms_models.Key.signing_algorithms


def _signing_algorithms(self):
    if self.key_spec in _ML_DSA:
        return list(_ML_DSA_ALGORITHMS)
    return _orig_signing_algorithms.fget(self)


kms_models.Key.signing_algorithms = property(_signing_algorithms)

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

# CreatePolicy: IAM policy names are unique in an account whatever the path, and case-insensitive
# (AWS CreatePolicy docs: "Names are not distinguished by case."). moto only refuses the same ARN,
# so it accepted "/c3/x" next to "/x" or "/X". AWS-managed policies live in the "aws" namespace.
_orig_iam_create_policy = IAMBackend.create_policy


def _iam_create_policy(self, description, path, policy_document, policy_name, tags):
    wanted = (policy_name or "").lower()
    for policy in self.managed_policies.values():
        if not isinstance(policy, AWSManagedPolicy) and policy.name.lower() == wanted:
            raise EntityAlreadyExists(f"A policy called {policy_name} already exists. Duplicate names are not allowed.")
    return _orig_iam_create_policy(self, description, path, policy_document, policy_name, tags)


IAMBackend.create_policy = _iam_create_policy


# ---- the WSGI middleware: /c3-api/ control, deny hook, request log (env C3_EMULATOR_LOG) --------
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_ACCOUNT_ID = re.compile(r"\d{12}")
#: The request parameters the log records (as strings) when a request carries them.
LOGGED_PARAMS = ("PolicyArn", "PolicyName", "Path", "VersionId", "KeyId", "AliasName", "TargetKeyId", "GrantId",
                 "RoleArn")
#: XML namespaces of the query-protocol services' error envelopes (as AWS writes them).
_XMLNS = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/", "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}


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


@dataclass
class AwsCall:
    """What the middleware knows of one signed AWS request, before moto answers it."""

    account: str
    service: str
    operation: str
    region: str
    #: LOGGED_PARAMS present in the request, as strings.
    params: dict
    #: True for the JSON protocol (X-Amz-Target: KMS), False for the query protocol (IAM, STS).
    json_protocol: bool

    def log_entry(self):
        return {"account": self.account, "service": self.service, "operation": self.operation,
                "region": self.region, "params": self.params}


def _read_body(environ):
    """The request body (b"" without a Content-Length), put back as a fresh wsgi.input for moto,
    as moto's own dispatcher does."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
    return body


def _param_string(value):
    """A logged parameter's value as a string; None for a value that is no scalar."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _logged_params(values):
    """The LOGGED_PARAMS among `values` (a JSON object, or parse_qs lists: first value), as strings."""
    out = {}
    for name in LOGGED_PARAMS:
        value = values.get(name)
        if isinstance(value, list):  # parse_qs
            value = value[0] if value else None
        text = _param_string(value)
        if text is not None:
            out[name] = text
    return out


def describe(environ):
    """The AwsCall a request makes, or None when it is no signed AWS call (e.g. /moto-api/).
    Reads the body (and puts it back) to find the operation of a query call and the parameters."""
    headers = EnvironHeaders(environ)
    scope = _SCOPE.search(headers.get("Authorization", ""))
    if scope is None:
        return None
    query = parse_qs(environ.get("QUERY_STRING", ""))
    target = headers.get("X-Amz-Target", "")
    if target:  # JSON protocol: the operation in a header, the parameters a JSON object
        operation = target.rsplit(".", 1)[-1]
        params = {}
        body = _read_body(environ)
        try:
            doc = json.loads(body) if body else {}
        except ValueError:  # (UnicodeDecodeError is one) moto answers it; the log shows no params
            doc = {}
        if isinstance(doc, dict):
            params = _logged_params(doc)
    else:  # query protocol: Action and the parameters in the query string or the form body
        values = dict(query)
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            values.update(parse_qs(_read_body(environ).decode("utf-8", "replace")))
        action = values.get("Action")
        operation = action[0] if action else f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        params = _logged_params(values)
        query = values
    account = _AccountProbe(headers, query).get_current_account()
    return AwsCall(account=account, service=scope.group("service"), operation=operation,
                   region=scope.group("region"), params=params, json_protocol=bool(target))


class RequestLog:
    """The request log: one JSON line per signed AWS request, appended under a lock."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def append(self, entry):
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        try:
            with self.lock, open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as e:  # the log must never break a request
            print(f"moto_c3_server: cannot append to {self.path}: {e}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class DenyRule:
    """An error every matching call gets instead of moto's answer. code None: AccessDeniedException
    for JSON-protocol calls, AccessDenied for query-protocol calls; message None: a default."""

    account: str
    operation: str
    code: str | None = None
    message: str | None = None
    #: Only calls whose RoleArn is this role (AssumeRole into it), then `account` is the role's account.
    role_arn: str | None = None

    def as_json(self):
        doc = {"account": self.account, "operation": self.operation, "code": self.code, "message": self.message}
        if self.role_arn is not None:
            doc["role_arn"] = self.role_arn
        return doc


class Denials:
    """The deny rules set through POST /c3-api/deny, by (account, operation); thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules = {}

    def __bool__(self):
        return bool(self._rules)  # a racy read is fine: a rule set concurrently may miss one call

    def add(self, rule):
        with self._lock:
            self._rules[(rule.account, rule.operation, rule.role_arn)] = rule

    def clear(self):
        with self._lock:
            self._rules.clear()

    def rules(self):
        with self._lock:
            return [rule.as_json() for rule in self._rules.values()]

    def match(self, call):
        """The rule of the call's (account, operation), else that of the role it names (RoleArn: the
        role's account, the operation and the ARN), as AWS refuses AssumeRole into a role whose trust
        policy does not let the caller in."""
        with self._lock:
            rule = self._rules.get((call.account, call.operation, None))
            role = call.params.get("RoleArn")
            if rule is None and role:
                parts = role.split(":")
                role_account = parts[4] if len(parts) > 5 else ""
                rule = self._rules.get((role_account, call.operation, role))
            return rule


def _denied_response(call, rule):
    """(HTTP status, headers, body) of the error a denied call gets, in its service's protocol."""
    request_id = str(uuid.uuid4())
    code = rule.code or ("AccessDeniedException" if call.json_protocol else "AccessDenied")
    message = rule.message or (f"User is not authorized to perform: {call.service}:{call.operation} in account "
                               f"{call.account} (denied by the emulator: POST /c3-api/deny)")
    if call.json_protocol:
        body = json.dumps({"__type": code, "message": message})
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code),
                   ("x-amzn-RequestId", request_id)]
        return 400, headers, body.encode()
    xmlns = f' xmlns="{_XMLNS[call.service]}"' if call.service in _XMLNS else ""
    body = (f"<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>{xml_escape(code)}</Code>"
            f"<Message>{xml_escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    status = 403 if code in ("AccessDenied", "AccessDeniedException") else 400
    return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode()


def _deny_rule_from(body):
    """The DenyRule a POST /c3-api/deny body asks for; ValueError says what is wrong with it."""
    try:
        doc = json.loads(body or b"null")
    except ValueError as e:
        raise ValueError(f"the body is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ValueError('the body must be a JSON object {"account", "operation", "code"?, "message"?}')
    account, operation = doc.get("account"), doc.get("operation")
    code, message = doc.get("code"), doc.get("message")
    if not isinstance(account, str) or not _ACCOUNT_ID.fullmatch(account):
        raise ValueError(f"account must be a string of 12 digits, got {account!r}")
    if not isinstance(operation, str) or not re.fullmatch(r"[A-Za-z0-9]+", operation):
        raise ValueError(f"operation must be an operation name such as ListGrants, got {operation!r}")
    if code is not None and (not isinstance(code, str) or not re.fullmatch(r"[A-Za-z0-9.#]+", code)):
        raise ValueError(f"code must be an AWS error code such as AccessDeniedException, got {code!r}")
    if message is not None and not isinstance(message, str):
        raise ValueError(f"message must be a string, got {message!r}")
    role_arn = doc.get("role_arn")
    if role_arn is not None:
        match = isinstance(role_arn, str) and re.fullmatch(r"arn:aws[a-z-]*:iam::([0-9]{12}):role/[!-~]+", role_arn)
        if not match or match.group(1) != account:
            raise ValueError(f"role_arn must be an IAM role ARN in account {account}, got {role_arn!r}")
        if message is None and operation == "AssumeRole":
            # AWS's words for a role whose trust policy does not let the caller in.
            message = f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    return DenyRule(account=account, operation=operation, code=code, message=message, role_arn=role_arn)


def _respond(start_response, status, headers, body):
    start_response(f"{status} {HTTPStatus(status).phrase}", [*headers, ("Content-Length", str(len(body)))])
    return [body]


class C3Middleware:
    """WSGI middleware around moto's app.

    - /c3-api/...: the launcher's own control endpoints, answered here (never reach moto, never logged).
    - a signed AWS call that a deny rule matches gets that rule's error instead of moto's answer.
    - with a RequestLog, every signed AWS call (denied ones too) is appended to it with its status,
      before the response is sent."""

    def __init__(self, app, log=None):
        self.app = app
        self.log = log
        self.denials = Denials()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/c3-api" or path.startswith("/c3-api/"):
            return self._control(environ, start_response, path)
        if self.log is None and not self.denials:
            return self.app(environ, start_response)
        try:
            call, entry = describe(environ), None
        except Exception as e:  # noqa: BLE001 - describing a request must never break it
            call, entry = None, {"error": f"{type(e).__name__}: {e}"}
        if call is None and entry is None:  # not a signed AWS call (e.g. /moto-api/)
            return self.app(environ, start_response)
        entry = entry or call.log_entry()
        entry["start"] = time.time()
        rule = self.denials.match(call) if call is not None else None
        seen = {}

        def _start_response(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            if rule is not None:
                return _respond(_start_response, *_denied_response(call, rule))
            return self.app(environ, _start_response)
        finally:
            if self.log is not None:
                entry["status"] = seen.get("status")
                entry["end"] = time.time()
                self.log.append(entry)

    def _control(self, environ, start_response, path):
        """POST /c3-api/deny {account, operation, code?, message?}; POST /c3-api/deny/reset;
        GET /c3-api/deny lists the rules. Answers JSON: {"denied": [rules]} or {"error": why}."""
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path == "/c3-api/deny" and method == "POST":
                self.denials.add(_deny_rule_from(_read_body(environ)))
            elif path == "/c3-api/deny/reset" and method == "POST":
                self.denials.clear()
            elif path == "/c3-api/deny" and method == "GET":
                pass
            elif path == "/c3-api/kms/expire-deletions" and method == "POST":
                account = json.loads(_read_body(environ) or b"{}").get("account", "")
                if not _ACCOUNT_ID.fullmatch(str(account)):
                    raise ValueError("account must be 12 digits")
                return self._json(start_response, 200, {"deleted": expire_deletions(account)})
            elif path in ("/c3-api/deny", "/c3-api/deny/reset"):
                return self._json(start_response, 405, {"error": f"{method} {path}: use POST"})
            else:
                return self._json(start_response, 404, {"error": f"no such endpoint: {method} {path}"})
        except ValueError as e:
            return self._json(start_response, 400, {"error": f"{method} {path}: {e}"})
        return self._json(start_response, 200, {"denied": self.denials.rules()})

    @staticmethod
    def _json(start_response, status, doc):
        return _respond(start_response, status, [("Content-Type", "application/json")], json.dumps(doc).encode())


def _install_middleware(log_path):
    """Wrap moto's WSGI app in C3Middleware (with a RequestLog when log_path is set): moto.server.main
    calls run_simple(hostname, port, app, ...), which is replaced here."""
    run_simple = moto.server.run_simple
    log = RequestLog(log_path) if log_path else None

    def run_simple_with_middleware(hostname, port, application, **kwargs):
        return run_simple(hostname, port, C3Middleware(application, log), **kwargs)

    moto.server.run_simple = run_simple_with_middleware


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
    _install_middleware(os.environ.get("C3_EMULATOR_LOG"))
    sys.argv = [sys.argv[0], *rest]  # moto's main falls back to sys.argv when given no arguments
    moto.server.main(rest)


if __name__ == "__main__":
    main(sys.argv[1:])
