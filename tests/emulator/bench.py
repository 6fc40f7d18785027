"""The c3 performance benchmark's driver (scripts/bench.sh runs it; docs/performance.md explains it).

usage: python bench.py --c3 target/release/c3 --endpoint http://127.0.0.1:PORT --log REQUEST_LOG
                       --out DIR [--quick] [--runs 3] [--only A,B,C,M,W,R,I]

Against a running moto_c3_server.py (with its request log), through proxies of our own
(proxy.py, one at 0 ms and one at --latency-ms added delay per request):
  1. seeds each estate in fresh accounts (seed.py: it creates what c3's own plan of the empty
     accounts says) and checks that `c3 plan` shows no difference;
  2. plans each estate --runs times at 0 ms and at the added latency, once with the grants read
     (the default) and once with `[settings] read_grants = false`: wall time (median), peak RSS
     of the c3 process (GNU time %M), c3 CPU time, API calls (the emulator's request log), the
     critical path and the lower bound, the larger of
       critical_path x latency + calls x latency / parallelism                    (the calls bound)
       (round trips before the detail reads + 1) x latency + (n - 1) / grant_reads_per_second
                                    (the grant pacing bound; n = ListGrants of the busiest target);
  3. plans a 10,000-key estate once for peak RSS;
  4. applies 10 new keys in each of 6 targets at the added latency, against c3's write pacing;
  5. (estate I) `c3 import` of 500 keys in one account and region against `c3 plan` of the same
     estate (c3's keys: what an adopted estate is), --runs times each at 0 ms and the added latency.
  6. (estate U) `c3 audit` of 1,000 keys in one account and region that keys.toml does not declare
     (each read like a key c3 does not manage, GetKeyLastUsage included), --runs times each at 0 ms
     and the added latency, against its lower bound computed like the plan's (analyse_audit_calls).
Prints markdown tables and writes DIR/results.md and DIR/results.json.
"""
import argparse
import collections
import dataclasses
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import seed  # noqa: E402

REGIONS10 = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
             "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-southeast-1"]
R3 = ["eu-west-1", "eu-central-1", "us-east-1"]
# The calls c3 makes per managed key (ListGrants only with read_grants, the default).
PER_KEY_OPS = ("ListResourceTags", "DescribeKey", "GetKeyRotationStatus", "GetKeyPolicy", "ListGrants")
DETAIL_OPS = ("DescribeKey", "GetKeyRotationStatus", "GetKeyPolicy", "ListGrants")  # one concurrent round
ESTATE_NAMES = ("A", "B", "C", "M", "W", "R", "I", "U")
WRITE_OPS = ("CreateKey", "ReplicateKey", "EnableKeyRotation", "CreateAlias", "CreatePolicy")


def estates(quick):
    """(plan estates, memory estate or None, apply estate). Account ids never overlap."""
    if quick:
        plan = [seed.Estate("A", 100_000_000_000, 1, ["eu-west-1"], 100),
                seed.Estate("B", 200_000_000_000, 2, R3[:2], 5),
                seed.Estate("C", 300_000_000_000, 10, ["eu-west-1"], 2)]
        return plan, None, seed.Estate("W", 500_000_000_000, 2, R3, 3)
    # The import estate is import_estate().
    plan = [seed.Estate("A", 100_000_000_000, 1, ["eu-west-1"], 1000),
            seed.Estate("B", 200_000_000_000, 10, R3, 30),
            seed.Estate("C", 300_000_000_000, 100, ["eu-west-1"], 5)]
    return plan, seed.Estate("M", 400_000_000_000, 1, REGIONS10, 1000), seed.Estate("W", 500_000_000_000, 2, R3, 10)


def multi_region_estate(quick):
    """The multi-Region apply estate: W's shape, every key multi-Region (primary in eu-west-1, a replica
    in each other region of each account)."""
    return seed.Estate("R", 800_000_000_000, 2, R3, 3 if quick else 10, multi_region=True)


def audit_estate(quick):
    """The estate `c3 audit` is timed on: 1,000 keys (100 quick) in one account and region."""
    return seed.Estate("U", 700_000_000_000, 1, ["eu-west-1"], 100 if quick else 1000)


def import_estate(quick):
    """The estate `c3 import` is timed on: 500 keys (50 quick) in one account and region."""
    return seed.Estate("I", 600_000_000_000, 1, ["eu-west-1"], 50 if quick else 500)


