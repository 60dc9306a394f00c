"""Export formats by extension. A format is one render function plus its registration::

    @register_format("txt", media_type="text/plain; charset=utf-8", label="Plain text")
    def render_txt(export: MeetingExport) -> bytes: ...

The built-in formats register when their module is imported, which happens on the first lookup,
so importing Mina stays cheap and the PDF and Word libraries load only when someone exports.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from mina.exporters.document import MeetingExport

Render = Callable[[MeetingExport], bytes]

BUILTIN_MODULES = (
    "mina.exporters.pdf",
    "mina.exporters.word",
    "mina.exporters.text",
    "mina.exporters.subtitles",
    "mina.exporters.data",
)


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    media_type: str
    label: str
    render: Render


_formats: dict[str, ExportFormat] = {}
_lock = threading.Lock()
_loaded = False


def register_format(extension: str, *, media_type: str, label: str) -> Callable[[Render], Render]:
    """Register ``render`` as the exporter for ``extension`` (lower case, no dot)."""
    if not extension.isalnum() or extension != extension.lower():
        raise ValueError(f"export extension must be lower-case letters and digits: {extension!r}")

    def decorator(render: Render) -> Render:
        known = _formats.get(extension)
        if known is not None and known.render is not render:
            raise ValueError(f"export format {extension!r} is already registered")
        _formats[extension] = ExportFormat(extension, media_type, label, render)
        return render

    return decorator


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if not _loaded:
            for module in BUILTIN_MODULES:
                importlib.import_module(module)
            _loaded = True


def _menu_position(found: ExportFormat) -> int:
    module = found.render.__module__
    return BUILTIN_MODULES.index(module) if module in BUILTIN_MODULES else len(BUILTIN_MODULES)


def list_formats() -> list[ExportFormat]:
    """Every registered format in menu order: the built-ins as listed above, then the others
    (whichever module happened to be imported first)."""
    _load_builtins()
    return sorted(_formats.values(), key=_menu_position)


def get_format(extension: str) -> ExportFormat | None:
    """The format for an extension (``pdf``, ``PDF`` and ``.pdf`` alike); None if unknown."""
    _load_builtins()
    return _formats.get(extension.lower().lstrip("."))


def render_export(export: MeetingExport, extension: str) -> bytes:
    """The meeting in the given format; ``KeyError`` for an unknown extension."""
    found = get_format(extension)
    if found is None:
        raise KeyError(extension)
    return found.render(export)
