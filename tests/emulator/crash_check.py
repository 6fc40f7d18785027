"""Checks for scripts/crash-trials.sh: what a killed-then-rerun `c3 apply` left in the emulator.

    crash_check.py ops   --log LOG --accounts A,B
        prints the writes the request log shows in those accounts, as JSON
        ({"CreateKey": 7, "CreatePolicy": 2, ...}): the phase the kill landed in.

    crash_check.py check --endpoint URL --log LOG --accounts A,B --regions R1,R2 \
                         --keys payments,orders,logs [--rotation-days 180]
        takes a census (every key of generation 1) and prints one JSON object:
          keys_min / keys_max   c3 keys per (name, generation, account, region), over all tuples
          keys_total            c3 keys in all (account, region)s
          duplicate_keys        tuples with more than one key
          duplicate_versions    pairs of versions of one managed policy with the same document
          problems              everything wrong, in words
        and exits 1 when there is any problem. It checks, per (account, region): exactly one
        c3-tagged key (ListKeys + ListResourceTags) per declared (c3:name, c3:generation) and none
        other, alias/<name> on it, rotation on at the period; per account and managed policy
        (allow-{encrypt,decrypt,crypto}-<name>): it exists, no two versions have the same document
        (after normalisation; URL-encoded documents are decoded), its default version names exactly
        the key ARNs of its name in the account; and that the request log shows no deleting call
        in the accounts.

Credentials: each account is reached by AssumeRole into arn:aws:iam::<account>:role/c3-check with
the dummy keys test/test (moto lands the calls in the role's account).
"""
import argparse
import json
import os
import sys
import urllib.parse
from collections import Counter, defaultdict

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (the shared helpers and the one list of forbidden operations)

WRITES = [
    "CreateKey", "EnableKeyRotation", "CreateAlias", "UpdateAlias", "PutKeyPolicy", "TagResource",
    "UpdateKeyDescription", "CancelKeyDeletion", "EnableKey", "CreatePolicy", "CreatePolicyVersion",
]
# What apply must never call, DeletePolicyVersion included: no policy of these trials comes
# near IAM's five-version limit (tests/emulator/forbidden_operations.txt).
FORBIDDEN = common.FORBIDDEN_BELOW_VERSION_LIMIT
KINDS = ["encrypt", "decrypt", "crypto"]


def log_ops(log, accounts):
    """Operation -> count in the request log, for these accounts."""
    ops = Counter()
    try:
        with open(log, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n") or not line.strip():
                    continue  # still being written
                entry = json.loads(line)
                if entry.get("account") in accounts:
                    ops[entry.get("operation", "")] += 1
    except FileNotFoundError:
        pass
    return ops


def session(endpoint, account):
    cfg = Config(retries={"max_attempts": 5, "mode": "standard"})
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/c3-check",
                            RoleSessionName="crash-check")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"]), cfg


def decode(text):
    if isinstance(text, dict):
        return text  # some SDKs hand the document over parsed
    return text if text.lstrip().startswith("{") else urllib.parse.unquote(text)


def normalise(value, key=None):
    """Canonical form of a policy document: key order, list order, a single string vs a
    one-element list (for Action, Resource and condition values) and Sids do not matter."""
    if isinstance(value, dict):
        return {k: normalise(v, k) for k, v in sorted(value.items()) if k not in ("Sid", "Id")}
    if isinstance(value, list):
        items = [normalise(v, key) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, str) and key not in ("Version", "Effect", "Sid"):
        return [value]
    return value


def resources(doc):
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    out = set()
    for s in statements:
        r = s.get("Resource", [])
        out.update([r] if isinstance(r, str) else r)
    return out


