"""Which differences between two versions of an event's JSON Schema break v1 compatibility.

Producers and consumers are deployed independently and the compacted feed is replayed, so a v1
change must keep two promises (STYLE.md: only backward- and forward-compatible changes):
  backward: every event valid under the old schema stays valid under the new one (new consumers
    read old records);
  forward: every event valid under the new schema is valid under the old one, apart from unknown
    properties, which consumers ignore as tolerant readers (old consumers read new records).

What `breaking_changes` reports, each with the path ($ = the payload, [] = an array item):
  - a property removed (a rename shows up as a removal), or newly required (new or optional before);
  - a type accepted by one version and not the other: in `type` or an anyOf/oneOf member,
    including null and number versus integer ("narrowed" or "widened");
  - an enum/const value removed or added, or an enum/const restriction added or dropped;
  - a bound changed: maxLength, maxItems, maxProperties, maximum, exclusiveMaximum,
    minLength, minItems, minProperties, minimum, exclusiveMinimum tightened, loosened, added
    or dropped;
  - a `pattern` or `format` added, changed or dropped; uniqueItems switched on or off;
    additionalProperties switched to false.
Compatible, so not reported: a new property that is not required (it needs a default), and changes
to annotations such as title, description, default and examples.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["breaking_changes"]

_ALL_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
# Lowering a _MAX_BOUNDS keyword narrows what is accepted; raising a _MIN_BOUNDS keyword does.
_MAX_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_MIN_BOUNDS = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")


def breaking_changes(old_schema: dict[str, Any], new_schema: dict[str, Any]) -> list[str]:
    """Every change from old_schema to new_schema that breaks v1 compatibility (see module doc)."""
    # One walk finds what `b` refuses of `a`; walking old->new finds narrowings, new->old widenings.
    backward = _Walk(old_schema, new_schema, forward=False).run()
    forward = _Walk(new_schema, old_schema, forward=True).run()
    return list(dict.fromkeys([*backward, *forward]))  # dedupe, keep order


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _resolve(node: Any, root: dict[str, Any], seen: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Inline local $refs and single-member allOf wrappers, keeping sibling keywords."""
    if not isinstance(node, dict):
        return {}  # boolean schemas: treated as unconstrained
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {**_resolve(target, root, seen | {ref}), **siblings}
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        siblings = {k: v for k, v in node.items() if k != "allOf"}
        return {**_resolve(all_of[0], root, seen), **siblings}
    return node


def _enum(node: dict[str, Any]) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    return node.get("enum")


def _types(node: dict[str, Any]) -> frozenset[str]:
    if "type" in node:
        declared = node["type"]
        return frozenset([declared] if isinstance(declared, str) else declared)
    values = _enum(node)
    if values is not None:
        return frozenset(_json_type(v) for v in values)
    if "properties" in node:
        return frozenset({"object"})
    if "items" in node:
        return frozenset({"array"})
    return _ALL_TYPES


def _covers(wider: frozenset[str], narrower: frozenset[str]) -> bool:
    # Every integer is a number, so a number branch accepts integers too.
    return narrower <= (wider | ({"integer"} if "number" in wider else set()))


def _tighter(keyword: str, a: float, b: float) -> bool:
    return b < a if keyword in _MAX_BOUNDS else b > a


