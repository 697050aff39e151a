"""breaking_changes spots changes that break old or new readers, and lets additive ones through."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schuldenlab_contracts.schemas import breaking_changes, generated_schemas


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class FewerColours(StrEnum):
    RED = "red"


class MoreColours(StrEnum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Inner(Closed):
    city: str
    size: int | None = None


class Old(Closed):
    name: Annotated[str, Field(max_length=100)]
    count: Annotated[int, Field(ge=0)]
    score: float
    colour: Colour
    tags: Annotated[list[str], Field(max_length=10)]
    inner: Inner
    note: str | None = None


def _changes(new_model: type[BaseModel]) -> list[str]:
    return breaking_changes(Old.model_json_schema(), new_model.model_json_schema())


def test_an_unchanged_schema_has_no_breaking_changes():
    assert _changes(Old) == []
    for schema in generated_schemas().values():
        assert breaking_changes(schema, schema) == []


def test_a_new_optional_field_is_not_breaking():
    class New(Old):
        extra_info: str | None = None
        more: list[int] = []

    assert _changes(New) == []


def test_documentation_changes_are_not_breaking():
    class New(Closed):
        """Now with a docstring."""

        name: Annotated[str, Field(max_length=100, description="The name", title="Naam")]
        count: Annotated[int, Field(ge=0, examples=[3])]
        score: float
        colour: Colour
        tags: Annotated[list[str], Field(max_length=10)]
        inner: Inner
        note: str | None = None

    assert _changes(New) == []


def test_widening_is_breaking_because_old_consumers_would_refuse_the_new_values():
    class WiderInner(Closed):
        city: str
        size: int | str | None = None

    class New(Closed):
        name: Annotated[str, Field(max_length=500)]
        count: int
        score: float
        colour: MoreColours
        tags: list[str]
        inner: WiderInner
        note: str | None = None

    assert sorted(_changes(New)) == [
        "$.colour: enum value(s) added: 'blue'",
        "$.count: minimum 0 dropped",
        "$.inner.size: type widened; now also accepts string",
        "$.name: maxLength loosened from 100 to 500",
        "$.tags: maxItems 10 dropped",
    ]


def test_a_removed_property_is_breaking():
    class New(Closed):
        name: Annotated[str, Field(max_length=100)]
        count: Annotated[int, Field(ge=0)]
        score: float
        colour: Colour
        tags: Annotated[list[str], Field(max_length=10)]
        inner: Inner

    assert _changes(New) == ["$.note: property removed (or renamed)"]


def test_a_renamed_property_is_breaking_as_a_removal():
    class New(Old):
        title: Annotated[str, Field(max_length=100)]

    old = Old.model_json_schema()
    new = New.model_json_schema()
    new["properties"].pop("name")
    new["required"].remove("name")
    assert "$.name: property removed (or renamed)" in breaking_changes(old, new)


def test_a_removed_property_of_a_nested_model_names_its_path():
    class SmallerInner(Closed):
        city: str

    class New(Old):
        inner: SmallerInner

    assert _changes(New) == ["$.inner.size: property removed (or renamed)"]


def test_a_newly_required_field_is_breaking():
    class New(Old):
        region: str

    assert _changes(New) == ["$.region: newly required"]


def test_an_optional_field_becoming_required_is_breaking():
    class New(Old):
        note: str

    changes = _changes(New)
    assert "$.note: newly required" in changes
    assert "$.note: type narrowed; no longer accepts null" in changes


def test_removing_a_type_from_a_union_is_breaking():
    class NarrowInner(Closed):
        city: str
        size: int = 0

    class New(Old):
        inner: NarrowInner

    assert _changes(New) == ["$.inner.size: type narrowed; no longer accepts null"]


def test_changing_a_type_is_breaking():
    class New(Old):
        score: int

    assert _changes(New) == ["$.score: type narrowed; no longer accepts number"]


def test_a_removed_enum_value_is_breaking():
    class New(Old):
        colour: FewerColours

    assert _changes(New) == ["$.colour: enum value(s) removed: 'green'"]


def test_lowering_a_max_length_is_breaking():
    class New(Old):
        name: Annotated[str, Field(max_length=50)]

    assert _changes(New) == ["$.name: maxLength tightened from 100 to 50"]


def test_raising_a_minimum_is_breaking():
    class New(Old):
        count: Annotated[int, Field(ge=1)]

    assert _changes(New) == ["$.count: minimum tightened from 0 to 1"]


def test_adding_a_bound_or_pattern_where_there_was_none_is_breaking():
    class New(Old):
        score: Annotated[float, Field(le=10)]
        inner: Inner
        note: Annotated[str, Field(pattern="^x")] | None = None

    assert sorted(_changes(New)) == [
        "$.note: pattern '^x' added",
        "$.score: maximum 10 added",
    ]


def test_lowering_max_items_and_tightening_items_is_breaking():
    class New(Old):
        tags: Annotated[list[Annotated[str, Field(max_length=5)]], Field(max_length=3)]

    assert sorted(_changes(New)) == [
        "$.tags: maxItems tightened from 10 to 3",
        "$.tags[]: maxLength 5 added",
    ]


def test_a_removed_phase_code_in_a_published_schema_is_breaking():
    old = generated_schemas()["nl.schuldenlab.project.submitted.v1"]
    new = {**old, "$defs": {**old["$defs"]}}
    phase = dict(new["$defs"]["Phase"])
    phase["enum"] = [v for v in phase["enum"] if v != "aftercare"]
    new["$defs"]["Phase"] = phase
    assert breaking_changes(old, new) == [
        "$.phases[]: enum value(s) removed: 'aftercare'",
    ]
