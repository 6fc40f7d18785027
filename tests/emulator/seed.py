"""Seed a c3-shaped estate on the emulator quickly, and write the keys.toml that describes it.

usage: ENDPOINT=http://127.0.0.1:PORT python seed.py --c3 target/release/c3 --out keys.toml \\
           --first-account 100000000000 --accounts 10 --regions eu-west-1,eu-central-1 --keys 30 \\
           [--foreign 2] [--threads 16]
       python seed.py --out keys.toml ... --no-seed      # only write keys.toml (e.g. for an apply)

The estate: N accounts (ids first-account, first-account+1, ...), each with the same regions, and
K key names declared in every account and region (so K keys per (account, region)), in three
classifications, each key with a user tag.

What to create comes from c3 itself, not from a copy of its rules: seed.py runs
`c3 plan -c keys.toml --output json` once against the still empty accounts and checks that it has
no errors and only the operations of a first apply (docs/output-json.md). Then it does what those
operations say, as c3 apply would (src/apply), only faster:
  * per create_key: CreateKey (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, not multi-region, as
    src/apply/writer.rs) with the operation's policy text, description and tags, then
    EnableKeyRotation at its rotation_days;
  * per create_alias: CreateAlias to the key just created for that (account, region, name);
  * per create_policy (once every key exists): CreatePolicy with the operation's name, path and
    tags, and its document with each pending key ARN `arn:...:key/(new key <name>, generation <g>)`
    replaced by the ARN CreateKey returned (src/apply resolve_document), description
    "Managed by c3" (src/apply/writer.rs).
So `c3 plan` of the written keys.toml then shows no difference (bench.py checks that).
Optionally --foreign F keys per (account, region) that c3 does not manage (no c3 tags, own alias):
these are not c3's, so they are made here.
Each account is entered by AssumeRole (moto lets any role be assumed), as c3 does.
Fast only with moto_c3_server.py, whose CreateKey skips moto's RSA key generation.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

# name: (rotation_days, via_services, service_principals), as in examples/multi-account.toml.
# Input for keys.toml only: what c3 makes of it comes from c3's plan.
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
    multi_region: bool = False  # every key multi_region = true, primary in the first region (apply only)
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
    """The declaration of the i-th key name in keys.toml."""
    return {"name": name, "classification": list(CLASSIFICATIONS)[i % len(CLASSIFICATIONS)],
            "tags": {"team": f"team-{i % 7}"}}


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
                f"tags = {{ {tags} }}"]
        if estate.multi_region:
            out += ["multi_region = true", f"primary_region = {toml_str(estate.regions[0])}"]
        out.append("")
    return "\n".join(out)


def c3_env(endpoint):
    """The environment c3 runs in against the emulator (bench.py runs c3 in it too): no AWS_ or C3_
    variable of the caller's, the endpoint, static credentials, no instance metadata, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "C3_"))}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "C3_COLOR": "never",
                "NO_COLOR": "1"})
    return env


# A key this plan creates, as c3 names it in documents (src/plan/desired.rs pending_arn):
# arn:<partition>:kms:<region>:<account>:key/(new key <name>, generation <g>).
PENDING_ARN = re.compile(r"arn:[a-z-]+:kms:([a-z0-9-]+):(\d{12}):key/\(new key ([^,()]+), generation (\d+)\)")
KMS_OPS = ("create_key", "create_alias")  # in the order apply runs them for one key (Operation::step_order)


@dataclass
class Plan:
    """c3's plan of an empty estate, as what seed.py creates from it."""
    keys: dict  # (account, region, name) -> [operation, ...] in step order (create_key, create_alias)
    policies: dict  # (account, name) -> [create_policy operation, ...]
    seconds: float

    @property
    def create_keys(self):
        return sum(1 for ops in self.keys.values() for op in ops if op["op"] == "create_key")

    @property
    def create_policies(self):
        return sum(len(ops) for ops in self.policies.values())


