"""The JSON Schema files are what the models generate, and describe the payloads truthfully."""

import json

import pytest

from schuldenlab_contracts import EVENTS
from schuldenlab_contracts.schemas import SCHEMA_DIR, check, generated_schemas, main, render


def test_schema_files_on_disk_equal_what_the_models_generate():
    assert check(SCHEMA_DIR) == []


def test_there_is_one_schema_file_per_event_type():
    assert sorted(p.stem for p in SCHEMA_DIR.glob("*.json")) == sorted(s.ce_type for s in EVENTS)


def test_schema_files_are_pretty_sorted_and_end_with_a_newline():
    for path in SCHEMA_DIR.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert text == render(json.loads(text))
        assert text.endswith("}\n")


def test_every_schema_has_an_id_and_a_title():
    for spec in EVENTS:
        schema = generated_schemas()[spec.ce_type]
        assert schema["$id"].endswith(f"/v1/{spec.ce_type}.json")
        assert schema["title"] == spec.name
        assert schema["additionalProperties"] is False


def test_check_reports_stale_and_extra_files(tmp_path):
    for ce_type, schema in generated_schemas().items():
        (tmp_path / f"{ce_type}.json").write_text(render(schema), encoding="utf-8")
    first = min(tmp_path.glob("*.json"))
    first.write_text("{}\n", encoding="utf-8")
    (tmp_path / "nl.schuldenlab.old.v1.json").write_text("{}\n", encoding="utf-8")
    problems = check(tmp_path)
    assert f"differs from the models: {first}" in problems
    assert any(p.startswith("extra:") for p in problems)


def test_the_command_line_check_passes_on_the_committed_files():
    assert main(["--check"]) == 0


def test_the_command_line_compat_passes_against_the_committed_files():
    assert main(["--compat", str(SCHEMA_DIR)]) == 0


def test_sample_payloads_validate_against_their_published_schema(samples):
    jsonschema = pytest.importorskip("jsonschema")
    schemas = generated_schemas()
    for payload in samples.values():
        schema = schemas[next(s.ce_type for s in EVENTS if s.model is type(payload))]
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.Draft202012Validator(schema).validate(payload.model_dump(mode="json"))
