"""Assert the behaviours moto_c3_server.py adds (run against it; against plain moto most checks FAIL).

usage: .venv/bin/python tests/emulator/check_patched.py
         starts its own launcher on a free port (with a request log) and stops it afterwards
       ENDPOINT=http://127.0.0.1:5010 [C3_EMULATOR_LOG=<the server's log>] .venv/bin/python check_patched.py
         checks a running server (it is RESET, deny rules too: never point this at a server others use); the
         request-log checks run only when C3_EMULATOR_LOG names the log that server writes
"""
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
from botocore.config import Config

import common
from common import R1, call, client, deny, deny_reset, reset

if common.ENDPOINT is None:
    _tmp = tempfile.mkdtemp(prefix="c3-check-")
    os.environ["C3_EMULATOR_LOG"] = os.path.join(_tmp, "requests.jsonl")
    _, endpoint = common.start_launcher(log_path=os.environ["C3_EMULATOR_LOG"])
    common.use_endpoint(endpoint)
    print(f"started {common.LAUNCHER} at {endpoint}", flush=True)
ENDPOINT = common.ENDPOINT
LOG = os.environ.get("C3_EMULATOR_LOG")

reset()
kms = client("kms")
raw = boto3.session.Session().client("kms", region_name=R1, endpoint_url=ENDPOINT, aws_access_key_id="t",
                                     aws_secret_access_key="t", config=Config(parameter_validation=False))
results = []


def check(name, cond):
    if callable(cond):
        try:
            cond = cond()
        except Exception as e:  # noqa: BLE001
            cond = False
            name += f"  [{type(e).__name__}]"
    results.append((name, bool(cond)))
    print(("PASS " if cond else "FAIL ") + name)
    return bool(cond)


def _http_error(fn):
    """The urllib HTTPError `fn` raises (None when it raises none)."""
    try:
        fn()
    except urllib.error.HTTPError as e:
        return e
    return None


def code(fn, **kw):
    try:
        fn(**kw)
        return "ok"
    except Exception as e:  # noqa: BLE001
        return getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)


k = kms.create_key()["KeyMetadata"]["KeyId"]
kms.enable_key_rotation(KeyId=k, RotationPeriodInDays=180)
st = kms.get_key_rotation_status(KeyId=k)
check("rotation period stored and returned", lambda: st.get("RotationPeriodInDays") == 180 and "NextRotationDate" in st)
check("GetKeyRotationStatus returns KeyId (ARN)", lambda: st.get("KeyId", "").startswith("arn:aws:kms:"))
check("RotationPeriodInDays=2561 -> ValidationException", lambda: code(raw.enable_key_rotation, KeyId=k, RotationPeriodInDays=2561) == "ValidationException")
check("RotationPeriodInDays=89 -> ValidationException", lambda: code(raw.enable_key_rotation, KeyId=k, RotationPeriodInDays=89) == "ValidationException")
kms.disable_key_rotation(KeyId=k)
check("disabled rotation: no period returned", lambda: "RotationPeriodInDays" not in kms.get_key_rotation_status(KeyId=k))
asym = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
check("rotation on asymmetric key -> UnsupportedOperationException", lambda: code(kms.enable_key_rotation, KeyId=asym) == "UnsupportedOperationException")
d = kms.create_key()["KeyMetadata"]["KeyId"]
kms.disable_key(KeyId=d)
check("rotation on disabled key -> DisabledException", lambda: code(kms.enable_key_rotation, KeyId=d) == "DisabledException")

check("PutKeyPolicy malformed JSON -> MalformedPolicyDocumentException", lambda: code(kms.put_key_policy, KeyId=k, PolicyName="default", Policy="{nope") == "MalformedPolicyDocumentException")
check("CreateKey malformed policy -> MalformedPolicyDocumentException", lambda: code(kms.create_key, Policy="{nope") == "MalformedPolicyDocumentException")
check("GetKeyPolicy without PolicyName works", lambda: code(kms.get_key_policy, KeyId=k) == "ok")
check("GetKeyPolicy returns PolicyName", lambda: kms.get_key_policy(KeyId=k).get("PolicyName") == "default")

for i in range(120):
    kms.create_alias(AliasName=f"alias/c3/p{i:03d}", TargetKeyId=k)
