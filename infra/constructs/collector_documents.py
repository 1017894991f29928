"""SSM Command documents that find and upload the crash dump (Linux shell, Windows PowerShell). The
scripts are files under infra/ssm/, loaded into the documents at synth time.

Each content has a name of its own (its hash) and is replaced, never versioned: with UpdateMethod
NewVersion, CloudFormation may leave the old version as the default, and a fixed collector would never
run. A replaced document is always at version 1, which SendCommand pins (COLLECTOR_DOCUMENT_VERSION)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_cdk import Aws, Fn, Stack, Token
from aws_cdk import aws_ssm as ssm
from constructs import Construct
from panic_button.models.collection import manifest_url_pattern

from infra.ssm.documents import build_collector_document


def regex_literal(value: str) -> str:
    """`value` as a regular expression that matches it alone: its dots escaped, in CloudFormation for a token."""
    if Token.is_unresolved(value):
        return Fn.join("\\.", Fn.split(".", value))
    return value.replace(".", "\\.")


class CollectorDocuments(Construct):
    """`bucket_pattern`: the bucket the manifest URLs may point at, as a regular expression (regex_literal of
    the stack's bucket name, or ANY_BUCKET in a member account); `region`: the Region of its S3 endpoint.
    `loopback`: the local sandbox's http://127.0.0.1 too (panic-button:sandbox-collector-urls)."""

    def __init__(self, scope: Construct, construct_id: str, *, bucket_pattern: str, region: str = Aws.REGION,
                 loopback: bool = False) -> None:
        super().__init__(scope, construct_id)
        pattern = manifest_url_pattern(bucket_pattern, regex_literal(region), regex_literal(Aws.URL_SUFFIX),
                                       loopback=loopback)
        self.linux = self._document("Linux", build_collector_document("linux", pattern))
        self.windows = self._document("Windows", build_collector_document("windows", pattern))

    def _document(self, construct_id: str, content: dict[str, Any]) -> ssm.CfnDocument:
        # The name hashes the resolved content (tokens as the template has them): it changes with the content.
        resolved = Stack.of(self).resolve(content)
        digest = hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()[:16]
        name = f"{Stack.of(self).stack_name}-Collector{construct_id}-{digest}"
        return ssm.CfnDocument(self, construct_id, name=name, document_type="Command", document_format="JSON",
                               content=content, update_method="Replace")

    def arns(self) -> list[str]:
        stack = Stack.of(self)
        return [
            stack.format_arn(service="ssm", resource="document", resource_name=document.ref)
            for document in (self.linux, self.windows)
        ]
