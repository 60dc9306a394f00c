"""The tar file itself: written atomically with every member streamed and hashed, read back
with every member checked against the manifest before anything is restored."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from mina.backup.manifest import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    BackupError,
    Manifest,
    MemberSpec,
    read_manifest,
)

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
PROGRESS_EVERY_S = 5.0


class _HashingReader:
    """A file read through once by tarfile; hashes and counts what passes."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class ArchiveWriter:
    """A backup being written: members go into a hidden temporary file beside ``path``,
    which becomes ``path`` (renamed, fsync'd) only when ``finish`` adds the manifest."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.members: list[MemberSpec] = []
        self.bytes_written = 0
        self._scratch = path.with_name(f".{path.name}.partial-{secrets.token_hex(4)}")
        # the backup holds password hashes and the secret key: readable by its owner only
        fd = os.open(self._scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._tar = tarfile.TarFile(
            fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT, copybufsize=CHUNK
        )
        self._finished = False

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._finished:
            self._abandon()

    def add_file(self, name: str, source: Path, *, size: int | None = None) -> MemberSpec:
        """Copy ``source`` as member ``name``: its first ``size`` bytes (default: its size when
        opened; a file still being appended to is copied as it was then)."""
        with source.open("rb") as handle:
            length = os.fstat(handle.fileno()).st_size if size is None else size
            return self._add(name, handle, length, os.fstat(handle.fileno()).st_mtime)

    def add_bytes(self, name: str, data: bytes) -> MemberSpec:
        return self._add(name, io.BytesIO(data), len(data), time.time())

    def _add(self, name: str, handle: IO[bytes], size: int, mtime: float) -> MemberSpec:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = int(mtime)
        info.mode = 0o600
        reader = _HashingReader(handle)
        try:
            self._tar.addfile(info, reader)
        except OSError as exc:
            raise BackupError(f"could not copy {name} into the backup: {exc}") from exc
        member = MemberSpec(name, size, reader.digest.hexdigest())
        self.members.append(member)
        self.bytes_written += size
        return member

    def finish(self, manifest: Manifest) -> None:
        """Add the manifest, close, flush to disk and move the file into place."""
        self.add_bytes(MANIFEST_NAME, manifest.to_json())
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._scratch, self.path)
        _fsync_directory(self.path.parent)
        self._finished = True

    def _abandon(self) -> None:
        try:
            self._tar.close()
        except Exception:  # noqa: BLE001 - the write already failed; removing the file matters
            pass
        self._file.close()
        self._scratch.unlink(missing_ok=True)


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class _Seen:
    size: int
    sha256: str


def verify_archive(path: Path) -> Manifest:
    """Read the whole backup, hash every member and compare with the manifest. Returns the
    manifest; ``BackupError`` names the first problem (damaged, truncated, not a backup)."""
    seen: dict[str, _Seen] = {}
    manifest_data: bytes | None = None
    started = last_report = time.monotonic()
    total = path.stat().st_size
    with _open_tar(path) as tar:
        for info in _members(tar, path):
            if info.name in seen or (info.name == MANIFEST_NAME and manifest_data is not None):
                raise BackupError(f"{path} holds {info.name} twice: it is not a Mina backup")
            handle = _extract(tar, info, path)
            if info.name == MANIFEST_NAME:
                if info.size > MAX_MANIFEST_BYTES:
                    raise BackupError(f"{path}: the manifest is implausibly large")
                manifest_data = _read_all(handle, path)
                continue
            digest = hashlib.sha256()
            size = 0
            for chunk in _chunks(handle, path):
                digest.update(chunk)
                size += len(chunk)
            seen[info.name] = _Seen(size, digest.hexdigest())
            if time.monotonic() - last_report >= PROGRESS_EVERY_S:
                last_report = time.monotonic()
                logger.info("checked %d MB of %d MB", tar.offset >> 20, total >> 20)
    if manifest_data is None:
        raise BackupError(
            f"{path} has no manifest: the file is truncated, or it is not a Mina backup"
        )
    manifest = read_manifest(manifest_data)
    listed = {member.name: member for member in manifest.members}
    missing = sorted(set(listed) - set(seen))
    if missing:
        raise BackupError(f"{path} lacks {len(missing)} member(s), first {missing[0]}")
    extra = sorted(set(seen) - set(listed))
    if extra:
        raise BackupError(f"{path} holds member(s) its manifest does not list, first {extra[0]}")
    for name, member in listed.items():
        found = seen[name]
        if found.size != member.size or found.sha256 != member.sha256:
            raise BackupError(
                f"{path} is damaged: {name} does not match its checksum "
                f"({found.size} bytes, the manifest says {member.size})"
            )
    logger.info(
        "checked %s: %d members, all checksums match (%.1f s)",
        path,
        len(seen),
        time.monotonic() - started,
    )
    return manifest


@contextmanager
def read_members(path: Path) -> Iterator[Iterator[tuple[str, Readable]]]:
    """The members of a verified backup, in order (the manifest left out), each as a name and
    a stream to read once."""
    with _open_tar(path) as tar:

        def members() -> Iterator[tuple[str, Readable]]:
            for info in _members(tar, path):
                if info.name != MANIFEST_NAME:
                    yield info.name, _Guarded(_extract(tar, info, path), path)

        yield members()


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Guarded:
    """A member stream whose read errors (a file changed since it was checked) are clear."""

    def __init__(self, handle: IO[bytes], path: Path) -> None:
        self._handle = handle
        self._path = path

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._handle.read(size)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{self._path} could not be read: {exc}") from exc


@contextmanager
def _open_tar(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(path, mode="r:*")
    except FileNotFoundError as exc:
        raise BackupError(f"{path} does not exist") from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{path} is not a readable backup file: {exc}") from exc
    try:
        yield tar
    finally:
        tar.close()


def _members(tar: tarfile.TarFile, path: Path) -> Iterator[tarfile.TarInfo]:
    try:
        for info in tar:
            if not info.isfile():
                raise BackupError(f"{path} holds {info.name}, which is not a plain file")
            yield info
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{path} is truncated or damaged: {exc}") from exc


def _extract(tar: tarfile.TarFile, info: tarfile.TarInfo, path: Path) -> IO[bytes]:
    handle = tar.extractfile(info)
    if handle is None:
        raise BackupError(f"{path}: {info.name} cannot be read")
    return handle


def _chunks(handle: IO[bytes], path: Path) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{path} is truncated or damaged: {exc}") from exc


def _read_all(handle: IO[bytes], path: Path) -> bytes:
    return b"".join(_chunks(handle, path))