p = kms.list_aliases()
check("ListAliases default page is 50 and Truncated", lambda: len(p["Aliases"]) == 50 and p["Truncated"] and p.get("NextMarker"))
names = [a["AliasName"] for pg in kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 7}) for a in pg["Aliases"]]
check("ListAliases paginator sees every alias exactly once", lambda: len(names) == len(set(names)) == 120 + 14)
check("ListAliases Limit=101 -> ValidationException", lambda: code(raw.list_aliases, Limit=101) == "ValidationException")
check("ListAliases bad Marker -> InvalidMarkerException", lambda: code(kms.list_aliases, Marker="bogus!") == "InvalidMarkerException")
pre = [a for a in names if a.startswith("alias/aws/")]
al = {a["AliasName"]: a for pg in kms.get_paginator("list_aliases").paginate() for a in pg["Aliases"]}
check("predefined alias/aws/* listed without TargetKeyId", lambda: all("TargetKeyId" not in al[n] for n in pre))
for i in range(5):
    kms.create_key()
keys = [x["KeyId"] for pg in kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}) for x in pg["Keys"]]
check("ListKeys paginates (Limit=2)", lambda: len(keys) == len(set(keys)) == len(kms.list_keys(Limit=1000)["Keys"]))

z = kms.create_key()["KeyMetadata"]["KeyId"]
kms.schedule_key_deletion(KeyId=z, PendingWindowInDays=7)
check("UpdateAlias onto PendingDeletion key -> KMSInvalidStateException", lambda: code(kms.update_alias, AliasName="alias/c3/p000", TargetKeyId=z) == "KMSInvalidStateException")
check("CreateAlias onto PendingDeletion key -> KMSInvalidStateException", lambda: code(kms.create_alias, AliasName="alias/c3/zz", TargetKeyId=z) == "KMSInvalidStateException")
check("ScheduleKeyDeletion window 6 -> ValidationException", lambda: code(kms.schedule_key_deletion, KeyId=k, PendingWindowInDays=6) == "ValidationException")

# ---- ReplicateKey as AWS documents it ---------------------------------------------------------
def _replicas():
    kms2 = client("kms", region=common.R2)
    mrk = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", MultiRegion=True)["KeyMetadata"]
    out = kms.replicate_key(KeyId=mrk["KeyId"], ReplicaRegion=common.R2, Description="replica",
                            Policy=json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "Mine", "Effect": "Allow",
                                              "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                              "Action": "kms:*", "Resource": "*"}]}),
                            Tags=[{"TagKey": "c3:name", "TagValue": "x"}])
    meta = out["ReplicaKeyMetadata"]
    sig = kms.sign(KeyId=mrk["KeyId"], Message=b"m", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    kms2.create_alias(AliasName="alias/c3-replica", TargetKeyId=mrk["KeyId"])
    return {
        "answer says REPLICA": meta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA",
        "same key id, replica's region": meta["KeyId"] == mrk["KeyId"] and f":{common.R2}:" in meta["Arn"],
        "primary stays PRIMARY": kms.describe_key(KeyId=mrk["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"][
            "MultiRegionKeyType"] == "PRIMARY",
        "replica's own policy, description and tags": "Mine" in kms2.get_key_policy(KeyId=mrk["KeyId"])["Policy"]
        and kms2.describe_key(KeyId=mrk["KeyId"])["KeyMetadata"]["Description"] == "replica"
        and kms2.list_resource_tags(KeyId=mrk["KeyId"])["Tags"] == [{"TagKey": "c3:name", "TagValue": "x"}],
        "aliases are per region": "alias/c3-replica" not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]],
        "a signature verifies with the replica": kms2.verify(KeyId=mrk["KeyId"], Message=b"m", MessageType="RAW",
                                                             Signature=sig, SigningAlgorithm="ECDSA_SHA_256")[
            "SignatureValid"],
        "second ReplicateKey -> AlreadyExistsException": code(kms.replicate_key, KeyId=mrk["KeyId"],
                                                              ReplicaRegion=common.R2) == "AlreadyExistsException",
        "ReplicateKey from a replica -> UnsupportedOperationException": code(
            kms2.replicate_key, KeyId=mrk["KeyId"], ReplicaRegion="us-east-1") == "UnsupportedOperationException",
    }


for _name, _ok in _replicas().items():
    check(f"ReplicateKey: {_name}", _ok)


