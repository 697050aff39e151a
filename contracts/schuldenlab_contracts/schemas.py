"""JSON Schemas of the events (payload, record headers and key), and the checks CI runs on the files.

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

from .cloudevents import CONTENT_TYPE, SPECVERSION
from .compat import breaking_changes
from .examples import example_payload
from .registry import EVENTS, EventSpec

__all__ = [
    "SCHEMA_DIR",
    "breaking_against",
    "breaking_changes",
    "check",
    "generated_schemas",
    "main",
    "record_headers_schema",
    "record_key_schema",
    "render",
]

# In the source tree the files live beside the package (contracts/schemas/v1, reviewed in diffs);
# the wheel carries them inside the package (pyproject's force-include), so an installed copy finds
# them there and its --check compares the files it ships with the models it ships.
_PACKAGED_DIR = Path(__file__).resolve().parent / "schema_files" / "v1"
_SOURCE_DIR = Path(__file__).resolve().parent.parent / "schemas" / "v1"
SCHEMA_DIR = _PACKAGED_DIR if _PACKAGED_DIR.is_dir() else _SOURCE_DIR
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
                "examples": [example_payload(spec.ce_type).model_dump(mode="json")],
            }
        )
        schemas[spec.ce_type] = schema
    return schemas


def record_key_schema(spec: EventSpec) -> dict[str, Any]:
    """JSON Schema of the record key of this event: the aggregate id, as UTF-8 text."""
    key = spec.model.model_json_schema()["properties"][spec.key_field]
    return {
        **{k: key[k] for k in ("type", "format") if k in key},
        "description": f"The aggregate id ({spec.key_field}) in UTF-8, equal to ce_subject; the "
        "records of one aggregate share a partition, so they are read in the order written.",
    }


def record_headers_schema(spec: EventSpec) -> dict[str, Any]:
    """JSON Schema of the headers of this event's Kafka records (CloudEvents binary mode, SPEC §3).

    What to_kafka_record writes; other headers may appear (a client library's own) and are ignored.
    """
    properties = {
        "ce_specversion": {"const": SPECVERSION, "description": "CloudEvents version."},
        "ce_id": {
            "type": "string",
            "format": "uuid",
            "description": "Event id, unchanged when the event is re-published: the idempotency key.",
        },
        "ce_source": {"const": spec.ce_source, "description": f"The producer: {spec.source}."},
        "ce_type": {"const": spec.ce_type, "description": f"The event type ({spec.name})."},
        "ce_time": {
            "type": "string",
            "format": "date-time",
            "description": "When the event happened, RFC 3339 in UTC.",
        },
        "ce_subject": {
            **record_key_schema(spec),
            "description": f"The aggregate id ({spec.key_field}), equal to the record key.",
        },
        "content-type": {
            "const": CONTENT_TYPE,
            "description": "Media type of the record value; readers also accept parameters such as "
            "'; charset=utf-8', or no header at all.",
        },
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": True,
    }


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