def plan_empty_estate(c3, endpoint, toml_path):
    """Runs `c3 plan -c toml_path --output json` against the emulator and returns its operations.

    Stops (SystemExit) unless c3 exits 0 with no errors and every change is an executable
    create_key, create_alias or create_policy: what c3 plans for accounts that hold nothing yet."""
    t0 = time.monotonic()
    cmd = [c3, "plan", "-c", toml_path, "--output", "json"]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=c3_env(endpoint), check=False)
    except OSError as e:
        raise SystemExit(f"seed.py: cannot run c3 ({c3}): {e}") from e
    seconds = time.monotonic() - t0
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"seed.py: `{' '.join(cmd)}` exited {proc.returncode}:\n{stderr[-3000:]}")
    try:
        doc = json.loads(proc.stdout)
    except ValueError as e:
        raise SystemExit(f"seed.py: c3 plan did not print JSON ({e}): {proc.stdout[:500]!r}") from e
    if doc.get("errors"):
        raise SystemExit(f"seed.py: c3's plan of the empty estate has {len(doc['errors'])} error(s):\n"
                         + json.dumps(doc["errors"][:20], indent=1))
    keys, policies, unexpected = collections.defaultdict(list), collections.defaultdict(list), []
    for change in doc.get("changes", []):
        op = change.get("operation") or {}
        if change.get("executable") and op.get("op") in KMS_OPS and change.get("region"):
            keys[(change["account"], change["region"], change["key"])].append(op)
        elif change.get("executable") and op.get("op") == "create_policy" and change.get("region") is None:
            policies[(change["account"], change["key"])].append(op)
        else:
            unexpected.append(change)
    for (account, region, name), ops in keys.items():
        ops.sort(key=lambda op: KMS_OPS.index(op["op"]))
        kinds = [op["op"] for op in ops]
        new = [op.get("key", {}).get("new", {}).get("generation") for op in ops if op["op"] == "create_alias"]
        if kinds.count("create_key") != 1 or any(g != ops[0].get("generation") for g in new):
            unexpected.append({"account": account, "region": region, "key": name, "operations": ops})
    if unexpected:
        raise SystemExit(f"seed.py: c3's plan of the estate is not that of empty accounts ({len(unexpected)} "
                         "change(s) other than a new key with its alias, or a new managed policy; are the "
                         "accounts fresh?):\n" + json.dumps(unexpected[:10], indent=1)[:5000])
    return Plan(dict(keys), dict(policies), seconds)