class RequestLog:
    """Reads the emulator's request log incrementally: the calls of one run."""

    def __init__(self, path):
        self.path = path
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0

    def skip(self):
        self.offset = os.path.getsize(self.path)

    def take(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        return [json.loads(line) for line in data[:end].splitlines() if line.strip()]


class Proxy:
    def __init__(self, upstream, delay_ms, stats):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "proxy.py"), "--upstream", upstream, "--port", "0",
             "--delay-ms", str(delay_ms), "--stats", stats],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"
        self.delay_ms = delay_ms

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


TIME = "/usr/bin/time"


def run_c3(c3, args, endpoint, env_extra=None, line_times=False):
    """Runs c3; returns dict(wall, rss_mb, rss_source, code, stdout, stderr, lines).

    Peak RSS: not from os.wait4 on a child of this process, because Linux carries the high-water
    mark of the pre-exec (v)forked Python image into the child's ru_maxrss, so it would report at
    least this Python process's RSS. GNU time forks from a ~2 MB image instead (`-f %M`); without
    it, VmHWM of /proc/PID/status (the high-water mark of c3's own address space) is sampled every
    20 ms until c3 exits."""
    env = seed.c3_env(endpoint)
    env.update(env_extra or {})
    rss_file = None
    cmd = [c3, *args]
    if os.access(TIME, os.X_OK):
        fd, rss_file = tempfile.mkstemp(prefix="c3-bench-rss-")
        os.close(fd)
        cmd = [TIME, "-f", "%M", "-o", rss_file, *cmd]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    hwm = [0]
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            try:
                with open(f"/proc/{proc.pid}/status", encoding="utf-8") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            hwm[0] = max(hwm[0], int(line.split()[1]))
            except (OSError, ValueError):
                pass

    lines = []  # (seconds since start, stream, text)
    chunks = {"stdout": [], "stderr": []}

    def pump(stream, name):
        for raw in iter(stream.readline, b""):
            chunks[name].append(raw)
            if line_times:
                lines.append((time.perf_counter() - t0, name, raw.decode("utf-8", "replace").rstrip("\n")))
        stream.close()

    pumps = [threading.Thread(target=pump, args=(proc.stdout, "stdout")),
             threading.Thread(target=pump, args=(proc.stderr, "stderr"))]
    if rss_file is None:
        pumps.append(threading.Thread(target=sample))
    for p in pumps:
        p.start()
    # CPU time from wait4: with GNU time in between it includes c3, which GNU time waited for.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    for p in pumps:
        p.join()
    if rss_file is not None:
        with open(rss_file, encoding="utf-8") as f:
            text = f.read().split()
        os.unlink(rss_file)
        # GNU time prints "Command exited with non-zero status N" before the format's output.
        rss_kb, source = int(text[-1]), "GNU time %M"
    else:
        rss_kb, source = hwm[0], "VmHWM sampled every 20 ms"
    return {"wall": wall, "rss_mb": rss_kb / 1024, "rss_source": source, "code": proc.returncode,
            "cpu": usage.ru_utime + usage.ru_stime,
            "stdout": b"".join(chunks["stdout"]).decode("utf-8", "replace"),
            "stderr": b"".join(chunks["stderr"]).decode("utf-8", "replace"), "lines": lines}


def count_calls(entries):
    """The calls of a run from its request-log lines: per operation; per (account, region) and
    operation (KMS); per account and operation (IAM); and most_pages(scope, operation), the most
    calls of that operation on one key (KeyId) or policy (PolicyArn) of the scope: its pages."""
    ops = collections.Counter(e["operation"] for e in entries)
    kms = collections.defaultdict(collections.Counter)  # (account, region) -> operation -> calls
    iam = collections.defaultdict(collections.Counter)  # account -> operation -> calls
    pages = collections.defaultdict(collections.Counter)  # (target or account, operation) -> item -> calls
    for e in entries:
        params = e.get("params") or {}
        if e["service"] == "kms":
            target = (e["account"], e["region"])
            kms[target][e["operation"]] += 1
            if "KeyId" in params:
                pages[(target, e["operation"])][params["KeyId"]] += 1
        elif e["service"] == "iam":
            iam[e["account"]][e["operation"]] += 1
            if "PolicyArn" in params:
                pages[(e["account"], e["operation"])][params["PolicyArn"]] += 1

    def most_pages(scope, operation):
        listing = pages.get((scope, operation))
        return max(listing.values()) if listing else 0

    return ops, kms, iam, most_pages


