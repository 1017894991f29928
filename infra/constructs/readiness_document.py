"""The SSM Command document behind `panic-button readiness`: read-only kdump and CrashControl checks
(scripts under infra/ssm/, loaded at synth time)."""

from __future__ import annotations

from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.ssm.readiness_document import build_readiness_document


class ReadinessDocument(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.document = ssm.CfnDocument(self, "Document", document_type="Command", document_format="JSON",
                                        content=build_readiness_document(), update_method="NewVersion")
