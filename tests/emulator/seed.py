"""Seed a c3-shaped estate on the emulator quickly, and write the keys.toml that describes it.

usage: ENDPOINT=http://127.0.0.1:PORT python seed.py --out keys.toml --first-account 100000000000 \\
           --accounts 10 --regions eu-west-1,eu-central-1 --keys 30 [--foreign 2] [--threads 16]
       python seed.py --out keys.toml ... --no-seed      # only write keys.toml (e.g. for an apply)

The estate: N accounts (ids first-account, first-account+1, ...), each with the same regions, and
K key names declared in every account and region (so K keys per (account, region)). Everything is
created exactly as c3 apply would create it (src/plan/desired.rs, src/apply/writer.rs), so
`c3 plan` on the written keys.toml shows no difference:
  * per (account, region, name): CreateKey (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, not multi-region)
    with c3's key policy, the default description and the tags c3:managed/name/classification/
    generation plus the user's; EnableKeyRotation at the period; CreateAlias alias/<name>;
  * per (account, name): CreatePolicy allow-encrypt-/allow-decrypt-/allow-crypto-<name> under the
    policy path, naming the key ARNs of that name in every region of the account, tagged
    c3:managed=true and c3:name=<name> (c3 writes only to a policy tagged with both).
The keys carry exactly c3's four tags and the declared user tag (an undeclared tag would be
reported) and no grants (c3 reports every grant that is not an AWS service's for an AWS resource).
Optionally --foreign F keys per (account, region) that c3 does not manage (no c3 tags, own alias).
Each account is entered by AssumeRole (moto lets any role be assumed), as c3 does.
Fast only with moto_c3_server.py, whose CreateKey skips moto's RSA key generation.
"""
import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

POLICY_VERSION = "2012-10-17"
VIA_SERVICE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                       "kms:CreateGrant", "kms:DescribeKey"]
SERVICE_PRINCIPAL_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                             "kms:DescribeKey"]
# name: (rotation_days, via_services, service_principals), as in examples/multi-account.toml
CLASSIFICATIONS = {
    "confidential": (90, ["s3", "secretsmanager"], []),
    "internal": (365, ["s3"], []),
    "logging": (365, [], ["logs"]),
}
ROLE_NAME = "c3-bench"


@dataclass
class Estate:
    name: str
    first_account: int
    accounts: int
    regions: list
    keys: int  # key names, each in every (account, region)
    foreign: int = 0
    policy_path: str = "/c3/"
    parallelism: int = 16
    writes_per_second: int = 3
    read_grants: bool = True  # [settings] read_grants: ListGrants of every managed key
    grant_reads_per_second: int = 50  # [settings] grant_reads_per_second: c3's pacing of ListGrants
    account_ids: list = field(init=False)

    def __post_init__(self):
        self.account_ids = [f"{self.first_account + i:012d}" for i in range(self.accounts)]

    def key_names(self):
        return [f"k{i:04d}" for i in range(self.keys)]

    def targets(self):
        return [(a, r) for a in self.account_ids for r in self.regions]

    @property
    def managed_keys(self):
        return self.accounts * len(self.regions) * self.keys


def key_spec(i, name):
    classification = list(CLASSIFICATIONS)[i % len(CLASSIFICATIONS)]
    rotation, via, principals = CLASSIFICATIONS[classification]
    return {
        "name": name,
        "classification": classification,
        "description": f"Managed by c3: {name} ({classification})",
        "rotation_days": rotation,
        "via_services": sorted(via),
        "service_principals": sorted(principals),
        "tags": {"team": f"team-{i % 7}"},
    }


def sid_part(service):
    return "".join(p[:1].upper() + p[1:] for p in service.split("-"))


def key_policy(spec, account, region):
    """c3's key policy for a key in (account, region): desired.rs key_policy()."""
    statements = [{
        "Sid": "EnableRootAccess",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }]
    for svc in spec["via_services"]:
        statements.append({
            "Sid": f"AllowViaService{sid_part(svc)}",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": VIA_SERVICE_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:CallerAccount": account,
                "kms:ViaService": f"{svc}.{region}.amazonaws.com",
            }},
        })
    for svc in spec["service_principals"]:
        statements.append({
            "Sid": f"AllowService{sid_part(svc)}",
            "Effect": "Allow",
            "Principal": {"Service": f"{svc}.{region}.amazonaws.com"},
            "Action": SERVICE_PRINCIPAL_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        })
    return {"Version": POLICY_VERSION, "Id": "c3-key-policy", "Statement": statements}


