"""Reversible monkeypatches: the sandbox changes moto's classes only while it runs."""

from __future__ import annotations

from typing import Any

_ABSENT = object()


class Patches:
    """Replace attributes on classes or modules and put every original back on `undo_all`."""

    def __init__(self) -> None:
        self._originals: list[tuple[object, str, Any]] = []

    def replace(self, owner: object, name: str, value: Any) -> Any:
        """Set `owner.name = value`; return what `owner.name` was before (None if nothing)."""
        # A class may inherit the attribute: undo must then delete ours rather than copy the parent's down.
        own = owner.__dict__.get(name, _ABSENT) if isinstance(owner, type) else getattr(owner, name, _ABSENT)
        previous = getattr(owner, name, None)
        self._originals.append((owner, name, own))
        setattr(owner, name, value)
        return previous

    def undo_all(self) -> None:
        while self._originals:
            owner, name, original = self._originals.pop()
            if original is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
