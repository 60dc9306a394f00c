"""Mina: self-hosted, privacy-first live meeting transcription."""

__version__ = "0.1.0"
