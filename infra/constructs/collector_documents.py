"""SSM Command documents that find and upload the crash dump (Linux shell, Windows PowerShell). The
scripts are files under infra/ssm/, loaded into the documents at synth time.

Each content has a name of its own (its hash) and is replaced, never versioned: with UpdateMethod
NewVersion, CloudFormation may leave the old version as the default, and a fixed collector would never
run. A replaced document is always at version 1, which SendCommand pins (COLLECTOR_DOCUMENT_VERSION)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.ssm.documents import build_collector_document


class CollectorDocuments(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.linux = self._document("Linux", build_collector_document("linux"))
        self.windows = self._document("Windows", build_collector_document("windows"))

    def _document(self, construct_id: str, content: dict[str, Any]) -> ssm.CfnDocument:
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
        name = f"{Stack.of(self).stack_name}-Collector{construct_id}-{digest}"
        return ssm.CfnDocument(self, construct_id, name=name, document_type="Command", document_format="JSON",
                               content=content, update_method="Replace")

    def arns(self) -> list[str]:
        stack = Stack.of(self)
        return [
            stack.format_arn(service="ssm", resource="document", resource_name=document.ref)
            for document in (self.linux, self.windows)
        ]
