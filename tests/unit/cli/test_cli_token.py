"""`schuldenlab token`: signed with the configured key, and personal for reviewing roles."""

from __future__ import annotations

import pytest

from schuldenlab.cli import main
from servicekit.auth import verify_token

KEY = "cli-test-key-0123456789-0123456789-0123456789"


def run(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("SCHULDENLAB_JWT_SECRET", KEY)
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out = capsys.readouterr()
    return exit_.value.code, out.out.strip(), out.err


def test_an_operator_token_needs_no_subject(monkeypatch, capsys):
    code, token, _ = run(monkeypatch, capsys, "token", "--role", "operator")
    assert code == 0 and verify_token(KEY, token).roles == {"operator"}


def test_a_token_carries_the_role_and_subject_asked_for(monkeypatch, capsys):
    code, token, _ = run(monkeypatch, capsys, "token", "--role", "lab", "--subject", "kwartiermaker-mvs")
    assert code == 0
    principal = verify_token(KEY, token)
    assert principal.roles == {"lab"} and principal.subject == "kwartiermaker-mvs"


@pytest.mark.parametrize("role", ["board", "assessor", "lab", "integrator"])
def test_every_role_but_operator_needs_a_named_holder(monkeypatch, capsys, role):
    code, token, err = run(monkeypatch, capsys, "token", "--role", role)
    assert code == 2 and token == "" and "--subject" in err
