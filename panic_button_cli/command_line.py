"""Words of the command line that argparse would misread, put right before it parses them."""

from __future__ import annotations

from collections.abc import Sequence

# Options whose value may itself start with "-" (a typo like `--since -5h`): argparse would take the value
# for an option and answer "expected one argument" instead of letting the value's own check say what is wrong.
DASHED_VALUE_OPTIONS = frozenset({"--since"})


def attach_dashed_values(argv: Sequence[str]) -> list[str]:
    """`--since -5h` becomes `--since=-5h`; a following long option (`--since --json`) stays a missing value."""
    words: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if word in DASHED_VALUE_OPTIONS and following.startswith("-") and not following.startswith("--"):
            words.append(f"{word}={following}")
            index += 2
            continue
        words.append(word)
        index += 1
    return words
