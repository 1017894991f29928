"""A call the role does not allow fails as AWS fails it: the error code, HTTP status and message shape each
service sends, parsed by botocore as it parses AWS's answer (so handlers' error handling is what runs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from panic_button_sandbox.iam.emulator_state import EmulatorState
from panic_button_sandbox.iam.enforcement import IamEnforcement
from panic_button_sandbox.iam.grant_usage import GrantRecorder
from panic_button_sandbox.patches import Patches

ACCOUNT, REGION, FUNCTION = "123456789012", "us-east-1", "fn"
BUCKET = "evidence-bucket"


class Roles:
    def __init__(self, enforcement: IamEnforcement) -> None:
        self.enforcement = enforcement
        self.iam = boto3.client("iam", region_name=REGION)

    def make(self, name: str, statements: list[dict[str, Any]]) -> str:
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        arn: str = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if statements:
            self.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": statements}))
        return arn

    def client_of(self, role_arn: str, service: str) -> Any:
        """A client made the way a handler makes one, inside its function's invocation."""
        with self.enforcement.running_as(FUNCTION, role_arn):
            return boto3.client(service, region_name=REGION)


@pytest.fixture
def roles() -> Iterator[Roles]:
    patches = Patches()
    with mock_aws():
        enforcement = IamEnforcement(EmulatorState(ACCOUNT, REGION), enabled=True, recorder=GrantRecorder())
        enforcement.install(patches)
        try:
            boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
            yield Roles(enforcement)
        finally:
            patches.undo_all()


def _error(call: Any, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value


def _who(role: str) -> str:
    return f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{FUNCTION} is not authorized to perform:"


def test_s3_denial_is_403_access_denied_xml(roles: Roles) -> None:
    s3 = roles.client_of(roles.make("Reader", []), "s3")
    error = _error(s3.get_object, Bucket=BUCKET, Key="remediations/dump")
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["Error"]["Message"] == (
        f'{_who("Reader")} s3:GetObject on resource: arn:aws:s3:::{BUCKET}/remediations/dump because no '
        "identity-based policy allows the s3:GetObject action")


def test_s3_head_denial_has_no_body_as_on_aws(roles: Roles) -> None:
    s3 = roles.client_of(roles.make("Header", []), "s3")
    error = _error(s3.head_object, Bucket=BUCKET, Key="k")
    assert (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]) == ("403", 403)


def test_head_object_needs_get_object_and_multipart_needs_put_object(roles: Roles) -> None:
    objects = f"arn:aws:s3:::{BUCKET}/*"
    s3 = roles.client_of(roles.make("Writer", [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": objects}]),
                         "s3")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="k")  # s3:PutObject covers it
    s3.upload_part(Bucket=BUCKET, Key="k", UploadId=upload["UploadId"], PartNumber=1, Body=b"x")
    assert "s3:ListMultipartUploadParts" in _error(s3.list_parts, Bucket=BUCKET, Key="k",
                                                   UploadId=upload["UploadId"]).response["Error"]["Message"]
    assert _error(s3.head_object, Bucket=BUCKET, Key="k").response["Error"]["Code"] == "403"


def test_missing_key_is_access_denied_without_list_bucket_and_no_such_key_with_it(roles: Roles) -> None:
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    without = roles.client_of(roles.make("NoList", [read]), "s3")
    hidden = _error(without.get_object, Bucket=BUCKET, Key="absent")
    assert (hidden.response["Error"]["Code"], hidden.response["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("AccessDenied", 403)
    listing = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}
    with_list = roles.client_of(roles.make("WithList", [read, listing]), "s3")
    shown = _error(with_list.get_object, Bucket=BUCKET, Key="absent")
    assert (shown.response["Error"]["Code"], shown.response["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("NoSuchKey", 404)


def test_json_service_denial_is_400_access_denied_exception(roles: Roles) -> None:
    dynamodb = roles.client_of(roles.make("Recorder", [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                                                         "Resource": "*"}]), "dynamodb")
    error = _error(dynamodb.query, TableName="Records", KeyConditionExpression="pk = :p",
                   ExpressionAttributeValues={":p": {"S": "x"}})
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert error.response["Error"]["Message"] == (
        f"{_who('Recorder')} dynamodb:Query on resource: arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Records "
        "because no identity-based policy allows the dynamodb:Query action")


def test_ec2_denial_is_unauthorized_operation_with_the_tag_condition_evaluated(roles: Roles) -> None:
    ec2_admin = boto3.client("ec2", region_name=REGION)
    [tagged, untagged] = [ec2_admin.run_instances(ImageId="ami-760aaa0f", MinCount=1, MaxCount=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": tags}] if tags else [])["Instances"][0]["InstanceId"]
        for tags in ([{"Key": "PanicButton", "Value": "enabled"}], [])]
    grant = {"Effect": "Allow", "Action": "ec2:GetConsoleOutput", "Resource": "arn:aws:ec2:*:*:instance/*",
             "Condition": {"StringEquals": {"aws:ResourceTag/PanicButton": "enabled"}}}
    ec2 = roles.client_of(roles.make("Interrupter", [grant]), "ec2")
    error = _error(ec2.get_console_output, InstanceId=untagged)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Code"] == "UnauthorizedOperation"
    assert error.response["Error"]["Message"].startswith(
        f"You are not authorized to perform this operation. {_who('Interrupter')} ec2:GetConsoleOutput on "
        f"resource: arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{untagged} because no identity-based policy allows")
    assert "Encoded authorization failure message: " in error.response["Error"]["Message"]
    assert ec2.get_console_output(InstanceId=tagged)["InstanceId"] == tagged  # the opted-in one reaches moto


def test_sns_denial_is_authorization_error_and_cloudwatch_access_denied(roles: Roles) -> None:
    role = roles.make("Notifier", [])
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="outcomes")["TopicArn"]
    sns_error = _error(roles.client_of(role, "sns").publish, TopicArn=topic, Message="m")
    assert (sns_error.response["Error"]["Code"], sns_error.response["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("AuthorizationError", 403)
    assert sns_error.response["Error"]["Message"].startswith(f"{_who('Notifier')} sns:Publish on resource: {topic}")
    cloudwatch_error = _error(roles.client_of(role, "cloudwatch").delete_alarms, AlarmNames=["panic-button-i-1"])
    assert (cloudwatch_error.response["Error"]["Code"],
            cloudwatch_error.response["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)


def test_sse_kms_read_needs_a_key_policy_that_delegates_to_iam(roles: Roles) -> None:
    kms = boto3.client("kms", region_name=REGION)
    admin_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                  "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"}}]}
    key = kms.create_key(Policy=json.dumps(admin_only))["KeyMetadata"]
    admin_s3 = boto3.client("s3", region_name=REGION)
    admin_s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}}]})
    admin_s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")
    s3 = roles.client_of(roles.make("KeyUser", [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]}]), "s3")
    error = _error(s3.get_object, Bucket=BUCKET, Key="k")
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["Error"]["Message"] == (
        f"{_who('KeyUser')} kms:Decrypt on resource: {key['Arn']} because no resource-based policy allows the "
        "kms:Decrypt action")
