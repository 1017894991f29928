"""Crash dumps and their kernel logs hold memory, secrets included: their own KMS key, whose policy
names only the workflow roles that handle them and the configured readers, and a bucket policy that
denies reading them to every other principal, account administrators included."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.evidence_store import EvidenceStore
from infra.suppressions import accept_parliament_finding

# Administration without use: the account can manage, rotate and delete the key, never decrypt with it.
# No kms:CreateGrant: a grant would hand Decrypt to a principal this policy does not name.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey",
    "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListResourceTags",
    "kms:PutKeyPolicy", "kms:RevokeGrant", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
    "kms:UpdateAlias", "kms:UpdateKeyDescription",
]
DUMP_OBJECTS = "*/dump/*"  # remediations/<instance>/<execution>/dump/<file>


class DumpProtection(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, evidence: EvidenceStore, alias: str) -> None:
        super().__init__(scope, construct_id)
        self._evidence = evidence
        root = iam.AccountRootPrincipal()
        self.key = kms.Key(
            self, "DumpKey", enable_key_rotation=True, alias=alias, removal_policy=RemovalPolicy.RETAIN,
            description="Panic Button: crash dumps and their kernel logs only",
            # Replaces CDK's default policy (account root: kms:*), which would let any IAM principal with
            # kms:Decrypt in its own policies read the dumps.
            policy=iam.PolicyDocument(statements=[iam.PolicyStatement(
                sid="AdministerWithoutUse", actions=KEY_ADMIN_ACTIONS, principals=[root], resources=["*"])]),
        )
        accept_parliament_finding(self.key, "PERMISSIONS_MANAGEMENT_ACTIONS", KEY_ADMIN_ACTIONS,
                                  "the account administers the dump key (policy, rotation, deletion); no "
                                  "statement gives it kms:Decrypt or kms:GenerateDataKey")
        accept_parliament_finding(self.key, "RESOURCE_MISMATCH", KEY_ADMIN_ACTIONS,
                                  "in a key policy Resource * is this key; the alias actions also need the alias "
                                  "in the caller's IAM policy, which parliament cannot see from here")

    def allow(self, *, writers: list[iam.IRole], readers: list[iam.IRole], cleaners: list[iam.IRole],
              reader_arns: tuple[str, ...]) -> None:
        """`writers` encrypt dumps (multipart uploads also decrypt their parts' data keys); `readers` and
        `reader_arns` decrypt them; `cleaners` only head them (HeadObject is s3:GetObject but decrypts
        nothing) to tell a completed dump from a half-done upload, so they get no use of the key.
        Everyone else is denied GetObject on dump objects by the bucket."""
        if writers:
            self.key.add_to_resource_policy(iam.PolicyStatement(
                sid="WorkflowWritesDumps", actions=["kms:GenerateDataKey", "kms:Decrypt"],
                principals=[iam.ArnPrincipal(role.role_arn) for role in writers], resources=["*"]))
        reading = [iam.ArnPrincipal(role.role_arn) for role in readers] + [iam.ArnPrincipal(a) for a in reader_arns]
        if reading:
            self.key.add_to_resource_policy(iam.PolicyStatement(
                sid="NamedReadersDecryptDumps", actions=["kms:Decrypt"], principals=reading, resources=["*"]))
        allowed = [role.role_arn for role in [*writers, *readers, *cleaners]] + list(reader_arns)
        self._evidence.bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="DumpsOnlyForNamedPrincipals", effect=iam.Effect.DENY,
            actions=["s3:GetObject", "s3:GetObjectVersion"], principals=[iam.AnyPrincipal()],
            resources=[self._evidence.bucket.arn_for_objects(f"{self._evidence.prefix}/{DUMP_OBJECTS}")],
            conditions={"ArnNotEquals": {"aws:PrincipalArn": allowed}}))