def analyse_calls(entries, estate, latency_ms):
    """Counts, critical path (round trips) and lower bound of one plan run, from its request-log lines.

    c3's structure (src/live): connect (AssumeRole, GetCallerIdentity); then, concurrently, per account
    the IAM chain (the GetAccountAuthorizationDetails pages, then one round of ListPolicyTags of every
    c3-named policy, with GetPolicyVersion where a document is missing) and per (account, region) the
    KMS chain (the ListAliases and ListKeys pages, concurrent; one round of ListResourceTags of every
    key; then one round of the detail reads DescribeKey, GetKeyRotationStatus, GetKeyPolicy and
    ListGrants of every managed key, where a key's further pages of grants add a round each).
    A round lasts as long as the key with the most pages: the log names the key (KeyId) or policy
    (PolicyArn) of each call."""
    ops, kms, iam, most_pages = count_calls(entries)

    connect = (1 if ops["AssumeRole"] else 0) + (1 if ops["GetCallerIdentity"] else 0)
    lat = latency_ms / 1000
    region_chain, pacing_bound, busiest = 0, 0.0, 0
    for target, c in kms.items():
        before_details = max(c["ListAliases"], c["ListKeys"]) + most_pages(target, "ListResourceTags")
        details = max(1 if any(c[o] for o in DETAIL_OPS) else 0, most_pages(target, "ListGrants"))
        region_chain = max(region_chain, before_details + details)
        # ListGrants is paced per (account, region), every page included: the n calls of a target take
        # slots at least 1/rate apart, the first no earlier than the round trips before the detail
        # round, and the last one is a round trip itself.
        n = c["ListGrants"]
        if n:
            bound = (connect + before_details + 1) * lat + (n - 1) / estate.grant_reads_per_second
            pacing_bound = max(pacing_bound, bound)
            busiest = max(busiest, n)
    iam_chain = 0
    for account, c in iam.items():
        after = max(most_pages(account, "ListPolicyTags"), 1 if c["GetPolicyVersion"] else 0)
        iam_chain = max(iam_chain, c["GetAccountAuthorizationDetails"] + after)
    total = len(entries)
    critical_path = connect + max(region_chain, iam_chain)
    calls_bound = critical_path * lat + total * lat / estate.parallelism
    return {
        "calls": total,
        "ops": dict(sorted(ops.items())),
        "errors": sum(1 for e in entries if e.get("status") != 200),
        "critical_path": critical_path,
        "region_chain": region_chain,
        "iam_chain": iam_chain,
        "calls_per_key": total / estate.managed_keys,
        "per_key_calls_per_key": sum(ops[o] for o in PER_KEY_OPS) / estate.managed_keys,
        "policy_tags_per_name": ops["ListPolicyTags"] / (estate.accounts * estate.keys),
        "iam_calls": sum(sum(c.values()) for c in iam.values()),
        "assume_role": ops["AssumeRole"],
        "grant_reads_busiest_target": busiest,
        "latency_ms": latency_ms,
        "calls_bound": calls_bound,
        "pacing_bound": pacing_bound,
        "lower_bound": max(calls_bound, pacing_bound),
    }


AUDIT_PER_KEY_OPS = ("DescribeKey", "ListResourceTags", "GetKeyPolicy", "GetKeyRotationStatus", "ListGrants",
                     "GetKeyLastUsage")


def analyse_audit_calls(entries, estate, latency_ms):
    """Counts, critical path and lower bound of one `c3 audit` run (src/live/audit.rs): connect; per
    (account, region) the ListAliases and ListKeys pages (concurrent); a round of DescribeKey; a round
    of ListResourceTags, GetKeyPolicy, GetKeyRotationStatus and ListGrants (a key's further pages add a
    round each); a round of GetKeyLastUsage. The bounds are the plan's: calls bound and grant pacing."""
    ops, kms, _, most_pages = count_calls(entries)
    connect = (1 if ops["AssumeRole"] else 0) + (1 if ops["GetCallerIdentity"] else 0)
    lat = latency_ms / 1000
    chain, pacing_bound = 0, 0.0
    for target, c in kms.items():
        lists = max(c["ListAliases"], c["ListKeys"])
        parts = max(most_pages(target, "ListResourceTags"), most_pages(target, "ListGrants"),
                    1 if c["GetKeyPolicy"] else 0)
        usage = 1 if c["GetKeyLastUsage"] else 0
        chain = max(chain, lists + (1 if c["DescribeKey"] else 0) + parts + usage)
        n = c["ListGrants"]
        if n:
            bound = (connect + lists + 2) * lat + (n - 1) / estate.grant_reads_per_second
            pacing_bound = max(pacing_bound, bound)
    total = len(entries)
    critical_path = connect + chain
    calls_bound = critical_path * lat + total * lat / estate.parallelism
    return {"calls": total, "ops": dict(sorted(ops.items())), "critical_path": critical_path,
            "per_key_calls_per_key": sum(ops[o] for o in AUDIT_PER_KEY_OPS) / estate.managed_keys,
            "calls_bound": calls_bound, "pacing_bound": pacing_bound,
            "lower_bound": max(calls_bound, pacing_bound)}