def census(args):
    accounts = args.accounts.split(",")
    regions = args.regions.split(",")
    names = args.keys.split(",")
    problems = []
    per_tuple = {}
    duplicate_versions = 0
    for account in accounts:
        sess, cfg = session(args.endpoint, account)
        arns = defaultdict(set)
        for region in regions:
            kms = sess.client("kms", endpoint_url=args.endpoint, region_name=region, config=cfg)
            found = defaultdict(list)
            for page in kms.get_paginator("list_keys").paginate():
                for k in page["Keys"]:
                    tags = {}
                    for tpage in kms.get_paginator("list_resource_tags").paginate(KeyId=k["KeyId"]):
                        tags.update({t["TagKey"]: t["TagValue"] for t in tpage["Tags"]})
                    if tags.get("c3:managed") != "true":
                        continue
                    name, gen = tags.get("c3:name", ""), tags.get("c3:generation", "")
                    found[(name, gen)].append(k["KeyId"])
                    arns[name].add(k["KeyArn"])
                    rot = kms.get_key_rotation_status(KeyId=k["KeyId"])
                    if not rot.get("KeyRotationEnabled") or \
                            rot.get("RotationPeriodInDays") != args.rotation_days:
                        problems.append(
                            f"{account} {region}: key {k['KeyId']} rotation "
                            f"{rot.get('KeyRotationEnabled')} every {rot.get('RotationPeriodInDays')}"
                            f" days, not on every {args.rotation_days}")
            for name in names:
                ids = found.get((name, "1"), [])
                per_tuple[(name, "1", account, region)] = len(ids)
                if len(ids) != 1:
                    problems.append(f"{account} {region}: {len(ids)} c3 keys of {name} "
                                    f"generation 1, not 1: {ids}")
            for (name, gen), ids in found.items():
                if name not in names or gen != "1":
                    per_tuple[(name, gen, account, region)] = len(ids)
                    problems.append(f"{account} {region}: unexpected c3 key(s) {ids} of "
                                    f"{name} generation {gen}")
            aliases = {}
            for page in kms.get_paginator("list_aliases").paginate():
                for a in page["Aliases"]:
                    aliases[a["AliasName"]] = a.get("TargetKeyId")
            for name in names:
                ids = found.get((name, "1"), [])
                target = aliases.get(f"alias/{name}")
                if len(ids) != 1 or target != ids[0]:
                    problems.append(f"{account} {region}: alias/{name} points at {target}, "
                                    f"not at the one key of generation 1 ({ids})")
        iam = sess.client("iam", endpoint_url=args.endpoint, region_name="us-east-1", config=cfg)
        for name in names:
            for kind in KINDS:
                arn = f"arn:aws:iam::{account}:policy/allow-{kind}-{name}"
                try:
                    default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                except iam.exceptions.NoSuchEntityException:
                    problems.append(f"{account}: {arn} is missing")
                    continue
                seen = {}
                for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
                    vid = v["VersionId"]
                    text = iam.get_policy_version(PolicyArn=arn, VersionId=vid)[
                        "PolicyVersion"]["Document"]
                    doc = decode(text)
                    doc = json.loads(doc) if isinstance(doc, str) else doc
                    if vid == default and resources(doc) != arns[name]:
                        problems.append(f"{account}: {arn} ({vid}) names {sorted(resources(doc))}"
                                        f", not the key ARNs {sorted(arns[name])}")
                    canon = json.dumps(normalise(doc), sort_keys=True)
                    if canon in seen:
                        duplicate_versions += 1
                        problems.append(f"{account}: {arn} versions {seen[canon]} and {vid} have "
                                        "the same document")
                    else:
                        seen[canon] = vid
        ops = log_ops(args.log, {account})
        for op in FORBIDDEN:
            if ops.get(op):
                problems.append(f"{account}: {op} was called {ops[op]} time(s)")
    counts = list(per_tuple.values()) or [0]
    result = {
        "keys_min": min(counts),
        "keys_max": max(counts),
        "keys_total": sum(counts),
        "duplicate_keys": sum(1 for n in counts if n > 1),
        "duplicate_versions": duplicate_versions,
        "problems": problems,
    }
    print(json.dumps(result))
    return 1 if problems else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    o = sub.add_parser("ops", help="writes in the request log, as JSON")
    o.add_argument("--log", required=True)
    o.add_argument("--accounts", required=True)
    c = sub.add_parser("check", help="the census; exit 1 on any problem")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--log", required=True)
    c.add_argument("--accounts", required=True)
    c.add_argument("--regions", required=True)
    c.add_argument("--keys", required=True)
    c.add_argument("--rotation-days", type=int, default=180)
    args = p.parse_args()
    if args.command == "ops":
        ops = log_ops(args.log, set(args.accounts.split(",")))
        print(json.dumps({op: ops.get(op, 0) for op in WRITES + FORBIDDEN if ops.get(op)}))
        return 0
    return census(args)


if __name__ == "__main__":
    sys.exit(main())
