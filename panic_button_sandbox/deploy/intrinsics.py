"""Resolve CloudFormation intrinsic functions against the resources the deployer has created."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

NO_VALUE = object()  # AWS::NoValue: drops the property or list item that holds it
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class TemplateError(ValueError):
    """The template uses something this resolver cannot resolve."""


class Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If and friends.

    `ref` and `get_att` answer for resources (by logical id); parameters, pseudo parameters, mappings
    and conditions come from the template itself.
    """

    def __init__(
        self,
        template: dict[str, Any],
        pseudo_parameters: dict[str, Any],
        ref: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
    ) -> None:
        self._template = template
        self._pseudo = pseudo_parameters
        self._ref = ref
        self._get_att = get_att
        self._parameters = {
            name: _parameter_default(name, spec) for name, spec in template.get("Parameters", {}).items()
        }
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self._template.get("Conditions", {})
            if name not in definitions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(definitions[name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, argument)] = value.items()
            function = _FUNCTIONS.get(key)
            if key == "Condition" and not isinstance(argument, str):
                function = None  # an IAM statement's Condition block, not the intrinsic
            if function is not None:
                return function(self, argument)
            if key.startswith("Fn::"):
                raise TemplateError(f"intrinsic function {key} is not supported by the sandbox deployer")
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        return self._ref(name)

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        values = {name: self.resolve(item) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _get_att_of(self, argument: Any) -> Any:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return self._get_att(logical_id, self.resolve(attribute))

    def _find_in_map(self, argument: Any) -> Any:
        map_name, first, second = (self.resolve(item) for item in argument)
        return self._template["Mappings"][map_name][first][second]


def _parameter_default(name: str, spec: dict[str, Any]) -> Any:
    if "Default" not in spec:
        raise TemplateError(f"parameter {name} has no Default; the sandbox deploys with defaults only")
    default = spec["Default"]
    if spec.get("Type", "").startswith("List<") or spec.get("Type") == "CommaDelimitedList":
        return [item.strip() for item in str(default).split(",")]
    return default


def references(value: Any) -> set[str]:
    """Names a template fragment refers to (resource logical ids among them)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item.split(".")[0] if isinstance(item, str) else item[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {name.split(".")[0] for name in _SUB_VARIABLE.findall(text) if not name.startswith("!")}
                found |= references(item[1] if isinstance(item, list) else [])
            else:
                found |= references(item)
    return found


def _if(resolver: Resolver, argument: list[Any]) -> Any:
    name, when_true, when_false = argument
    return resolver.resolve(when_true if resolver.condition(name) else when_false)


def _select(resolver: Resolver, argument: list[Any]) -> Any:
    index, items = (resolver.resolve(item) for item in argument)
    return items[int(index)]


def _split(resolver: Resolver, argument: list[Any]) -> list[str]:
    delimiter, text = (resolver.resolve(item) for item in argument)
    return str(text).split(delimiter)


def _join(resolver: Resolver, argument: list[Any]) -> str:
    delimiter, items = argument[0], resolver.resolve(argument[1])
    return str(delimiter).join(str(item) for item in items)


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": lambda r, a: r.ref(a),
    "Fn::GetAtt": lambda r, a: r._get_att_of(a),
    "Fn::Join": _join,
    "Fn::Sub": lambda r, a: r._sub(a),
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": lambda r, a: r.resolve(a[0]) == r.resolve(a[1]),
    "Fn::And": lambda r, a: all(r.resolve(item) for item in a),
    "Fn::Or": lambda r, a: any(r.resolve(item) for item in a),
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Condition": lambda r, a: r.condition(a),
    "Fn::Base64": lambda r, a: base64.b64encode(str(r.resolve(a)).encode()).decode(),
    "Fn::GetAZs": lambda r, a: [f"{r.ref('AWS::Region')}{zone}" for zone in "abc"],
    "Fn::FindInMap": lambda r, a: r._find_in_map(a),
}