def plan_ok(result):
    if result["code"] != 0:
        return False, f"exit code {result['code']}: {result['stderr'][-2000:]}"
    try:
        doc = json.loads(result["stdout"])
    except ValueError:
        return False, f"not JSON: {result['stdout'][:500]}"
    if doc.get("changes") or doc.get("errors"):
        shown = json.dumps({"changes": doc.get("changes", [])[:20], "errors": doc.get("errors", [])[:20]}, indent=1)
        return False, f"{len(doc.get('changes', []))} change(s), {len(doc.get('errors', []))} error(s):\n{shown}"
    return True, ""


class Bench:
    def __init__(self, args):
        self.args = args
        self.log = RequestLog(args.log)
        os.makedirs(args.out, exist_ok=True)
        self.proxies = {0: Proxy(args.endpoint, 0, os.path.join(args.out, "proxy-0ms.json")),
                        args.latency_ms: Proxy(args.endpoint, args.latency_ms,
                                               os.path.join(args.out, f"proxy-{args.latency_ms:g}ms.json"))}
        self.results = {"machine": machine(), "settings": {"runs": args.runs, "latency_ms": args.latency_ms,
                                                           "quick": args.quick,
                                                           "rss_source": "GNU time %M" if os.access(TIME, os.X_OK)
                                                           else "VmHWM sampled every 20 ms"},
                        "seed": [], "plan": [], "memory": None, "apply": None, "import": None,
                        "audit": None}
        self.started = time.monotonic()

    def say(self, text):
        print(f"[{time.monotonic() - self.started:6.1f} s] {text}", flush=True)

    def toml(self, estate):
        suffix = "" if estate.read_grants else "-no-grants"
        path = os.path.join(self.args.out, f"keys-{estate.name}{suffix}.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(seed.keys_toml(estate))
        return path

    def seed(self, estate):
        """Seeds the estate from c3's plan of its empty accounts. The plan's calls (reads) are counted
        apart from the seeding's (AssumeRole and the writes), which are comparable with earlier runs."""
        path = self.toml(estate)
        self.log.skip()
        plan = seed.plan_empty_estate(self.args.c3, self.args.endpoint, path)
        plan_calls = len(self.log.take())
        elapsed = seed.Seeder(self.args.endpoint, self.args.seed_threads).seed(estate, plan, log=self.say)
        calls = len(self.log.take())
        self.results["seed"].append({"estate": estate.name, "shape": shape(estate), "seconds": elapsed,
                                     "calls": calls, "keys": estate.managed_keys,
                                     "plan_seconds": plan.seconds, "plan_calls": plan_calls})
        return path

    def plan(self, estate, path, latency_ms, label=""):
        self.log.skip()
        result = run_c3(self.args.c3, ["plan", "-c", path, "--output", "json"], self.proxies[latency_ms].url)
        calls = analyse_calls(self.log.take(), estate, latency_ms)
        ok, why = plan_ok(result)
        if not ok:
            raise SystemExit(f"bench: the plan of freshly seeded estate {estate.name}{label} at {latency_ms} ms "
                             f"is not empty, so the seeding does not match c3: {why}")
        self.say(f"  plan {estate.name}{label} @{latency_ms:g} ms: {result['wall']:.2f} s (c3 CPU {result['cpu']:.2f} s), "
                 f"{result['rss_mb']:.1f} MB, {calls['calls']} calls, critical path {calls['critical_path']}, "
                 f"lower bound {calls['lower_bound']:.2f} s")
        return result, calls

    def plan_series(self, estate, path, label=""):
        row = {"estate": estate.name, "shape": shape(estate), "keys": estate.managed_keys,
               "parallelism": estate.parallelism, "read_grants": estate.read_grants,
               "grant_reads_per_second": estate.grant_reads_per_second}
        for latency in (0, self.args.latency_ms):
            runs = [self.plan(estate, path, latency, label=label) for _ in range(self.args.runs)]
            walls = [r["wall"] for r, _ in runs]
            calls = runs[-1][1]
            row[f"{latency:g}"] = {"walls": walls, "median": statistics.median(walls), "best": min(walls),
                                   "rss_mb": max(r["rss_mb"] for r, _ in runs), "calls": calls,
                                   "cpu": statistics.median(r["cpu"] for r, _ in runs),
                                   "calls_each_run": [c["calls"] for _, c in runs]}
        bounds = row[f"{self.args.latency_ms:g}"]["calls"]
        row["calls_bound"], row["pacing_bound"] = bounds["calls_bound"], bounds["pacing_bound"]
        row["lower_bound"] = bounds["lower_bound"]
        row["ratio"] = row[f"{self.args.latency_ms:g}"]["median"] / row["lower_bound"]
        return row

    def run(self):
        plan_estates, memory, apply_estate = estates(self.args.quick)
        only = set(self.args.only.split(",")) if self.args.only else None
        for estate in plan_estates:
            if only and estate.name not in only:
                continue
            self.say(f"estate {estate.name}: {shape(estate)}")
            path = self.seed(estate)
            self.plan(estate, path, 0, label=" (check)")
            self.results["plan"].append(self.plan_series(estate, path))
            # The same estate, planned with [settings] read_grants = false: no ListGrants.
            without = dataclasses.replace(estate, read_grants=False)
            self.results["plan"].append(self.plan_series(without, self.toml(without), " (read_grants = false)"))
        if memory and (not only or "M" in only):
            self.say(f"estate {memory.name} (memory): {shape(memory)}")
            path = self.seed(memory)
            result, calls = self.plan(memory, path, 0)
            self.results["memory"] = {"estate": memory.name, "shape": shape(memory), "keys": memory.managed_keys,
                                      "wall": result["wall"], "rss_mb": result["rss_mb"], "calls": calls,
                                      "cpu": result["cpu"]}
        if not only or "W" in only:
            self.results["apply"] = self.apply(apply_estate)
        if not only or "R" in only:
            self.results["apply_multi_region"] = self.apply(multi_region_estate(self.args.quick))
        if not only or "I" in only:
            self.results["import"] = self.import_vs_plan(import_estate(self.args.quick))
        if not only or "U" in only:
            self.results["audit"] = self.audit(audit_estate(self.args.quick))
        self.results["seconds"] = time.monotonic() - self.started
        self.results["machine"]["load_after"] = os.getloadavg()

    def apply(self, estate):
        self.say(f"apply {estate.name}: {shape(estate)} new keys at {self.args.latency_ms:g} ms")
        path = self.toml(estate)
        self.log.skip()
        r = run_c3(self.args.c3, ["apply", "-c", path, "--auto-approve", "--progress", "plain"],
                   self.proxies[self.args.latency_ms].url, line_times=True)
        entries = self.log.take()
        if r["code"] != 0:
            raise SystemExit(f"bench: apply failed ({r['code']}):\n{r['stdout'][-3000:]}\n{r['stderr'][-3000:]}")
        writes = collections.Counter(e["operation"] for e in entries if e["operation"] in WRITE_OPS)
        # Progress lines on stderr (--progress plain), one per account and region (or "IAM") once all
        # its writes are done: "applied <account> <region or IAM>: <n> change(s), done".
        progress = [(t, text) for t, stream, text in r["lines"] if stream == "stderr" and text.startswith("applied ")]
        plan_done = [t for t, stream, text in r["lines"] if stream == "stdout" and text.startswith("Plan:")]
        start = plan_done[0] if plan_done else 0.0
        execute = (progress[-1][0] - start) if progress else float("nan")
        kms_done = [t for t, text in progress if text.split()[2:3] != ["IAM:"]]
        kms_phase = (kms_done[-1] - start) if kms_done else float("nan")
        n = estate.keys
        rate = estate.writes_per_second
        lat = self.args.latency_ms / 1000
        # c3's pacing (src/apply): per (account, region, operation) one call per 1/rate s. In a target the
        # n CreateKey calls get slots 0, 1/rate, ..., (n-1)/rate; each key then runs EnableKeyRotation and
        # CreateAlias (their own pacing keys, slots never later than the key's turn), so a target is done at
        # (n-1)/rate + 3 round trips. Targets run in parallel.
        kms_bound = (n - 1) / rate + 3 * lat
        if estate.multi_region:
            # Multi-Region: per account, n CreateKey in the primary region, and ReplicateKey into each
            # other region, sent to the primary's region: (regions-1)*n ReplicateKey calls on one pacing
            # key (account, primary region, ReplicateKey). The first can start once its primary's steps
            # are done (CreateKey, EnableKeyRotation, CreateAlias: 3 round trips); the last replica then
            # needs its ReplicateKey and CreateAlias (2 round trips). KMS allows 5 ReplicateKey per second
            # per account and region; c3 paces at writes_per_second.
            replicas = (len(estate.regions) - 1) * n
            kms_bound = max(kms_bound, 3 * lat + (replicas - 1) / rate + 2 * lat)
        # Then per account, after all its targets: 3 managed policies per key name, CreatePolicy paced
        # per (account, "iam", operation): (3n-1)/rate + 1 round trip.
        iam_after = (3 * n - 1) / rate + lat
        row = {"estate": estate.name, "shape": shape(estate), "targets": len(estate.targets()),
               "new_keys": estate.managed_keys, "writes": dict(writes), "calls": len(entries),
               "wall": r["wall"], "rss_mb": r["rss_mb"], "execute": execute, "pre_plan": start,
               "kms_phase": kms_phase, "iam_phase": execute - kms_phase, "iam_bound": iam_after,
               "post": r["wall"] - (progress[-1][0] if progress else r["wall"]),
               "kms_bound": kms_bound, "pacing_bound": kms_bound + iam_after,
               "ratio_kms": execute / kms_bound, "ratio_pacing": execute / (kms_bound + iam_after)}
        self.say(f"  apply: {r['wall']:.2f} s in all, execute phase {execute:.2f} s (KMS writes {kms_phase:.2f} s, "
                 f"then IAM {execute - kms_phase:.2f} s); KMS write-quota bound {kms_bound:.2f} s, "
                 f"c3 pacing bound with IAM {kms_bound + iam_after:.2f} s")
        # The estate must now plan clean.
        self.log.skip()
        result = run_c3(self.args.c3, ["plan", "-c", path, "--output", "json"], self.proxies[0].url)
        self.log.take()
        ok, why = plan_ok(result)
        row["converged"] = ok
        if not ok:
            self.say(f"  after apply the plan is not empty: {why}")
        return row

    def import_vs_plan(self, estate):
        """`c3 import -c accounts.toml` (the estate's accounts and settings, no key declared, so every
        key is imported) against `c3 plan` of the estate, each --runs times per latency."""
        self.say(f"estate {estate.name} (import): {shape(estate)}")
        path = self.seed(estate)
        self.plan(estate, path, 0, label=" (check)")
        accounts = os.path.join(self.args.out, f"accounts-{estate.name}.toml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(accounts, "w", encoding="utf-8") as f:
            f.write(text.split("[[keys]]", 1)[0])
        row = {"estate": estate.name, "shape": shape(estate), "keys": estate.managed_keys}
        for latency in (0, self.args.latency_ms):
            walls = {"import": [], "plan": []}
            calls = {}
            for _ in range(self.args.runs):
                self.log.skip()
                r = run_c3(self.args.c3, ["import", "-c", accounts], self.proxies[latency].url)
                calls["import"] = len(self.log.take())
                if r["code"] != 0 or r["stdout"].count("[[keys]]") != estate.keys:
                    raise SystemExit(f"bench: import of {estate.name} failed ({r['code']}): {r['stderr'][-2000:]}")
                walls["import"].append(r["wall"])
                with open(os.path.join(self.args.out, f"imported-{estate.name}.toml"), "w", encoding="utf-8") as f:
                    f.write(r["stdout"])
                p, c = self.plan(estate, path, latency)
                walls["plan"].append(p["wall"])
                calls["plan"] = c["calls"]
            imp, pl = statistics.median(walls["import"]), statistics.median(walls["plan"])
            row[f"{latency:g}"] = {"import": imp, "plan": pl, "ratio": imp / pl, "walls": walls, "calls": calls}
            self.say(f"  import {estate.name} @{latency:g} ms: {imp:.2f} s ({calls['import']} calls) vs plan "
                     f"{pl:.2f} s ({calls['plan']} calls): {imp / pl:.2f}x")
        return row

    def audit(self, estate):
        """`c3 audit -c accounts.toml` (the estate's accounts and settings, no key declared: every key
        is read as one c3 does not manage, GetKeyLastUsage included), --runs times per latency."""
        self.say(f"estate {estate.name} (audit): {shape(estate)}")
        path = self.seed(estate)
        accounts = os.path.join(self.args.out, f"accounts-{estate.name}.toml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(accounts, "w", encoding="utf-8") as f:
            f.write(text.split("[[keys]]", 1)[0])
        row = {"estate": estate.name, "shape": shape(estate), "keys": estate.managed_keys}
        for latency in (0, self.args.latency_ms):
            walls, calls = [], None
            for _ in range(self.args.runs):
                self.log.skip()
                r = run_c3(self.args.c3, ["audit", "-c", accounts, "--output", "json"], self.proxies[latency].url)
                calls = analyse_audit_calls(self.log.take(), estate, latency)
                doc = json.loads(r["stdout"]) if r["code"] == 0 else {}
                if len(doc.get("audit") or []) != estate.managed_keys or doc.get("errors"):
                    raise SystemExit(f"bench: audit of {estate.name} failed ({r['code']}): {r['stderr'][-2000:]}")
                walls.append(r["wall"])
            median = statistics.median(walls)
            row[f"{latency:g}"] = {"walls": walls, "median": median, "calls": calls, "cpu": r["cpu"],
                                   "rss_mb": r["rss_mb"], "ratio": median / calls["lower_bound"]}
            self.say(f"  audit {estate.name} @{latency:g} ms: {median:.2f} s, {calls['calls']} calls "
                     f"({calls['per_key_calls_per_key']:.2f} per key), critical path {calls['critical_path']}, "
                     f"lower bound {calls['lower_bound']:.2f} s, ratio {median / calls['lower_bound']:.2f}")
        return row

    def close(self):
        for p in self.proxies.values():
            p.stop()


def shape(estate):
    return f"{estate.accounts} x {len(estate.regions)} x {estate.keys:,}"


def machine():
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "load_before": os.getloadavg()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["cpu"] = models[0] if models else "unknown"
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["mem_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return info


def markdown(res):
    lat = f"{res['settings']['latency_ms']:g}"
    m = res["machine"]
    out = [f"Machine: {m.get('nproc')} CPUs ({m.get('cpu')}), {m.get('mem_gib')} GiB RAM; load average "
           f"{'/'.join(f'{x:.1f}' for x in m['load_before'])} before, "
           f"{'/'.join(f'{x:.1f}' for x in m.get('load_after', (0, 0, 0)))} after (1/5/15 min; shared with other "
           f"builds). c3 release build, emulator moto_c3_server.py, proxy.py; median of "
           f"{res['settings']['runs']} runs; peak RSS of the c3 process by {res['settings']['rss_source']}; "
           f"whole bench {res.get('seconds', 0):.0f} s.", ""]
    if res["plan"]:
        out += ["### Plan", "",
                f"| estate (accounts x regions x keys) | grants | managed keys | plan @0 ms | plan @{lat} ms "
                f"| calls bound @{lat} ms | grant pacing bound @{lat} ms | lower bound @{lat} ms | ratio "
                f"| ratio to max(bound, plan @0 ms) | API calls | calls / key | per-key calls / key "
                f"| ListPolicyTags / (account, key name) | critical path (round trips) | c3 CPU @{lat} ms | peak RSS |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                "| ---: | ---: |"]
        for row in res["plan"]:
            z, l = row["0"], row[lat]
            grants = f"read ({row['grant_reads_per_second']}/s)" if row["read_grants"] else "not read"
            pacing = f"{row['pacing_bound']:.2f} s" if row["pacing_bound"] else "—"
            out.append(f"| {row['estate']}: {row['shape']} | {grants} | {row['keys']:,} | {z['median']:.2f} s "
                       f"| {l['median']:.2f} s | {row['calls_bound']:.2f} s | {pacing} | {row['lower_bound']:.2f} s "
                       f"| {row['ratio']:.2f} | {l['median'] / max(row['lower_bound'], z['median']):.2f} "
                       f"| {l['calls']['calls']:,} | {l['calls']['calls_per_key']:.2f} "
                       f"| {l['calls']['per_key_calls_per_key']:.2f} | {l['calls']['policy_tags_per_name']:.2f} "
                       f"| {l['calls']['critical_path']} | {l['cpu']:.2f} s | {max(z['rss_mb'], l['rss_mb']):.1f} MB |")
        out.append("")
    if res["memory"]:
        mem = res["memory"]
        out += ["### Memory", "",
                "| estate | managed keys | plan @0 ms | grant pacing bound | API calls | calls / key "
                "| per-key calls / key | c3 CPU | peak RSS |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                f"| {mem['estate']}: {mem['shape']} | {mem['keys']:,} | {mem['wall']:.2f} s "
                f"| {mem['calls']['pacing_bound']:.2f} s | {mem['calls']['calls']:,} "
                f"| {mem['calls']['calls_per_key']:.2f} | {mem['calls']['per_key_calls_per_key']:.2f} "
                f"| {mem['cpu']:.2f} s | {mem['rss_mb']:.1f} MB |", ""]
    applies = [res[k] for k in ("apply", "apply_multi_region") if res.get(k)]
    if applies:
        out += ["### Apply", "",
                f"| estate | targets | writes | KMS writes @{lat} ms | KMS write-quota bound | ratio "
                f"| then IAM writes | IAM pacing bound | execute phase | c3 pacing bound (KMS + IAM) | ratio "
                "| apply in all (plan, execute, plan again) | peak RSS |",
                "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for a in applies:
            out.append(
                f"| {a['estate']}: {a['shape']} ({a['new_keys']} new keys) | {a['targets']} "
                f"| {', '.join(f'{k} {v}' for k, v in sorted(a['writes'].items()))} | {a['kms_phase']:.2f} s "
                f"| {a['kms_bound']:.2f} s | {a['kms_phase'] / a['kms_bound']:.2f} | {a['iam_phase']:.2f} s "
                f"| {a['iam_bound']:.2f} s | {a['execute']:.2f} s | {a['pacing_bound']:.2f} s | {a['ratio_pacing']:.2f} "
                f"| {a['wall']:.2f} s | {a['rss_mb']:.1f} MB |")
        out.append("")
    if res.get("import"):
        i = res["import"]
        out += ["### Import", "",
                "| estate | keys | latency | c3 import | c3 plan | import / plan | calls: import | calls: plan |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for latency in ("0", lat):
            r = i[latency]
            out.append(f"| {i['estate']}: {i['shape']} | {i['keys']:,} | {latency} ms | {r['import']:.2f} s "
                       f"| {r['plan']:.2f} s | {r['ratio']:.2f} | {r['calls']['import']:,} | {r['calls']['plan']:,} |")
        out.append("")
    if res.get("audit"):
        a = res["audit"]
        out += ["### c3 audit", "",
                "| estate | keys | latency | c3 audit | calls bound | grant pacing bound | lower bound | ratio "
                "| API calls | per-key calls / key | critical path (round trips) | c3 CPU | peak RSS |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for latency in ("0", lat):
            r = a[latency]
            c = r["calls"]
            out.append(f"| {a['estate']}: {a['shape']} | {a['keys']:,} | {latency} ms | {r['median']:.2f} s "
                       f"| {c['calls_bound']:.2f} s | {c['pacing_bound']:.2f} s | {c['lower_bound']:.2f} s "
                       f"| {r['ratio']:.2f} | {c['calls']:,} | {c['per_key_calls_per_key']:.2f} "
                       f"| {c['critical_path']} | {r['cpu']:.2f} s | {r['rss_mb']:.1f} MB |")
        out.append("")
    if res["seed"]:
        out += ["### Seeding", "",
                "| estate | keys | seconds | API calls | before it: c3 plan of the empty accounts | its API calls |",
                "| --- | ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {s['estate']}: {s['shape']} | {s['keys']:,} | {s['seconds']:.1f} | {s['calls']:,} "
                f"| {s['plan_seconds']:.1f} s | {s['plan_calls']:,} |" for s in res["seed"]]
        out.append("")
    return "\n".join(out)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--c3", required=True)
    p.add_argument("--endpoint", required=True, help="the emulator (moto_c3_server.py)")
    p.add_argument("--log", required=True, help="the emulator's request log (C3_EMULATOR_LOG)")
    p.add_argument("--out", required=True)
    p.add_argument("--quick", action="store_true", help="small estates, one run each (< 1 min)")
    p.add_argument("--runs", type=int, default=None, help="plans per estate and latency (default 3, quick 1)")
    p.add_argument("--latency-ms", type=float, default=30.0)
    p.add_argument("--seed-threads", type=int, default=16)
    p.add_argument("--only", default="", help="comma-separated subset of " + ",".join(ESTATE_NAMES))
    args = p.parse_args(argv)
    unknown = sorted(set(args.only.split(",")) - set(ESTATE_NAMES)) if args.only else []
    if unknown:
        p.error(f"--only: unknown {', '.join(unknown)} (choose from {','.join(ESTATE_NAMES)}; the IAM "
                "read-path comparison was removed with c3's ListPolicies read path)")
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    bench = Bench(args)
    try:
        bench.run()
    finally:
        bench.close()
        with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
            json.dump(bench.results, f, indent=1, default=str)
    text = markdown(bench.results)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print()
    print(text)
    failed = []
    for key in ("apply", "apply_multi_region"):
        if bench.results.get(key) and not bench.results[key].get("converged", True):
            failed.append(f"{key} did not converge")
    if failed:
        raise SystemExit("bench: " + "; ".join(failed))


if __name__ == "__main__":
    main(sys.argv[1:])
