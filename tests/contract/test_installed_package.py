"""The contracts package as an integrator installs it: a wheel that ships its JSON Schemas and py.typed."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pydantic
import pytest

from schuldenlab_contracts import EVENTS
from schuldenlab_contracts.schemas import SCHEMA_DIR

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: hatchling comes with the test dependencies, so this needs no network.
    built = _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                 CONTRACTS, "-w", out, cwd=out)
    assert built.returncode == 0, built.stderr
    [path] = out.glob("schuldenlab_contracts-*.whl")
    return path


def test_the_wheel_ships_every_published_schema_unchanged_and_py_typed(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = {name.rsplit("/", 1)[-1]: archive.read(name) for name in names
                   if name.startswith("schuldenlab_contracts/schema_files/v1/")}
    assert "schuldenlab_contracts/py.typed" in names
    assert sorted(shipped) == sorted(f"{spec.ce_type}.json" for spec in EVENTS)
    for file_name, content in shipped.items():
        assert content == (SCHEMA_DIR / file_name).read_bytes(), file_name


def test_the_schema_check_passes_in_a_fresh_environment_with_only_the_wheel_installed(wheel, tmp_path):
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
                     "--no-index", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    # pydantic (its only dependency) is lent from this environment rather than downloaded, so the test
    # needs no network; a .pth line adds the directory without its .pth files, so the editable copy of
    # the contracts installed here stays out of sight.
    [venv_site] = (venv / "lib").glob("python3*/site-packages")
    (venv_site / "lend_pydantic.pth").write_text(str(Path(pydantic.__file__).parents[1]) + "\n", encoding="utf-8")

    check = _run(python, "-m", "schuldenlab_contracts.schemas", "--check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "schemas OK"
    where = _run(python, "-c", "import schuldenlab_contracts.schemas as s; print(s.__file__); print(s.SCHEMA_DIR)",
                 cwd=tmp_path)
    module_file, schema_dir = where.stdout.split()
    assert Path(module_file).is_relative_to(venv_site) and Path(schema_dir).is_relative_to(venv_site)
