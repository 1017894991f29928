"""`simulate` and `demo` check their input the same way, before the sandbox starts: bad input is one line
with the fix and exit code 2; a sandbox that breaks while running is one line and exit code 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from panic_button_cli.main import main
from panic_button_cli.sandbox_arguments import KERNEL_TIME_SCALE, MAX_TIME_SCALE, checked_time_scale
from panic_button_sandbox.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
INPUT = '{"instance_id": "${INSTANCE_ID}"}'


@pytest.fixture
def sandbox_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every sandbox start; the start itself fails, so a check that lets bad input through ends in
    exit code 3 here instead of a real run."""
    started: list[str] = []

    def start(self: Sandbox) -> None:
        started.append(str(self.workdir))
        raise RuntimeError("the sandbox was started")

    monkeypatch.setattr(Sandbox, "start", start)
    return started


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _simulate(*extra: str, spec: str = "linux.json") -> list[str]:
    return ["simulate", "--instance", str(EXAMPLES / spec), "--input", INPUT, *extra]


def _demo(tmp_path: Path, *extra: str) -> list[str]:
    return ["demo", "--output", str(tmp_path / "demo-output"), *extra]


@pytest.mark.parametrize("scale", ["-1", "0", "nan", "inf", str(MAX_TIME_SCALE * 2)])
def test_a_bad_time_scale_is_the_same_error_for_both(sandbox_starts: list[str], capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path, sandbox_cdk_out: Path, scale: str) -> None:
    simulated = _run(capsys, *_simulate("--time-scale", scale, "--cdk-out", str(sandbox_cdk_out)))
    demonstrated = _run(capsys, *_demo(tmp_path, "--time-scale", scale, "--cdk-out", str(sandbox_cdk_out)))

    assert simulated == demonstrated
    code, out, err = simulated
    assert (code, out) == (2, "")  # nothing printed before the check: no "every wait runs -1x faster"
    assert err.startswith(f"error: --time-scale {float(scale):g} ") and err.count("\n") == 1
    assert "; pass " in err
    assert sandbox_starts == []


def test_a_real_kernel_is_refused_a_scale_it_cannot_keep_up_with(sandbox_starts: list[str], sandbox_cdk_out: Path,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    demonstrated = _run(capsys, *_demo(tmp_path, "--kernel", "--time-scale", "100", "--cdk-out", str(sandbox_cdk_out)))
    simulated = _run(capsys, *_simulate("--time-scale", "100", "--cdk-out", str(sandbox_cdk_out),
                                        spec="real-kernel.json"))

    assert demonstrated == simulated
    assert demonstrated == (2, "", "error: --time-scale 100 is too fast for a real kernel, which reboots in real "
                                   "time (~20 s); pass --time-scale 10 (at most 20)\n")
    assert sandbox_starts == []


def test_without_a_time_scale_a_real_kernel_runs_at_its_own_default() -> None:
    assert checked_time_scale(None, real_kernel=True) == KERNEL_TIME_SCALE
    assert checked_time_scale(None, real_kernel=False) == 100


def test_a_missing_cloud_assembly_says_to_synthesize(sandbox_starts: list[str], capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    for argv in (_demo(tmp_path, "--cdk-out", "/nonexistent"), _simulate("--cdk-out", "/nonexistent")):
        code, _, err = _run(capsys, *argv)

        assert code == 2
        assert err == "error: --cdk-out /nonexistent holds no cloud assembly; run make synth (or pass --cdk-out DIR)\n"
    assert sandbox_starts == []


def test_a_stale_cloud_assembly_says_to_synthesize(sandbox_starts: list[str], capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    stale = tmp_path / "cdk.out"
    (stale / "asset.abc" / "panic_button").mkdir(parents=True)
    (stale / "asset.abc" / "panic_button" / "__init__.py").write_text("# an older panic_button\n")
    (stale / "manifest.json").write_text(json.dumps({"artifacts": {"PanicButton": {
        "type": "aws:cloudformation:stack"}}}))
    (stale / "PanicButton.template.json").write_text(json.dumps({"Resources": {"ResolveTarget": {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Runtime": "python3.14", "Handler": "panic_button.handlers.handle_resolve_target.handler",
                       "Code": {"S3Key": "abc.zip"}}}}}))

    for argv in (_demo(tmp_path, "--cdk-out", str(stale)), _simulate("--cdk-out", str(stale))):
        code, _, err = _run(capsys, *argv)

        assert code == 2
        assert err.startswith(f"error: --cdk-out {stale} is older than the code: function ResolveTarget ")
        assert err.endswith("; run make synth (or pass --cdk-out DIR)\n") and err.count("\n") == 1
    assert sandbox_starts == []


@pytest.mark.parametrize("case", [
    ({}, "no 'source' or 'detail-type'"),
    ([], "not a JSON object"),
    ({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change", "detail": []},
     "'detail' is not an object"),
    ({"source": "aws.cloudwatch", "detail-type": "x", "time": "yesterday"},
     "'time' 'yesterday' is not an ISO 8601 time"),
], ids=["empty", "list", "detail", "time"])
def test_an_event_eventbridge_cannot_test_is_bad_input(sandbox_starts: list[str], capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path, sandbox_cdk_out: Path,
                                                       case: tuple[object, str]) -> None:
    event, problem = case
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))

    code, _, err = _run(capsys, "simulate", "--instance", str(EXAMPLES / "linux.json"), "--event", str(path),
                        "--cdk-out", str(sandbox_cdk_out))

    assert (code, err) == (2, f"error: --event {path}: {problem}; start from examples/alarm-event.json\n")
    assert sandbox_starts == []


def test_no_trigger_is_bad_input(sandbox_starts: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "simulate", "--instance", str(EXAMPLES / "linux.json"))

    assert (code, err) == (2, "error: no trigger given; pass at least one --event FILE or --input JSON\n")


def test_a_sandbox_that_breaks_is_one_line_and_exit_3(sandbox_starts: list[str], capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path, sandbox_cdk_out: Path) -> None:
    code, _, err = _run(capsys, *_demo(tmp_path, "--cdk-out", str(sandbox_cdk_out)))

    logs = tmp_path / "demo-output" / "lambda-logs.jsonl"
    assert (code, err) == (3, f"error: sandbox failed: RuntimeError: the sandbox was started; see the Lambda logs "
                              f"in {logs}\n")
    assert len(sandbox_starts) == 1


def test_demo_help_describes_the_demo_and_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])

    text = " ".join(capsys.readouterr().out.split())
    assert "Watch Panic Button rescue hung instances" in text
    assert "(default: demo-output)" in text
    assert "(default: 100, with --kernel 10;" in text
    assert "(default: cdk.out/sandbox," in text
    assert f"at most {MAX_TIME_SCALE:g}" in text
