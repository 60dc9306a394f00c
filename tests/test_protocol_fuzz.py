"""Streaming protocol v1 under fuzzing (tests/protocolfuzz.py), a bounded number of examples
against a real server with the fake engine; ``python -m bench fuzz`` runs the long version."""

from __future__ import annotations

import pytest

from mina.settings import Settings
from tests.liveserver import live_server
from tests.protocolfuzz import fuzz_settings, install_fault, run_fuzz

EXAMPLES = 120  # per database; `python -m bench fuzz` runs 5,000


def test_the_protocol_keeps_its_promises_under_fuzzing(
    settings: Settings, ada_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fault(monkeypatch)
    with live_server(fuzz_settings(settings)) as server:
        run_fuzz(server, ada_token, examples=EXAMPLES)
