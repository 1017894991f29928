"""IAM condition operators, as the IAM policy reference documents them.

A request context maps a condition key (case-insensitive) to its values; a key absent from the context
is simply not there. Documented semantics kept here:
- a positive operator on a missing key is false; a negated one (StringNotEquals, ArnNotLike, ...) is true;
- `...IfExists` is true when the key is missing;
- `Null: true` holds when the key is missing, `Null: false` when it is present;
- `ForAnyValue:` holds when any request value matches (false for a missing key), `ForAllValues:` when
  every request value matches (true for a missing key or no values);
- several values in the policy are OR-ed, several keys and several operators of a block are AND-ed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

RequestContext = Mapping[str, Sequence[str]]  # condition key (lower-case) -> its values


def glob_matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` is any run of characters, `?` one character; nothing else is special (unlike fnmatch)."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return _glob(pattern).fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def arn_matches(pattern: str, arn: str) -> bool:
    """ArnLike: each of the six colon-separated parts is matched on its own, so `*` cannot span a colon
    of the first five; the last part (the resource) may itself hold colons."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(glob_matches(w, a) for w, a in zip(wanted, actual, strict=True))


def _string_equals(policy: str, value: str) -> bool:
    return policy == value


def _string_equals_ignore_case(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


def _bool(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def matches(policy: str, value: str) -> bool:
        try:
            return compare(float(value), float(policy))
        except ValueError:
            return False

    return matches


# name -> (matches one request value against one policy value, negated?)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "stringequals": (_string_equals, False),
    "stringnotequals": (_string_equals, True),
    "stringequalsignorecase": (_string_equals_ignore_case, False),
    "stringnotequalsignorecase": (_string_equals_ignore_case, True),
    "stringlike": (glob_matches, False),
    "stringnotlike": (glob_matches, True),
    "arnequals": (arn_matches, False),
    "arnlike": (arn_matches, False),
    "arnnotequals": (arn_matches, True),
    "arnnotlike": (arn_matches, True),
    "bool": (_bool, False),
    "numericequals": (_numeric(lambda v, p: v == p), False),
    "numericnotequals": (_numeric(lambda v, p: v == p), True),
    "numericlessthan": (_numeric(lambda v, p: v < p), False),
    "numericlessthanequals": (_numeric(lambda v, p: v <= p), False),
    "numericgreaterthan": (_numeric(lambda v, p: v > p), False),
    "numericgreaterthanequals": (_numeric(lambda v, p: v >= p), False),
}


class UnsupportedCondition(ValueError):
    """A condition operator this evaluator does not know: never silently true or false."""


def condition_block_holds(block: Mapping[str, Mapping[str, Any]], context: RequestContext) -> bool:
    """True when every operator of a statement's Condition block holds for `context`."""
    return all(
        _operator_holds(operator, key.lower(), _as_list(policy_values), context)
        for operator, keys in block.items()
        for key, policy_values in keys.items()
    )


def _operator_holds(operator: str, key: str, policy_values: list[str], context: RequestContext) -> bool:
    name = operator.lower()
    qualifier = ""
    if ":" in name:
        qualifier, name = name.split(":", 1)
    if_exists = name.endswith("ifexists") and name != "null"
    name = name.removesuffix("ifexists")
    values = context.get(key)
    if name == "null":
        wants_missing = policy_values[0].lower() == "true"
        return (values is None) == wants_missing
    if name not in _OPERATORS:
        raise UnsupportedCondition(f"condition operator {operator} is not supported by the sandbox's IAM")
    matches, negated = _OPERATORS[name]
    if values is None:
        if qualifier == "forallvalues":
            return True
        return if_exists or (negated and qualifier != "foranyvalue")

    def one_matches(value: str) -> bool:
        return any(matches(policy, value) for policy in policy_values)

    if qualifier == "forallvalues":
        hits = [one_matches(value) for value in values]
        return all(not hit for hit in hits) if negated else all(hits)
    if negated:  # a negated operator holds when no request value matches any policy value
        return not any(one_matches(value) for value in values)
    return any(one_matches(value) for value in values)


def _as_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in items]


__all__ = ["RequestContext", "UnsupportedCondition", "arn_matches", "condition_block_holds", "glob_matches"]