def resolve_document(document, account, arns):
    """The document with each pending ARN of a key created in this account replaced by its real ARN
    (src/apply resolve_document); arns: (account, region, name, generation) -> ARN."""
    def real(m):
        region, acct, name, generation = m.group(1), m.group(2), m.group(3), int(m.group(4))
        arn = arns.get((acct, region, name, generation)) if acct == account else None
        if arn is None:
            raise SystemExit(f"seed.py: a policy of account {account} names {m.group(0)}, which was not created")
        return arn
    text = PENDING_ARN.sub(real, document)
    if ":key/(new key " in text:
        raise SystemExit(f"seed.py: a policy of account {account} names a new key in a form seed.py does not "
                         f"know:\n{text[:2000]}")
    return text


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

    def seed(self, estate, plan, log=print):
        """Creates what `plan` (plan_empty_estate of the estate's keys.toml) says, and the foreign keys."""
        if plan.create_keys != estate.managed_keys:
            raise SystemExit(f"seed.py: c3 plans {plan.create_keys} new keys for estate {estate.name}, "
                             f"which declares {estate.managed_keys} (are the accounts fresh?)")
        t0 = time.monotonic()
        accounts = sorted({a for a, _, _ in plan.keys} | {a for a, _ in plan.policies} | set(estate.account_ids))
        targets = sorted({(a, r) for a, r, _ in plan.keys} | set(estate.targets()))
        # One boto3 session: clients are made here, in this thread; calls on them are thread-safe.
        sess = boto3.session.Session()
        sts = sess.client("sts", region_name="us-east-1", endpoint_url=self.endpoint,
                          aws_access_key_id="bench", aws_secret_access_key="bench", config=self.config)
        with ThreadPoolExecutor(self.threads) as pool:
            creds = dict(zip(accounts, pool.map(lambda a: self.credentials(sts, a), accounts)))
            kms = {(a, r): sess.client("kms", region_name=r, **creds[a]) for a, r in targets}
            iam = {a: sess.client("iam", region_name="us-east-1", **creds[a]) for a in accounts}

            def create(job):
                (account, region, name), ops = job
                client = kms[(account, region)]
                created = {}  # generation -> (key id, ARN)
                for op in ops:
                    if op["op"] == "create_key":
                        meta = client.create_key(
                            Policy=op["policy"], Description=op["description"], KeySpec="SYMMETRIC_DEFAULT",
                            KeyUsage="ENCRYPT_DECRYPT", MultiRegion=False,
                            Tags=[{"TagKey": k, "TagValue": v} for k, v in sorted(op["tags"].items())],
                        )["KeyMetadata"]
                        client.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=op["rotation_days"])
                        created[op["generation"]] = (meta["KeyId"], meta["Arn"])
                        self.count(2)
                    else:  # create_alias of the key just created (plan_empty_estate checked the generation)
                        key_id, _ = created[op["key"]["new"]["generation"]]
                        client.create_alias(AliasName=op["alias"], TargetKeyId=key_id)
                        self.count()
                return [((account, region, name, g), arn) for g, (_, arn) in created.items()]

            def foreign(job):
                account, region, i = job
                client = kms[(account, region)]
                key_id = client.create_key(Description=f"not c3's ({i})",
                                           Tags=[{"TagKey": "owner", "TagValue": "someone-else"}])["KeyMetadata"]["KeyId"]
                client.create_alias(AliasName=f"alias/foreign-{i:03d}", TargetKeyId=key_id)
                self.count(2)

            arns = dict(pair for pairs in pool.map(create, plan.keys.items(), chunksize=8) for pair in pairs)
            t_keys = time.monotonic()
            list(pool.map(foreign, [(a, r, i) for a, r in estate.targets() for i in range(estate.foreign)]))

            def policies(job):
                (account, _name), ops = job
                for op in ops:
                    iam[account].create_policy(
                        PolicyName=op["name"], Path=op["path"],
                        PolicyDocument=resolve_document(op["document"], account, arns), Description="Managed by c3",
                        Tags=[{"Key": k, "Value": v} for k, v in sorted(op["tags"].items())])
                    self.count()

            list(pool.map(policies, plan.policies.items(), chunksize=4))
        elapsed = time.monotonic() - t0
        log(f"seeded {estate.name} from c3's plan ({plan.seconds:.1f} s): {plan.create_keys} c3 keys, "
            f"{estate.foreign * len(estate.targets())} foreign keys, {plan.create_policies} managed policies "
            f"in {elapsed:.1f} s (keys {t_keys - t0:.1f} s), {self.calls} calls")
        return elapsed


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--c3", help="the c3 binary, whose plan of the empty estate says what to create "
                                "(required unless --no-seed)")
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
    if not args.no_seed and not args.c3:
        p.error("--c3 is required to seed (seed.py creates what c3's plan of the empty estate says)")
    estate = Estate(args.name, args.first_account, args.accounts, args.regions.split(","), args.keys, args.foreign,
                    read_grants=not args.no_read_grants)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(keys_toml(estate))
    if not args.no_seed:
        endpoint = os.environ.get("ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            raise SystemExit("seed.py: set ENDPOINT (or AWS_ENDPOINT_URL) to the emulator")
        plan = plan_empty_estate(args.c3, endpoint, args.out)
        Seeder(endpoint, args.threads).seed(estate, plan)


if __name__ == "__main__":
    main(sys.argv[1:])
