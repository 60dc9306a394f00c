"""The live pipeline's settings (``StreamConfig``): steps, buffers, pauses, segment lengths,
the settling rule and the passes; measured on 2 CPU cores with tiny.en."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamConfig:
    """Tuning of the live pipeline (defaults measured on 2 CPU cores with tiny.en)."""

    sample_rate: int = 16000
    # new audio needed before the buffer is decoded again, while the decode pool has headroom
    # (pacing.py lengthens it under load): LocalAgreement settles a word at the second decode
    # that hears it, so this step is most of a settled word's lag. The stored text comes from
    # each utterance's final decode, so a short step costs CPU, not stored accuracy (1.0 s:
    # settled lag p50 1.64 s in ``bench simulate``; 0.5 s: 0.94 s, WER +0.3 points)
    min_step_s: float = 0.5
    # the longest step the pacer gives a stream when many share the decode pool (pacing.py)
    max_step_s: float = 2.0
    min_decode_s: float = 1.0  # shorter buffers make Whisper guess (" S", "like your car")
    max_buffer_s: float = 12.0  # the buffer is cut at a confirmed word past this
    pause_s: float = 0.5  # silence that ends an utterance (everything heard is confirmed)
    max_segment_s: float = 9.0  # a segment longer than this closes at the next clause or word
    min_segment_s: float = 1.5  # sentence ends close a segment only past this length
    speech_threshold: float = 0.5  # Silero probability that counts as speech
    speech_pad_s: float = 0.3  # audio kept around speech so word edges are not clipped
    prompt_chars: int = 200  # confirmed text handed to the engine as context
    # a word heard once settles (after the settled words before it) when Whisper gave it this
    # probability or more and it ends ``settle_margin_s`` before the decoded buffer's end, where
    # Whisper changes its mind most; None: only two agreeing decodes settle a word. In ``bench
    # simulate``, settled lag p50 0.94 -> 0.82 s (``--load 3``: 2.28 -> 2.09 s), p95 3.89 / 4.90
    # -> 3.95 / 5.00 s, as many settled words corrected by final decodes (140 / 59 -> 140 / 60).
    # 0.8: p50 0.76 s, but 72 corrected at load 3 and p95 5.24 s there. Margins of 0.2-0.6 s
    # gained less; so did settling a word whose neighbours kept their times when it wobbled.
    settle_probability: float | None = 0.9
    settle_margin_s: float = 0.1
    # two passes: streaming decodes make the interim text (its confirmed part is LocalAgreement's);
    # an utterance's final segments come from one more decode of all of it (``final=True``: a
    # beam search). One pass, LocalAgreement's words are the finals: faster, +4 WER points.
    # (Tried and dropped: keeping closed segments' audio in the buffer as context; final
    # decodes of each sentence at a VAD dip inside an utterance, +4 to +6 WER points.)
    two_pass: bool = True
    # a final decode with fewer words than this share of the streamed ones is distrusted
    final_min_share: float = 0.6
    language: str | None = None
    vad: str = "silero"  # or "energy": a loudness gate
