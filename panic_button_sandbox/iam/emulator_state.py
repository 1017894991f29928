"""What IAM evaluation reads from moto's own state: roles' policies, tags, resource and key policies,
and which key encrypts what. The server runs in this process, so its backends are read directly."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from moto.awslambda.utils import get_backend as lambda_backend
from moto.cloudwatch.models import cloudwatch_backends
from moto.dynamodb.models import dynamodb_backends
from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from panic_button_sandbox.iam.policies import Statement, statements


@dataclass(frozen=True)
class KmsKey:
    arn: str
    policy: list[Statement]


class EmulatorState:
    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region
        self._full_bucket_policies: dict[str, str] = {}  # bucket -> policy as synthesized
        self._lock = threading.Lock()

    def keep_bucket_policy(self, bucket: str, document: str) -> None:
        """The deployer stores a reduced bucket policy in moto (moto's own S3 check ignores conditions);
        IAM evaluation needs the one that was synthesized."""
        with self._lock:
            self._full_bucket_policies[bucket] = document

    def role_policies(self, role_name: str) -> list[tuple[str, list[Statement]]]:
        """(policy name, statements) of each inline and attached managed policy of a role."""
        role = iam_backends[self.account]["aws"].get_role(role_name)
        found = [(name, statements(document)) for name, document in role.policies.items()]
        for arn, managed in role.managed_policies.items():
            default = next(v for v in managed.versions if v.is_default)
            found.append((arn, statements(default.document)))
        return found

    def instance_tags(self, instance_id: str) -> dict[str, str] | None:
        """None when moto has no such instance."""
        backend = ec2_backends[self.account][self.region]
        try:
            instance = backend.get_instance(instance_id)
        except Exception:  # moto's InvalidInstanceIdError: the call fails on its own anyway
            return None
        return {tag["key"]: tag["value"] for tag in instance.get_tags()}

    def alarm_tags(self, alarm_arn: str) -> dict[str, str]:
        return dict(cloudwatch_backends[self.account][self.region].list_tags_for_resource(alarm_arn))

    def bucket_policy(self, bucket: str) -> list[Statement] | None:
        with self._lock:
            kept = self._full_bucket_policies.get(bucket)
        if kept is not None:
            return statements(kept)
        found = self._bucket(bucket)
        return statements(found.policy.decode()) if found is not None and found.policy else None

    def bucket_kms_key(self, bucket: str) -> tuple[str, bool] | None:
        """(key id or ARN, bucket key enabled) of the bucket's default SSE-KMS encryption."""
        found = self._bucket(bucket)
        if found is None or not found.encryption:
            return None
        for rule in _as_list(found.encryption.get("Rule", [])):
            default = rule.get("ApplyServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
                return str(default["KMSMasterKeyID"]), str(rule.get("BucketKeyEnabled", "false")).lower() == "true"
        return None

    def object_kms_key(self, bucket: str, key: str, version_id: str | None = None) -> tuple[str, bool] | None:
        """(key id or ARN, bucket key enabled) an existing object is encrypted under: its own key when it was
        written with one (SSEKMSKeyId), the bucket's default otherwise; None for no such object or SSE-S3."""
        found = self._bucket(bucket)
        stored = found.keys.getlist(key, []) if found is not None else []
        chosen = [k for k in stored if version_id is None or k.version_id == version_id]
        if not chosen:
            return None
        latest = chosen[-1]
        if latest.encryption != "aws:kms" or not latest.kms_key_id:
            return None
        return str(latest.kms_key_id), str(latest.bucket_key_enabled or "false").lower() == "true"

    def multipart_kms_key(self, bucket: str, upload_id: str) -> str | None:
        """The key a multipart upload was created with (SSEKMSKeyId), if any."""
        found = self._bucket(bucket)
        multipart = found.multiparts.get(upload_id) if found is not None else None
        return str(multipart.kms_key_id) if multipart is not None and multipart.kms_key_id else None

    def object_exists(self, bucket: str, key: str) -> bool:
        found = self._bucket(bucket)
        return found is not None and key in found.keys

    def topic(self, topic_arn: str) -> tuple[list[Statement] | None, str]:
        """(topic policy, KMS key id) of an SNS topic."""
        try:
            topic = sns_backends[self.account][self.region].get_topic(topic_arn)
        except Exception:  # moto's NotFound: SNS answers it itself
            return None, ""
        return statements(topic.policy), str(topic.kms_master_key_id or "")

    def queue(self, queue_name: str) -> tuple[list[Statement] | None, str]:
        try:
            queue = sqs_backends[self.account][self.region].get_queue(queue_name)
        except Exception:  # moto's QueueDoesNotExist
            return None, ""
        policy = statements(queue.policy) if queue.policy else None
        return policy, str(getattr(queue, "kms_master_key_id", "") or "")

    def function_policy(self, function_arn: str) -> list[Statement] | None:
        try:
            found = lambda_backend(self.account, self.region).get_policy(function_arn, None)
        except Exception:  # moto's ResourceNotFoundException: the function has no resource policy
            return None
        return statements(json.loads(found)["Policy"])

    def table_kms_key(self, table_name: str) -> str:
        try:
            table = dynamodb_backends[self.account][self.region].get_table(table_name)
        except Exception:  # moto's ResourceNotFoundException
            return ""
        sse = table.sse_specification or {}
        return str(sse.get("KMSMasterKeyId", "")) if sse.get("Enabled") and sse.get("SSEType") == "KMS" else ""

    def kms_key(self, key_id: str) -> KmsKey | None:
        """The key behind an id, ARN or alias; None for an AWS managed key moto invented."""
        backend = kms_backends[self.account][self.region]
        try:
            key = backend.describe_key(key_id)
        except Exception:  # moto's NotFoundException
            return None
        return KmsKey(key.arn, statements(key.policy))

    def _bucket(self, bucket: str) -> Any:
        return s3_backends[self.account]["aws"].buckets.get(bucket)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


