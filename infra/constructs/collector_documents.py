"""SSM Command documents that find and upload the crash dump (Linux shell, Windows PowerShell). The
scripts are files under infra/ssm/, loaded into the documents at synth time."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.ssm.documents import build_collector_document


class CollectorDocuments(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.linux = ssm.CfnDocument(self, "Linux", document_type="Command", document_format="JSON",
                                     content=build_collector_document("linux"), update_method="NewVersion")
        self.windows = ssm.CfnDocument(self, "Windows", document_type="Command", document_format="JSON",
                                       content=build_collector_document("windows"), update_method="NewVersion")

    def arns(self) -> list[str]:
        stack = Stack.of(self)
        return [
            stack.format_arn(service="ssm", resource="document", resource_name=document.ref)
            for document in (self.linux, self.windows)
        ]