def managed_policies(name, arns):
    """{policy name: document} of the three managed policies: desired.rs managed_policy()."""
    arns = sorted(arns)
    return {
        f"allow-encrypt-{name}": {"Version": POLICY_VERSION, "Statement": [{
            "Sid": "AllowEncrypt", "Effect": "Allow",
            "Action": ["kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncryptTo"],
            "Resource": arns}]},
        f"allow-decrypt-{name}": {"Version": POLICY_VERSION, "Statement": [{
            "Sid": "AllowDecrypt", "Effect": "Allow",
            "Action": ["kms:DescribeKey", "kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": arns}]},
        f"allow-crypto-{name}": {"Version": POLICY_VERSION, "Statement": [
            {"Sid": "AllowCrypto", "Effect": "Allow",
             "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*",
                        "kms:ReEncrypt*"],
             "Resource": arns},
            {"Sid": "AllowGrantsForAwsResources", "Effect": "Allow", "Action": ["kms:CreateGrant"],
             "Resource": arns, "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}]},
    }


def toml_str(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string for these characters


def keys_toml(estate):
    """The keys.toml that declares the estate."""
    out = [
        f"# benchmark estate {estate.name}: {estate.accounts} account(s) x {len(estate.regions)} region(s)"
        f" x {estate.keys} key(s) (written by tests/emulator/seed.py)",
        "version = 1",
        "",
        "[settings]",
        f"policy_path = {toml_str(estate.policy_path)}",
        'session_name = "c3-bench"',
        f"parallelism = {estate.parallelism}",
        f"writes_per_second = {estate.writes_per_second}",
        f"read_grants = {'true' if estate.read_grants else 'false'}",
        f"grant_reads_per_second = {estate.grant_reads_per_second}",
        "",
    ]
    for i, account in enumerate(estate.account_ids):
        out += [
            f"[accounts.a{i:03d}]",
            f'id = "{account}"',
            f'role_arn = "arn:aws:iam::{account}:role/{ROLE_NAME}"',
            "regions = [" + ", ".join(toml_str(r) for r in estate.regions) + "]",
            "",
        ]
    for name, (rotation, via, principals) in CLASSIFICATIONS.items():
        out.append(f"[classifications.{name}]")
        out.append(f"rotation_days = {rotation}")
        if via:
            out.append("via_services = [" + ", ".join(toml_str(s) for s in via) + "]")
        if principals:
            out.append("service_principals = [" + ", ".join(toml_str(s) for s in principals) + "]")
        out.append("")
    for i, name in enumerate(estate.key_names()):
        spec = key_spec(i, name)
        tags = ", ".join(f"{k} = {toml_str(v)}" for k, v in spec["tags"].items())
        out += ["[[keys]]", f'name = "{name}"', f'classification = "{spec["classification"]}"',
                f"tags = {{ {tags} }}", ""]
    return "\n".join(out)


class Seeder:
    def __init__(self, endpoint, threads=16):
        self.endpoint = endpoint
        self.threads = threads
        self.config = Config(retries={"total_max_attempts": 6, "mode": "standard"},
                             max_pool_connections=threads * 2, connect_timeout=10, read_timeout=60)
        self.calls = 0
        self.lock = threading.Lock()

    def count(self, n=1):
        with self.lock:
            self.calls += n

    def credentials(self, sts, account):
        """Client keyword arguments for an account, entered by AssumeRole."""
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE_NAME}",
                                RoleSessionName="c3-bench-seed")["Credentials"]
        self.count()
        return {"endpoint_url": self.endpoint, "aws_access_key_id": creds["AccessKeyId"],
                "aws_secret_access_key": creds["SecretAccessKey"], "aws_session_token": creds["SessionToken"],
                "config": self.config}

    def seed(self, estate, log=print):
        t0 = time.monotonic()
        names = estate.key_names()
        specs = {name: key_spec(i, name) for i, name in enumerate(names)}
        # One boto3 session: clients are made here, in this thread; calls on them are thread-safe.
        sess = boto3.session.Session()
        sts = sess.client("sts", region_name="us-east-1", endpoint_url=self.endpoint,
                          aws_access_key_id="bench", aws_secret_access_key="bench", config=self.config)
        with ThreadPoolExecutor(self.threads) as pool:
            creds = dict(zip(estate.account_ids, pool.map(lambda a: self.credentials(sts, a), estate.account_ids)))
            kms = {(a, r): sess.client("kms", region_name=r, **creds[a]) for a, r in estate.targets()}
            iam = {a: sess.client("iam", region_name="us-east-1", **creds[a]) for a in estate.account_ids}

            def create(job):
                account, region, name = job
                client = kms[(account, region)]
                spec = specs[name]
                tags = {"c3:managed": "true", "c3:name": name, "c3:classification": spec["classification"],
                        "c3:generation": "1", **spec["tags"]}
                meta = client.create_key(
                    Policy=json.dumps(key_policy(spec, account, region), indent=2),
                    Description=spec["description"], KeySpec="SYMMETRIC_DEFAULT",
                    KeyUsage="ENCRYPT_DECRYPT", MultiRegion=False,
                    Tags=[{"TagKey": k, "TagValue": v} for k, v in sorted(tags.items())],
                )["KeyMetadata"]
                client.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=spec["rotation_days"])
                client.create_alias(AliasName=f"alias/{name}", TargetKeyId=meta["KeyId"])
                self.count(3)
                return (account, region, name), meta["Arn"]

            def foreign(job):
                account, region, i = job
                client = kms[(account, region)]
                key_id = client.create_key(Description=f"not c3's ({i})",
                                           Tags=[{"TagKey": "owner", "TagValue": "someone-else"}])["KeyMetadata"]["KeyId"]
                client.create_alias(AliasName=f"alias/foreign-{i:03d}", TargetKeyId=key_id)
                self.count(2)

            jobs = [(a, r, n) for a in estate.account_ids for r in estate.regions for n in names]
            arns = dict(pool.map(create, jobs, chunksize=8))
            t_keys = time.monotonic()
            list(pool.map(foreign, [(a, r, i) for a in estate.account_ids for r in estate.regions
                                    for i in range(estate.foreign)]))

            def policies(job):
                account, name = job
                docs = managed_policies(name, [arns[(account, r, name)] for r in estate.regions])
                for policy_name, doc in docs.items():
                    iam[account].create_policy(
                        PolicyName=policy_name, Path=estate.policy_path,
                        PolicyDocument=json.dumps(doc, indent=2), Description="Managed by c3",
                        Tags=[{"Key": "c3:managed", "Value": "true"}, {"Key": "c3:name", "Value": name}])
                self.count(3)

            list(pool.map(policies, [(a, n) for a in estate.account_ids for n in names], chunksize=4))
        elapsed = time.monotonic() - t0
        log(f"seeded {estate.name}: {len(jobs)} c3 keys, {estate.foreign * len(estate.targets())} foreign keys, "
            f"{len(estate.account_ids) * len(names) * 3} managed policies in {elapsed:.1f} s "
            f"(keys {t_keys - t0:.1f} s), {self.calls} calls")
        return elapsed


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="write the estate's keys.toml here")
    p.add_argument("--name", default="estate")
    p.add_argument("--first-account", type=int, required=True)
    p.add_argument("--accounts", type=int, default=1)
    p.add_argument("--regions", default="eu-west-1")
    p.add_argument("--keys", type=int, default=10, help="key names, each in every (account, region)")
    p.add_argument("--foreign", type=int, default=0, help="keys c3 does not manage, per (account, region)")
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--no-read-grants", action="store_true", help="write [settings] read_grants = false")
    p.add_argument("--no-seed", action="store_true", help="only write keys.toml")
    args = p.parse_args(argv)
    estate = Estate(args.name, args.first_account, args.accounts, args.regions.split(","), args.keys, args.foreign,
                    read_grants=not args.no_read_grants)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(keys_toml(estate))
    if not args.no_seed:
        endpoint = os.environ.get("ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            raise SystemExit("seed.py: set ENDPOINT (or AWS_ENDPOINT_URL) to the emulator")
        Seeder(endpoint, args.threads).seed(estate)


if __name__ == "__main__":
    main(sys.argv[1:])
