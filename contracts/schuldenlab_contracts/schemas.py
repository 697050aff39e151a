"""JSON Schema export of the event models, and the checks CI runs on the exported files.

Usage: python -m schuldenlab_contracts.schemas --write | --check | --compat BASELINE_DIR
What --compat counts as breaking is documented in schuldenlab_contracts.compat.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .compat import breaking_changes
from .registry import EVENTS

__all__ = [
    "SCHEMA_DIR",
    "breaking_against",
    "breaking_changes",
    "check",
    "generated_schemas",
    "main",
    "render",
]

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "v1"
ID_BASE = "https://schuldenlab.nl/schemas/v1/"


def generated_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every event model, keyed by ce_type (the file name without .json)."""
    schemas: dict[str, dict[str, Any]] = {}
    for spec in EVENTS:
        schema = spec.model.model_json_schema()
        schema.update(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"{ID_BASE}{spec.ce_type}.json",
                "title": spec.name,
                "x-ce-type": spec.ce_type,
                "x-kafka-topic": spec.topic,
                "x-kafka-key": spec.key_field,
                "x-compacted": spec.compacted,
            }
        )
        schemas[spec.ce_type] = schema
    return schemas


def render(schema: dict[str, Any]) -> str:
    """The exact file text of a schema: stable formatting so diffs show only real changes."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- command line --------------------------------------------------------------------------------


def _write(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    expected = {f"{name}.json": render(schema) for name, schema in generated_schemas().items()}
    for stale in sorted(directory.glob("*.json")):
        if stale.name not in expected:
            stale.unlink()
            print(f"removed {stale}")
    for file_name, text in expected.items():
        path = directory / file_name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0


def check(directory: Path = SCHEMA_DIR) -> list[str]:
    """Problems between the schema files in `directory` and what the models generate; [] if none."""
    expected = {f"{name}.json": render(schema) for name, schema in generated_schemas().items()}
    on_disk = {p.name: p for p in directory.glob("*.json")} if directory.is_dir() else {}
    problems = [f"missing: {directory / name}" for name in sorted(set(expected) - set(on_disk))]
    problems += [f"extra: {on_disk[name]}" for name in sorted(set(on_disk) - set(expected))]
    for name in sorted(set(expected) & set(on_disk)):
        if on_disk[name].read_text(encoding="utf-8") != expected[name]:
            problems.append(f"differs from the models: {on_disk[name]}")
    return problems


def breaking_against(baseline: Path) -> list[str]:
    """Breaking changes of the generated schemas against the schema files in `baseline`."""
    current = generated_schemas()
    problems: list[str] = []
    for path in sorted(baseline.glob("*.json")):
        name = path.stem
        if name not in current:
            problems.append(f"{name}: event type removed")
            continue
        old = json.loads(path.read_text(encoding="utf-8"))
        problems += [f"{name}: {change}" for change in breaking_changes(old, current[name])]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m schuldenlab_contracts.schemas", description=__doc__.splitlines()[0]
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help=f"(re)write {SCHEMA_DIR}")
    mode.add_argument("--check", action="store_true", help="fail if the files are out of date")
    mode.add_argument(
        "--compat",
        metavar="BASELINE_DIR",
        type=Path,
        help="fail on changes that break v1 against the schemas in BASELINE_DIR",
    )
    args = parser.parse_args(argv)

    if args.write:
        return _write(SCHEMA_DIR)
    if args.check:
        problems = check(SCHEMA_DIR)
        hint = "run `python -m schuldenlab_contracts.schemas --write` and commit the result"
    else:
        if not args.compat.is_dir():
            parser.error(f"baseline directory not found: {args.compat}")
        problems = breaking_against(args.compat)
        hint = "breaking changes need a new .v2 event (topic and ce_type), not a change to v1"
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(hint, file=sys.stderr)
        return 1
    print("schemas OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
