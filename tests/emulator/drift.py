"""Makes drift by hand in an emulator account, the way a person with console access might.

usage: ENDPOINT=http://127.0.0.1:PORT python drift.py ACCOUNT REGION

On the key behind alias/payments: turns rotation off and adds a key-policy statement that
keys.toml does not declare. On the key behind alias/reports: schedules its deletion.
"""
import json
import os
import sys

import boto3

endpoint = os.environ["ENDPOINT"]
account, region = sys.argv[1], sys.argv[2]

sts = boto3.client("sts", endpoint_url=endpoint, region_name=region,
                   aws_access_key_id="demo", aws_secret_access_key="demo")
creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/console-user",
                        RoleSessionName="drift")["Credentials"]
kms = boto3.client("kms", endpoint_url=endpoint, region_name=region,
                   aws_access_key_id=creds["AccessKeyId"],
                   aws_secret_access_key=creds["SecretAccessKey"],
                   aws_session_token=creds["SessionToken"])


def key_of(alias):
    return kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]


payments = key_of("alias/payments")
kms.disable_key_rotation(KeyId=payments)
print(f"  rotation turned off on {payments} (alias/payments)")

policy = json.loads(kms.get_key_policy(KeyId=payments, PolicyName="default")["Policy"])
policy["Statement"].append({
    "Sid": "AllowAnalyticsDecrypt",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{account}:role/analytics"},
    "Action": "kms:Decrypt",
    "Resource": "*",
})
kms.put_key_policy(KeyId=payments, PolicyName="default", Policy=json.dumps(policy))
print(f"  statement AllowAnalyticsDecrypt added to the key policy of {payments}")

reports = key_of("alias/reports")
kms.schedule_key_deletion(KeyId=reports, PendingWindowInDays=7)
print(f"  deletion of {reports} (alias/reports) scheduled in 7 days")
