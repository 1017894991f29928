"""The evidence bucket: console captures, crash dumps, manifests and reports. Crash dumps hold memory
contents, secrets included, so this is the most sensitive store of the service."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from panic_button.logic.kernel_symbols import SYMBOLS_PREFIX

from infra.suppressions import skip_checkov

EVIDENCE_PREFIX = "remediations"


class EvidenceStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, retention_days: int) -> None:
        super().__init__(scope, construct_id)
        self.prefix = EVIDENCE_PREFIX
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # Log delivery cannot write with SSE-KMS: S3-managed keys are the documented option.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(max(retention_days, 90)),
                                              noncurrent_version_expiration=Duration.days(7))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.access_logs).acknowledge(Acknowledgment(
            id="AwsSolutions-S1",
            reason="This is the access-log target of the evidence bucket; logging it to itself would loop.",
        ))
        skip_checkov(self.access_logs, "CKV_AWS_18", "This is the access-log target of the evidence bucket; "
                                                     "logging it to itself would loop.")
        self.bucket = s3.Bucket(
            self,
            "Evidence",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="evidence/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-evidence",
                    prefix=f"{EVIDENCE_PREFIX}/",
                    expiration=Duration.days(retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                # Kernel debug symbols by build ID never expire with the dumps: a fleet runs a kernel for
                # months. A vmlinux uploaded again under the same key leaves only its old version to expire.
                s3.LifecycleRule(
                    id="keep-symbols",
                    prefix=f"{SYMBOLS_PREFIX}/",
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def objects_arn(self) -> str:
        """Every write and read of the service stays under the evidence prefix."""
        return self.bucket.arn_for_objects(f"{self.prefix}/*")
