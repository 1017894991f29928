"""The intrinsic resolver behind the parliament check: each intrinsic the template uses, and refusal of
what it cannot know."""

from __future__ import annotations

import json
from typing import Any

import pytest
from plausible_arns import ACCOUNT, KEY_ID, REGION, Resources, resolve

RESOURCES: Resources = {
    "Bucket1": {"Type": "AWS::S3::Bucket"},
    "Key1": {"Type": "AWS::KMS::Key"},
    "Logs1": {"Type": "AWS::Logs::LogGroup"},
    "Topic1": {"Type": "AWS::SNS::Topic"},
    "Queue1": {"Type": "AWS::SQS::Queue"},
    "Doc1": {"Type": "AWS::SSM::Document"},
    "Widget1": {"Type": "AWS::Made::Up"},
}


def test_pseudo_parameters_and_refs() -> None:
    assert resolve({"Ref": "AWS::AccountId"}, RESOURCES) == ACCOUNT
    assert resolve({"Ref": "Bucket1"}, RESOURCES) == "bucket1"
    assert resolve({"Ref": "Topic1"}, RESOURCES) == f"arn:aws:sns:{REGION}:{ACCOUNT}:topic1"
    assert resolve({"Ref": "Key1"}, RESOURCES) == KEY_ID


def test_get_att_in_both_forms() -> None:
    assert resolve({"Fn::GetAtt": ["Bucket1", "Arn"]}, RESOURCES) == "arn:aws:s3:::bucket1"
    assert resolve({"Fn::GetAtt": "Queue1.Arn"}, RESOURCES) == f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue1"
    # CloudFormation's log group Arn is already the stream pattern.
    assert resolve({"Fn::GetAtt": ["Logs1", "Arn"]}, RESOURCES) == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:logs1:*"


def test_nested_join_as_cdk_writes_it() -> None:
    document_arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ssm:", {"Ref": "AWS::Region"}, ":",
                                      {"Ref": "AWS::AccountId"}, ":document/", {"Ref": "Doc1"}]]}
    objects = {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket1", "Arn"]}, "/remediations/*"]]}
    assert resolve([document_arn, objects], RESOURCES) == [f"arn:aws:ssm:{REGION}:{ACCOUNT}:document/doc1",
                                                           "arn:aws:s3:::bucket1/remediations/*"]


def test_sub_with_its_variables_attributes_and_escapes() -> None:
    assert resolve({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket1}/${!aws:username}"}, RESOURCES) == \
        "arn:aws:s3:::bucket1/${aws:username}"
    assert resolve({"Fn::Sub": ["${Q}/x", {"Q": {"Fn::GetAtt": ["Queue1", "Arn"]}}]}, RESOURCES) == \
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue1/x"
    assert resolve({"Fn::Sub": "${Key1.Arn}"}, RESOURCES) == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"


def test_plain_structure_is_kept() -> None:
    statement = {"Effect": "Allow", "Action": ["s3:GetObject"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert resolve(statement, RESOURCES) == statement


@pytest.mark.parametrize("value", [
    {"Ref": "Missing"},
    {"Ref": "Widget1"},
    {"Fn::GetAtt": ["Bucket1", "NoSuchAttribute"]},
    {"Fn::Select": [0, ["a"]]},
    {"Fn::Sub": "${Missing.Arn}"},
])
def test_refuses_what_it_cannot_know(value: Any) -> None:
    with pytest.raises(ValueError):
        resolve(value, RESOURCES)


def test_every_policy_in_the_template_resolves_to_plain_json(resources: Resources) -> None:
    documents = [resource["Properties"][key] for resource in resources.values()
                 for key in ("PolicyDocument", "KeyPolicy") if key in resource.get("Properties", {})]
    assert documents
    for document in documents:
        text = json.dumps(resolve(document, resources))
        assert "Fn::" not in text and '"Ref"' not in text, text