def _expire():
    kms2 = client("kms", region=common.R2)
    mrk = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=mrk, ReplicaRegion=common.R2)
    kms2.schedule_key_deletion(KeyId=mrk, PendingWindowInDays=7)
    req = urllib.request.Request(f"{ENDPOINT}/c3-api/kms/expire-deletions", method="POST",
                                 data=json.dumps({"account": "123456789012"}).encode())
    with urllib.request.urlopen(req) as r:
        deleted = json.load(r)["deleted"]
    replicas = kms.describe_key(KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"]
    return (any(mrk in arn for arn in deleted) and code(kms2.describe_key, KeyId=mrk) == "NotFoundException"
            and replicas == [] and code(kms.replicate_key, KeyId=mrk, ReplicaRegion=common.R2) == "ok")


def _ml_dsa():
    k = kms.create_key(KeySpec="ML_DSA_65", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    sig = kms.sign(KeyId=k["KeyId"], Message=b"m", MessageType="RAW", SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    ok = kms.verify(KeyId=k["KeyId"], Message=b"m", MessageType="RAW", Signature=sig,
                    SigningAlgorithm="ML_DSA_SHAKE_256")["SignatureValid"]
    return (k["SigningAlgorithms"] == ["ML_DSA_SHAKE_256"] and ok
            and code(kms.verify, KeyId=k["KeyId"], Message=b"x", MessageType="RAW", Signature=sig,
                     SigningAlgorithm="ML_DSA_SHAKE_256") in ("ok", "KMSInvalidSignatureException"))


check("ML-DSA: CreateKey ML_DSA_65 SIGN_VERIFY, Sign and Verify with ML_DSA_SHAKE_256", _ml_dsa)

check("expire-deletions: a PendingDeletion replica is deleted, its primary forgets it, it can be replicated again",
      _expire)

# ---- fast CreateKey (no RSA key generated for symmetric keys) ----------------------------------
def _create_key_ms():
    t = time.perf_counter()
    kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")
    return (time.perf_counter() - t) * 1000


_times = sorted(_create_key_ms() for _ in range(20))
print(f"     CreateKey (symmetric) x20: median {statistics.median(_times):.1f} ms, max {_times[-1]:.1f} ms")
check("CreateKey of a symmetric key is fast (median < 15 ms over 20)", lambda: statistics.median(_times) < 15)
sym = kms.create_key()["KeyMetadata"]["KeyId"]
_blob = kms.encrypt(KeyId=sym, Plaintext=b"c3 says hello")["CiphertextBlob"]
check("symmetric key still encrypts and decrypts", lambda: kms.decrypt(CiphertextBlob=_blob)["Plaintext"] == b"c3 says hello"
      and kms.decrypt(CiphertextBlob=_blob)["KeyId"].endswith(sym))
_sig = kms.sign(KeyId=asym, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
check("RSA key still signs and verifies", lambda: kms.verify(KeyId=asym, Message=b"m", Signature=_sig,
                                                              SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"])

# ---- GetKeyLastUsage (moto has none): answered as AWS documents it ---------------------------------
def _last_usage(key_id, whole=False):
    """GetKeyLastUsage's KeyLastUsage (the whole answer with `whole`); {"error": code} when it fails
    (plain moto has no GetKeyLastUsage: the checks fail instead of stopping the script)."""
    got = call(kms.get_key_last_usage, KeyId=key_id)
    if got[0] != "ok":
        return {"error": got[1]}
    return got[1] if whole else got[1]["KeyLastUsage"]


_lu = kms.create_key(Description="last usage")["KeyMetadata"]
_lu_empty = _last_usage(_lu["KeyId"], whole=True)
check("GetKeyLastUsage of an unused key: KeyLastUsage {}, KeyId the key id, dates = creation",
      lambda: _lu_empty.get("KeyLastUsage") == {} and _lu_empty["KeyId"] == _lu["KeyId"]
      and _lu_empty["KeyCreationDate"] == _lu["CreationDate"] == _lu_empty["TrackingStartDate"])
_before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
_lu_blob = kms.encrypt(KeyId=_lu["Arn"], Plaintext=b"used")["CiphertextBlob"]
_lu_used = _last_usage(_lu["Arn"])
_after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
check("GetKeyLastUsage after Encrypt (by ARN): Operation, Timestamp, CloudTrailEventId (uuid), KmsRequestId",
      lambda: _lu_used["Operation"] == "Encrypt" and _before <= _lu_used["Timestamp"] <= _after
      and str(uuid.UUID(_lu_used["CloudTrailEventId"])) == _lu_used["CloudTrailEventId"]
      and _lu_used.get("KmsRequestId"))
kms.decrypt(CiphertextBlob=_lu_blob)
_lu_dec = _last_usage(_lu["KeyId"])
check("GetKeyLastUsage after Decrypt (key from the ciphertext): Decrypt, a new event id",
      lambda: _lu_dec["Operation"] == "Decrypt" and _lu_dec["CloudTrailEventId"] != _lu_used.get("CloudTrailEventId"))
_lu2 = kms.create_key()["KeyMetadata"]["KeyId"]
kms.re_encrypt(CiphertextBlob=_lu_blob, DestinationKeyId=_lu2)
check("GetKeyLastUsage after ReEncrypt: recorded for the source and the destination key",
      lambda: _last_usage(_lu["KeyId"])["Operation"] == "ReEncrypt"
      and _last_usage(_lu2)["Operation"] == "ReEncrypt")
kms.generate_data_key_without_plaintext(KeyId=_lu2, KeySpec="AES_256")
check("GetKeyLastUsage after GenerateDataKeyWithoutPlaintext: that operation",
      lambda: _last_usage(_lu2)["Operation"] == "GenerateDataKeyWithoutPlaintext")
kms.sign(KeyId=asym, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
check("GetKeyLastUsage after Sign: Sign",
      lambda: _last_usage(asym)["Operation"] == "Sign")
_hmac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
kms.generate_mac(KeyId=_hmac, Message=b"m", MacAlgorithm="HMAC_SHA_256")
_bad_mac = call(kms.verify_mac, KeyId=_hmac, Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=b"0" * 32)
check("GetKeyLastUsage: a failed VerifyMac is not recorded (still GenerateMac)",
      lambda: _bad_mac[0] == "err"
      and _last_usage(_hmac)["Operation"] == "GenerateMac")
check("GetKeyLastUsage of an unknown key -> NotFoundException",
      lambda: code(kms.get_key_last_usage, KeyId="1234abcd-12ab-34cd-56ef-1234567890ab") == "NotFoundException")


def _deny_policy(action):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{common.ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "no", "Effect": "Deny", "Principal": "*", "Action": action, "Resource": "*"}]})


_lu_denied = kms.create_key(Policy=_deny_policy("kms:GetKeyLastUsage"))["KeyMetadata"]["KeyId"]
_lu_denied_call = call(kms.get_key_last_usage, KeyId=_lu_denied)
check("GetKeyLastUsage with an explicit Deny of kms:GetKeyLastUsage in the key policy -> AccessDeniedException",
      lambda: _lu_denied_call[:2] == ("err", "AccessDeniedException") and _lu_denied_call[3] == 400)
check("GetKeyLastUsage: a Deny of kms:* denies it too, a Deny of kms:Encrypt does not",
      lambda: code(kms.get_key_last_usage, KeyId=kms.create_key(Policy=_deny_policy(["kms:*"]))["KeyMetadata"]["KeyId"])
      == "AccessDeniedException"
      and code(kms.get_key_last_usage, KeyId=kms.create_key(Policy=_deny_policy("kms:Encrypt"))["KeyMetadata"]["KeyId"])
      == "ok")

# ---- IAM gaps closed by the launcher -----------------------------------------------------------
iam = client("iam")
doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "A b", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
pol = iam.create_policy(PolicyName="c3-check", Path="/c3/", PolicyDocument=doc)["Policy"]
_raw_bodies = {}
for _op in ("GetPolicyVersion", "GetAccountAuthorizationDetails"):  # boto3 decodes either form: look at the XML
    iam.meta.events.register(f"before-parse.iam.{_op}",
                             lambda response_dict, _op=_op, **_: _raw_bodies.update({_op: response_dict["body"].decode()}))
iam.get_policy_version(PolicyArn=pol["Arn"], VersionId="v1")
gaad = [p for p in iam.get_account_authorization_details(Filter=["LocalManagedPolicy"])["Policies"] if p["Arn"] == pol["Arn"]]


def _document_on_the_wire(op):
    return _raw_bodies[op].split("<Document>", 1)[1].split("</Document>", 1)[0]


check("GetPolicyVersion Document is URL-encoded on the wire", lambda: _document_on_the_wire("GetPolicyVersion").startswith("%7B")
      and urllib.parse.unquote(_document_on_the_wire("GetPolicyVersion")) == doc)
check("GetAccountAuthorizationDetails policies carry PolicyName and PolicyId", lambda: len(gaad) == 1
      and gaad[0].get("PolicyName") == "c3-check" and gaad[0].get("PolicyId") == pol["PolicyId"])
check("GetAccountAuthorizationDetails Document still URL-encoded on the wire",
      lambda: urllib.parse.unquote(_document_on_the_wire("GetAccountAuthorizationDetails")) == doc
      and _document_on_the_wire("GetAccountAuthorizationDetails").startswith("%7B"))

# CreatePolicy: names are unique in the account whatever the path, and not distinguished by case.
_dup = call(iam.create_policy, PolicyName="c3-check", Path="/", PolicyDocument=doc)
check("CreatePolicy: same name under another path -> EntityAlreadyExists (HTTP 409)",
      lambda: _dup[:2] == ("err", "EntityAlreadyExists") and _dup[3] == 409
      and _dup[2] == "A policy called c3-check already exists. Duplicate names are not allowed.")
check("CreatePolicy: same name in another case -> EntityAlreadyExists",
      lambda: call(iam.create_policy, PolicyName="C3-Check", Path="/other/", PolicyDocument=doc)[:2]
      == ("err", "EntityAlreadyExists"))
check("CreatePolicy: another name under the same path still works",
      lambda: call(iam.create_policy, PolicyName="c3-check-2", Path="/c3/", PolicyDocument=doc)[0] == "ok")

# ---- the launcher's own features: request log, --parent-pid -------------------------------------
if LOG:
    other = "210987654321"
    sts = client("sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{other}:role/c3-test", RoleSessionName="c3-check")["Credentials"]
    assumed = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
               "aws_session_token": creds["SessionToken"]}
    _kms_other = client("kms", region="eu-north-1", creds=assumed)
    _kms_other.list_keys()
    _key_other = _kms_other.create_key()["KeyMetadata"]["KeyId"]
    _kms_other.create_alias(AliasName="alias/c3-check-log", TargetKeyId=_key_other)
    _iam_other = client("iam", creds=assumed)
    _iam_other.list_policies(Scope="Local")
    _pol_other = _iam_other.create_policy(PolicyName="c3-check-log", Path="/c3/", PolicyDocument=doc)["Policy"]
    _iam_other.get_policy_version(PolicyArn=_pol_other["Arn"], VersionId="v1")

    def _log():
        with open(LOG, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    entries = _log()
    mine = [(e["service"], e["operation"], e["region"]) for e in entries if e.get("account") == other]
    check("request log: KMS (X-Amz-Target) op attributed to the assumed-role account",
          lambda: ("kms", "ListKeys", "eu-north-1") in mine)
    check("request log: IAM (query Action) op attributed to the assumed-role account",
          lambda: ("iam", "ListPolicies", R1) in mine)
    check("request log: AssumeRole attributed to the caller's (default) account",
          lambda: any(e["operation"] == "AssumeRole" and e["account"] == common.ACCOUNT and e["service"] == "sts"
                      and e["status"] == 200 for e in entries))
    check("request log: the failing call is logged with its HTTP status",
          lambda: any(e["operation"] == "ScheduleKeyDeletion" and e["status"] == 400 for e in entries))

    def _params_of(operation):
        return [e.get("params") for e in entries if e.get("account") == other and e["operation"] == operation]

    check("request log: KMS params from the JSON body (CreateAlias: AliasName, TargetKeyId; ListKeys: none)",
          lambda: _params_of("CreateAlias") == [{"AliasName": "alias/c3-check-log", "TargetKeyId": _key_other}]
          and _params_of("ListKeys") == [{}])
    check("request log: IAM params from the form body (CreatePolicy: PolicyName, Path; GetPolicyVersion: "
          "PolicyArn, VersionId)",
          lambda: _params_of("CreatePolicy") == [{"PolicyName": "c3-check-log", "Path": "/c3/"}]
          and _params_of("GetPolicyVersion") == [{"PolicyArn": _pol_other["Arn"], "VersionId": "v1"}])
    check("request log: each line has the start and end of the call (epoch seconds, start <= end)",
          lambda: all(isinstance(e.get("start"), float) and e["start"] <= e["end"] for e in entries))
    check("request log: STS AssumeRole logs its RoleArn",
          lambda: any(e["operation"] == "AssumeRole"
                      and e.get("params") == {"RoleArn": f"arn:aws:iam::{other}:role/c3-test"} for e in entries))
else:
    print("SKIP request-log checks (C3_EMULATOR_LOG not set)")


# ---- the deny hook: POST /c3-api/deny, /c3-api/deny/reset -------------------------------------
def _assumed(account):
    c = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/c3-test", RoleSessionName="c3-deny")
    c = c["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


_denied, _free = "310987654321", "410987654321"
_kms_denied = client("kms", creds=_assumed(_denied))
_kms_free = client("kms", creds=_assumed(_free))
_iam_denied = client("iam", creds=_assumed(_denied))
_key_denied = _kms_denied.create_key()["KeyMetadata"]["KeyId"]
_key_free = _kms_free.create_key()["KeyMetadata"]["KeyId"]
check("deny: POST /c3-api/deny accepts rules (ListGrants, GetAccountAuthorizationDetails)",
      lambda: deny_reset() is not None and deny(_denied, "ListGrants") is not None
      and len(deny(_denied, "GetAccountAuthorizationDetails")["denied"]) == 2)
_grants = call(_kms_denied.list_grants, KeyId=_key_denied)
check("deny ListGrants: boto3 gets AccessDeniedException (HTTP 400) in that account",
      lambda: _grants[:2] == ("err", "AccessDeniedException") and _grants[3] == 400 and "kms:ListGrants" in _grants[2])
check("deny ListGrants: another account is unaffected",
      lambda: call(_kms_free.list_grants, KeyId=_key_free)[0] == "ok")
check("deny ListGrants: other operations of that account are unaffected",
      lambda: call(_kms_denied.describe_key, KeyId=_key_denied)[0] == "ok")
_gaad = call(_iam_denied.get_account_authorization_details)
check("deny GetAccountAuthorizationDetails: boto3 gets AccessDenied (HTTP 403)",
      lambda: _gaad[:2] == ("err", "AccessDenied") and _gaad[3] == 403)
check("deny with a code and message: IAM answers them, HTTP 400",
      lambda: deny(_denied, "ListPolicies", code="Throttling", message="Rate exceeded") is not None
      and call(_iam_denied.list_policies) == ("err", "Throttling", "Rate exceeded", 400))
_role_denied = f"arn:aws:iam::{_denied}:role/c3-denied"
check("deny AssumeRole into one role: AccessDenied (HTTP 403) naming it; another role of the account is assumed",
      lambda: deny(_denied, "AssumeRole", role_arn=_role_denied) is not None
      and (lambda r: r[:2] == ("err", "AccessDenied") and r[3] == 403 and _role_denied in r[2])(
          call(client("sts").assume_role, RoleArn=_role_denied, RoleSessionName="c3"))
      and call(client("sts").assume_role, RoleArn=f"arn:aws:iam::{_denied}:role/c3-test", RoleSessionName="c3")[0]
      == "ok")
check("deny: a role_arn of another account than the rule's is refused with 400",
      lambda: _http_error(lambda: deny(_free, "AssumeRole", role_arn=_role_denied)).code == 400)
check("deny: a bad body is refused with 400 and a reason",
      lambda: (lambda e: e.code == 400 and "12 digits" in json.loads(e.read())["error"])(
          _http_error(lambda: deny("12345", "ListGrants"))))
if LOG:
    with open(LOG, encoding="utf-8") as f:
        _mine = [json.loads(line) for line in f if line.strip()]
    _mine = [(e["operation"], e["status"]) for e in _mine if e.get("account") == _denied]
    check("deny: denied calls are in the request log with their status",
          lambda: ("ListGrants", 400) in _mine and ("GetAccountAuthorizationDetails", 403) in _mine)
check("deny/reset: the account's calls work again",
      lambda: deny_reset() == {"denied": []} and call(_kms_denied.list_grants, KeyId=_key_denied)[0] == "ok"
      and call(_iam_denied.get_account_authorization_details)[0] == "ok")


def _parent_pid_exits():
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        proc, _ = common.start_launcher(parent_pid=parent.pid)
    finally:
        parent.kill()
        parent.wait()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        return False
    return True


check("--parent-pid: the server exits once that process is gone", _parent_pid_exits)

reset()
failed = [n for n, ok in results if not ok]
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
raise SystemExit(1 if failed else 0)
