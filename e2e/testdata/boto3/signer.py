"""Drives AWS Signer through boto3: a profile, a signing job and the
successful_signing_job waiter, and an error, then prints what it saw as
JSON for TestSigner.

usage: signer.py ENDPOINT SOURCE_BUCKET KEY VERSION DESTINATION_BUCKET
(credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, src, key, version, dst = sys.argv[1:6]
signer = boto3.client(
    "signer",
    endpoint_url=endpoint,
    region_name="us-east-1",
    config=Config(retries={"max_attempts": 1}),
)
profile = signer.put_signing_profile(
    profileName="boto3_profile",
    platformId="AWSLambda-SHA384-ECDSA",
    signatureValidityPeriod={"value": 10, "type": "DAYS"},
)
job = signer.start_signing_job(
    source={"s3": {"bucketName": src, "key": key, "version": version}},
    destination={"s3": {"bucketName": dst, "prefix": "boto3/"}},
    profileName="boto3_profile",
)
signer.get_waiter("successful_signing_job").wait(
    jobId=job["jobId"], WaiterConfig={"Delay": 1, "MaxAttempts": 5}
)
described = signer.describe_signing_job(jobId=job["jobId"])
try:
    signer.get_signing_profile(profileName="no_such_profile")
    error = None
except ClientError as e:
    error = {
        "Code": e.response["Error"]["Code"],
        "Message": e.response["Error"]["Message"],
        "Status": e.response["ResponseMetadata"]["HTTPStatusCode"],
    }
print(
    json.dumps(
        {
            "profileVersionArn": profile["profileVersionArn"],
            "jobId": job["jobId"],
            "status": described["status"],
            "key": described["signedObject"]["s3"]["key"],
            "validSeconds": (
                described["signatureExpiresAt"] - described["completedAt"]
            ).total_seconds(),
            "error": error,
        }
    )
)
