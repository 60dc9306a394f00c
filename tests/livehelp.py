"""Helpers for tests that stream audio: synthetic speech for the fake engine, protocol drivers."""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.testclient import WebSocketTestSession

from mina.audio import float32_to_pcm16
from mina.engines.fake import synthesize_words

FRAME = 3200  # 100 ms of 16 kHz s16le


def sentences_pcm(*sentences: list[int], pause_s: float = 0.8) -> bytes:
    """PCM of tone-burst 'sentences' the fake engine reads as wordNNNN, separated by pauses."""
    parts = [synthesize_words(words, lead_s=pause_s / 2, tail_s=pause_s / 2) for words in sentences]
    return float32_to_pcm16(np.concatenate(parts))


def words_of(*sentences: list[int]) -> list[str]:
    return [f"word{n:04d}" for sentence in sentences for n in sentence]


def send_pcm(ws: WebSocketTestSession, pcm: bytes, frame: int = FRAME) -> None:
    for offset in range(0, len(pcm), frame):
        ws.send_bytes(pcm[offset : offset + frame])


def start(ws: WebSocketTestSession, **fields: Any) -> dict[str, Any]:
    ws.send_json({"type": "start", "sample_rate": 16000, "encoding": "pcm_s16le", **fields})
    message = ws.receive_json()
    assert message["type"] == "started", message
    return message


def receive_until(ws: WebSocketTestSession, kind: str, limit: int = 10_000) -> list[dict[str, Any]]:
    """Messages up to and including the first of type ``kind``."""
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        seen.append(message)
        if message["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} message in {limit}")


def stop(ws: WebSocketTestSession) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ws.send_json({"type": "stop"})
    messages = receive_until(ws, "stopped")
    return messages[-1], messages


def final_words(messages: list[dict[str, Any]]) -> list[str]:
    segments = [m["segment"] for m in messages if m["type"] == "final"]
    return [w["text"].rstrip(".,!?").lower() for s in segments for w in s["words"]]
