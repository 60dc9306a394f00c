"""The README documents every setting and every CLI command."""

from __future__ import annotations

from pathlib import Path

from click import Group

from mina import exporters
from mina.cli import main
from mina.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    for name in Settings.model_fields:
        assert f"| `MINA_{name.upper()}` |" in README, f"MINA_{name.upper()} is not documented"


def test_every_cli_command_is_in_the_readme() -> None:
    def walk(group: Group, prefix: str) -> list[str]:
        names = []
        for name, command in group.commands.items():
            if isinstance(command, Group):
                names += walk(command, f"{prefix}{name} ")
            else:
                names.append(f"{prefix}{name}")
        return names

    for command in walk(main, "mina "):
        assert command in README, f"`{command}` is not documented in the README"


def test_readme_quickstart_is_the_two_commands() -> None:
    assert "make run" in README and "make test" in README
    assert "make test" in (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()


def test_every_export_format_is_in_the_readme_table() -> None:
    formats = exporters.list_formats()
    assert len(formats) >= 7
    for found in formats:
        row = f"| `{found.extension}` |"
        assert row in README, f"export format {found.extension} is not documented in the README"
    assert "GET /api/meetings/{id}/export/{fmt}" in README