class _Walk:
    """Finds what schema `b` refuses of what schema `a` accepts, and words it as old -> new."""

    def __init__(self, a_root: dict[str, Any], b_root: dict[str, Any], *, forward: bool) -> None:
        self.a_root, self.b_root, self.forward = a_root, b_root, forward
        self._active: set[tuple[int, int]] = set()

    def run(self) -> list[str]:
        return list(
            self.node(_resolve(self.a_root, self.a_root), _resolve(self.b_root, self.b_root), "$")
        )

    def say(self, path: str, backward: str, forward: str) -> str:
        return f"{path}: {forward if self.forward else backward}"

    def branches(self, node: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
        """The alternatives a node accepts: anyOf/oneOf members, or one per type of a type list."""
        for keyword in ("anyOf", "oneOf"):
            if isinstance(node.get(keyword), list):
                return [b for m in node[keyword] for b in self.branches(_resolve(m, root), root)]
        declared = node.get("type")
        if isinstance(declared, list) and len(declared) > 1:
            return [{**node, "type": t} for t in declared]
        return [node]

    def node(self, a: dict[str, Any], b: dict[str, Any], path: str) -> Iterator[str]:
        pair = (id(a.get("properties")), id(b.get("properties")))
        if a.get("properties") is not None and pair in self._active:
            return  # a recursive definition already being compared further up
        self._active.add(pair)
        try:
            b_branches = self.branches(b, self.b_root)
            for a_branch in self.branches(a, self.a_root):
                a_types = _types(a_branch)
                match = next((x for x in b_branches if _covers(_types(x), a_types)), None)
                if match is None:
                    b_types = set().union(*(_types(x) for x in b_branches))
                    lost = ", ".join(sorted(a_types - b_types) or sorted(a_types))
                    yield self.say(
                        path,
                        f"type narrowed; no longer accepts {lost}",
                        f"type widened; now also accepts {lost}",
                    )
                else:
                    yield from self.constraints(a_branch, match, path)
        finally:
            self._active.discard(pair)

    def constraints(self, a: dict[str, Any], b: dict[str, Any], path: str) -> Iterator[str]:
        a_enum, b_enum = _enum(a), _enum(b)
        if b_enum is not None and a_enum is None:
            yield self.say(
                path,
                f"enum restriction added ({b_enum})",
                f"enum restriction dropped (was {b_enum})",
            )
        elif b_enum is not None and a_enum is not None:
            missing = ", ".join(repr(v) for v in a_enum if v not in b_enum)
            if missing:
                yield self.say(
                    path, f"enum value(s) removed: {missing}", f"enum value(s) added: {missing}"
                )

        for keyword in (*_MAX_BOUNDS, *_MIN_BOUNDS):
            if keyword not in b:
                continue
            if keyword not in a:
                yield self.say(
                    path, f"{keyword} {b[keyword]} added", f"{keyword} {b[keyword]} dropped"
                )
            elif _tighter(keyword, a[keyword], b[keyword]):
                yield self.say(
                    path,
                    f"{keyword} tightened from {a[keyword]} to {b[keyword]}",
                    f"{keyword} loosened from {b[keyword]} to {a[keyword]}",
                )
        for keyword in ("pattern", "format"):
            if keyword in b and keyword not in a:
                yield self.say(
                    path, f"{keyword} {b[keyword]!r} added", f"{keyword} {b[keyword]!r} dropped"
                )
            elif keyword in b and b[keyword] != a[keyword] and not self.forward:
                yield f"{path}: {keyword} changed from {a[keyword]!r} to {b[keyword]!r}"
        if b.get("uniqueItems") is True and a.get("uniqueItems") is not True:
            yield self.say(path, "uniqueItems switched on", "uniqueItems switched off")

        if "object" in _types(a):
            yield from self.objects(a, b, path)
        if "array" in _types(a) and isinstance(a.get("items"), dict):
            yield from self.node(
                _resolve(a["items"], self.a_root),
                _resolve(b.get("items", {}), self.b_root),
                f"{path}[]",
            )

    def objects(self, a: dict[str, Any], b: dict[str, Any], path: str) -> Iterator[str]:
        a_props: dict[str, Any] = a.get("properties", {})
        b_props: dict[str, Any] = b.get("properties", {})
        for name, a_prop in a_props.items():
            if name in b_props:
                yield from self.node(
                    _resolve(a_prop, self.a_root),
                    _resolve(b_props[name], self.b_root),
                    f"{path}.{name}",
                )
            elif not self.forward:
                yield f"{path}.{name}: property removed (or renamed)"
            # forward: a property only the new schema has is fine, old readers ignore it
        if self.forward:
            # Producers always send every field, so dropping `required` alone changes nothing
            # old readers see; additionalProperties only matters to the tolerant reader's input.
            return
        for name in sorted(set(b.get("required", [])) - set(a.get("required", []))):
            yield f"{path}.{name}: newly required"
        if b.get("additionalProperties") is False and a.get("additionalProperties") is not False:
            yield f"{path}: additionalProperties switched to false"
