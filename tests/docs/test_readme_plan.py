"""The README's "what it creates and costs" section is `make plan`'s output for the current template."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from panic_button_cli.plan import BEGIN, END, cost_at_rest, readme_block

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_shows_the_current_plan(cdk_out: Path) -> None:
    readme = (REPO / "README.md").read_text()
    assert readme_block(cdk_out / "PanicButton.template.json") in readme, "run `make docs` to regenerate the plan"


def test_the_readme_counts_are_the_templates(cdk_out: Path) -> None:
    template = json.loads((cdk_out / "PanicButton.template.json").read_text())
    types = Counter(resource["Type"] for resource in template["Resources"].values())
    section = (REPO / "README.md").read_text().split(BEGIN, 1)[1].split(END, 1)[0]
    rows = re.findall(r"^\| [^|]+ \| (\d+) \| `(AWS::[A-Za-z0-9:]+)` \|$", section, flags=re.MULTILINE)
    assert {kind: int(count) for count, kind in rows} == {kind: types[kind] for _, kind in rows}
    # The kinds a reviewer asks about first are listed by name (their counts come from the template above).
    assert {"AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::KMS::Key", "AWS::S3::Bucket"} <= {k for _, k in rows}
    others = re.search(r"^\| other resources: .* \| (\d+) \| \|$", section, flags=re.MULTILINE)
    assert others is not None
    assert int(others[1]) + sum(int(count) for count, _ in rows) == sum(types.values())


def test_each_opted_in_instance_adds_one_alarm_a_month(cdk_out: Path) -> None:
    template = json.loads((cdk_out / "PanicButton.template.json").read_text())
    small, large = (sum(dollars for _, dollars in cost_at_rest(template, fleet)) for fleet in (100, 300))
    assert round(large - small, 6) == 200 * 0.10
