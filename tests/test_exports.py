"""Exports opened by real readers (python-docx, pypdf, srt, webvtt-py, json), the export route's
headers and boundaries on both databases, and the subtitle timing rules."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import docx
import pypdf
import pytest
import srt
import webvtt
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mina import exporters, store
from mina.exporters import ExportSegment, ExportWord, MeetingExport
from mina.exporters.subtitles import MAX_LINE_CHARS, build_cues, subtitle_timestamp
from mina.exporters.text import escape_markdown
from mina.models import Meeting, MeetingStatus, RecordingSession, SessionStatus
from mina.settings import Settings
from mina.web.exports_api import content_disposition
from tests.exporthelp import (
    ACCENTED,
    CJK,
    CYRILLIC,
    EDITED,
    EMPTIED,
    GREEK,
    HOUR_END_MS,
    HOUR_START_MS,
    HOUR_TEXT,
    LONG_START_MS,
    LONG_WORDS,
    ORIGINAL,
    SPEAKERS,
    TITLE,
    MadeMeeting,
    make_meeting,
)

FORMATS = ["txt", "md", "json", "docx", "pdf", "srt", "vtt"]


@pytest.fixture
def made(user_client: TestClient, db: Session, settings: Settings) -> MadeMeeting:
    return make_meeting(db, email="ada@example.com", audio_dir=settings.data_dir / "audio")


def _export(client: TestClient, meeting_id: int, fmt: str) -> bytes:
    response = client.get(f"/api/meetings/{meeting_id}/export/{fmt}")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    return response.content


def _squash(text: str) -> str:
    """Text with every run of whitespace as one space (PDF extraction breaks lines anywhere)."""
    return " ".join(text.split())


def _assert_carries_the_meeting(text: str) -> None:
    flat = _squash(text)
    assert TITLE in flat
    assert EDITED in flat and ORIGINAL not in flat, "the edit, not what the engine heard"
    assert EMPTIED not in flat, "a segment edited to nothing is left out"
    for sample in (CYRILLIC, GREEK, CJK, ACCENTED, HOUR_TEXT):
        assert sample in flat, sample
    for speaker in SPEAKERS:
        assert speaker in flat, speaker


def test_txt_and_md_carry_the_facts_and_the_edited_transcript(
    user_client: TestClient, made: MadeMeeting
) -> None:
    txt = _export(user_client, made.id, "txt").decode("utf-8")
    _assert_carries_the_meeting(txt)
    assert "Duration:" in txt and "1 h 02 min 10 s" in txt
    assert f"Participants: {', '.join(SPEAKERS)}" in txt
    assert f"[1:02:03] {SPEAKERS[1]}: {HOUR_TEXT}" in txt
    assert f"[0:00:04] {SPEAKERS[1]}: {EDITED}" in txt
    md = _export(user_client, made.id, "md").decode("utf-8")
    assert md.startswith("# Quarterly review: Réunion über Ünïcode\n")
    assert f"**[1:02:03] {SPEAKERS[1]}:** One more thing after the long break." in md
    assert "- **Participants:** Ada Lovelace, Grace Hopper" in md
    assert "The budget is approved for Q1." in md and ORIGINAL not in md


def test_json_is_the_meeting_shape_plus_segments(
    user_client: TestClient, made: MadeMeeting
) -> None:
    body = json.loads(_export(user_client, made.id, "json"))
    meeting = user_client.get(f"/api/meetings/{made.id}").json()
    assert {k: body[k] for k in meeting} == meeting
    transcript = user_client.get(f"/api/meetings/{made.id}/transcript").json()["segments"]
    assert [s["id"] for s in body["segments"]] == [s["id"] for s in transcript]
    for exported, served in zip(body["segments"], transcript, strict=True):
        # the same Segment shape as the API, which also shows edits
        assert {k: exported[k] for k in served} == served
    edited = next(s for s in body["segments"] if s["id"] == made.edited_segment_id)
    assert edited["text"] == EDITED and edited["edited"] is True
    assert body["participants"] == SPEAKERS
    assert body["duration_ms"] == 3_730_000


def test_docx_opens_in_python_docx(user_client: TestClient, made: MadeMeeting) -> None:
    response = user_client.get(f"/api/meetings/{made.id}/export/docx")
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    document = docx.Document(io.BytesIO(response.content))
    assert document.core_properties.title == TITLE
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == TITLE and document.paragraphs[0].style.name == "Title"
    facts = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert facts["Duration"] == "1 h 02 min 10 s"
    assert facts["Participants"] == ", ".join(SPEAKERS)
    assert re.fullmatch(r"\d{1,2} \w+ \d{4}, \d\d:\d\d UTC", facts["Date"])
    assert "Transcript" in paragraphs
    _assert_carries_the_meeting("\n".join([*paragraphs, *facts.values()]))
    assert f"[1:02:03]  {SPEAKERS[1]}: {HOUR_TEXT}" in paragraphs
    hour = next(p for p in document.paragraphs if HOUR_TEXT in p.text)
    assert [r.bold for r in hour.runs][:2] == [None, True], "speaker in bold after the time"


def test_pdf_text_extracts_in_every_script(user_client: TestClient, made: MadeMeeting) -> None:
    response = user_client.get(f"/api/meetings/{made.id}/export/pdf")
    assert response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert reader.metadata is not None and reader.metadata.title == TITLE
    text = "\n".join(page.extract_text() for page in reader.pages)
    _assert_carries_the_meeting(text)
    flat = _squash(text)
    assert "Duration 1 h 02 min 10 s" in flat
    assert "1:02:03" in flat and "0:00:04" in flat
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index,union-attr]
    }
    assert any("DejaVuSans" in f for f in fonts) and any("DroidSansFallback" in f for f in fonts)


def test_pdf_of_latin_text_does_not_embed_the_cjk_font(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    plain = make_meeting(
        db, email="ada@example.com", audio_dir=settings.data_dir / "audio", title="Plain"
    )
    # drop the one CJK segment
    for segment in store.list_transcript(db, meeting_id=plain.id):
        if CJK in segment.text or segment.speaker == SPEAKERS[4]:
            segment.edited_text = "Latin only."
            segment.speaker = "Li"
    db.commit()
    reader = pypdf.PdfReader(io.BytesIO(_export(user_client, plain.id, "pdf")))
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index,union-attr]
    }
    assert fonts and not any("Droid" in f for f in fonts), fonts


def _ms(value: str) -> int:
    hours, minutes, rest = value.split(":")
    seconds, millis = re.split(r"[.,]", rest)
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def _assert_cues_are_sound(cues: list[tuple[int, int, str]]) -> None:
    assert cues
    for start, end, text in cues:
        assert end > start, (start, end, text)
        assert text.strip(), "no empty cue"
    for (_, end, _), (start, _, _) in zip(cues, cues[1:], strict=False):
        assert start >= end, "cues never overlap"


def test_srt_parses_with_exact_times_and_no_overlap(
    user_client: TestClient, made: MadeMeeting
) -> None:
    body = _export(user_client, made.id, "srt").decode("utf-8")
    subtitles = list(srt.parse(body))
    cues = [
        (s.start // timedelta(milliseconds=1), s.end // timedelta(milliseconds=1), s.content)
        for s in subtitles
    ]
    _assert_cues_are_sound(cues)
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    last = subtitles[-1]
    assert last.content == f"{SPEAKERS[1]}: One more\nthing after the long break."
    assert "01:02:03,456 --> 01:02:07,001" in body
    assert (cues[-1][0], cues[-1][1]) == (HOUR_START_MS, HOUR_END_MS)
    assert "00:00:04,500 --> 00:00:07,000" in body
    joined = _squash(" ".join(s.content for s in subtitles))
    assert EDITED in joined and ORIGINAL not in joined and EMPTIED not in joined
    assert all(len(line) <= MAX_LINE_CHARS for s in subtitles for line in s.content.split("\n"))
    assert all(len(s.content.split("\n")) <= 2 for s in subtitles)


def test_vtt_parses_with_voices_and_exact_times(user_client: TestClient, made: MadeMeeting) -> None:
    response = user_client.get(f"/api/meetings/{made.id}/export/vtt")
    assert response.headers["content-type"].startswith("text/vtt")
    body = response.content.decode("utf-8")
    assert body.startswith("WEBVTT\n\nNOTE\nQuarterly review: Réunion über Ünïcode\n")
    captions = webvtt.from_buffer(io.StringIO(body)).captions
    cues = [(_ms(c.start), _ms(c.end), c.text) for c in captions]
    _assert_cues_are_sound(cues)
    last = captions[-1]
    assert (last.start, last.end) == ("01:02:03.456", "01:02:07.001")
    assert last.voice == SPEAKERS[1] and _squash(last.text) == HOUR_TEXT
    assert {c.voice for c in captions} == set(SPEAKERS)
    joined = _squash(" ".join(c.text for c in captions))
    assert EDITED in joined and ORIGINAL not in joined and CYRILLIC in joined
    # a long segment is cut at its words' own times
    long_cues = [c for c in captions if LONG_WORDS[0] in c.text or "planning" in c.text]
    assert len(long_cues) >= 2
    first_word_of_second = long_cues[1].text.split()[0]
    index = LONG_WORDS.index(first_word_of_second)
    assert _ms(long_cues[1].start) == LONG_START_MS + 400 * index


def test_control_characters_and_line_breaks_do_not_break_any_format(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    made = make_meeting(
        db, email="ada@example.com", audio_dir=settings.data_dir / "audio", title="Line\nbreak\x0b"
    )
    for segment in store.list_transcript(db, meeting_id=made.id)[:2]:
        segment.edited_text = "bell\x07 and\n\nblank lines\x1b"
        segment.speaker = "Two\nlines"
    db.commit()
    for fmt in FORMATS:
        body = _export(user_client, made.id, fmt)
        if fmt not in ("docx", "pdf"):
            assert not re.search(rb"[\x00-\x08\x0b\x1b]", body), fmt
    subtitles = list(srt.parse(_export(user_client, made.id, "srt").decode("utf-8")))
    assert subtitles[0].content == "Two lines: bell and blank lines"
    document = docx.Document(io.BytesIO(_export(user_client, made.id, "docx")))
    assert document.paragraphs[0].text == "Line break"
    assert _export(user_client, made.id, "md").startswith(b"# Line break\n")


def test_a_meeting_without_speech_exports_in_every_format(
    user_client: TestClient, db: Session
) -> None:
    user = store.get_user_by_email(db, email="ada@example.com")
    assert user is not None
    meeting = Meeting(
        workspace_id=store.get_principal(db, user=user).workspace.id,
        organizer_id=user.id,
        title="Nothing said " + "very long title " * 12,
        status=MeetingStatus.COMPLETED,
    )
    db.add(meeting)
    db.commit()
    reader = pypdf.PdfReader(io.BytesIO(_export(user_client, meeting.id, "pdf")))
    pdf_text = _squash(" ".join(page.extract_text() for page in reader.pages))
    assert "No transcribed speech" in pdf_text and "Duration – " in pdf_text
    assert "(no transcribed speech)" in _export(user_client, meeting.id, "txt").decode()
    assert json.loads(_export(user_client, meeting.id, "json"))["segments"] == []
    assert list(srt.parse(_export(user_client, meeting.id, "srt").decode())) == []
    vtt = _export(user_client, meeting.id, "vtt").decode()
    assert webvtt.from_buffer(io.StringIO(vtt)).captions == []
    document = docx.Document(io.BytesIO(_export(user_client, meeting.id, "docx")))
    assert "No transcribed speech." in [p.text for p in document.paragraphs]
    assert "Nothing said" in _export(user_client, meeting.id, "md").decode()


def test_a_second_recording_continues_the_clock(
    user_client: TestClient, db: Session, settings: Settings
) -> None:
    made = make_meeting(db, email="ada@example.com", audio_dir=settings.data_dir / "audio")
    first = store.list_recordings(db, meeting_id=made.id)[0]
    second = RecordingSession(
        external_id="00000000-0000-4000-8000-000000000002",
        meeting_id=made.id,
        user_id=first.user_id,
        workspace_id=first.workspace_id,
        status=SessionStatus.COMPLETED,
        started_at=first.started_at + timedelta(hours=3),
        sample_rate=16000,
        audio_path=str(settings.data_dir / "audio" / "second.pcm"),
        audio_bytes=32_000 * 5,
    )
    db.add(second)
    db.flush()
    store.add_segments(
        db,
        recording_id=second.id,
        meeting_id=made.id,
        segments=[
            store.NewSegment(
                seq=0, text="After the restart.", start_ms=0, end_ms=2_000, confidence=0.8
            )
        ],
    )
    db.commit()
    subtitles = list(srt.parse(_export(user_client, made.id, "srt").decode()))
    # the first recording holds 3 730 000 ms of audio; the second one's clock starts there
    assert subtitles[-1].content == "After the restart."
    assert subtitles[-1].start == timedelta(milliseconds=3_730_000)
    assert subtitles[-1].end == timedelta(milliseconds=3_732_000)
    body = json.loads(_export(user_client, made.id, "json"))
    assert body["segments"][-1]["start_ms"] == 3_730_000


# --- the route ------------------------------------------------------------------------------


def test_every_format_is_an_attachment_named_after_the_title(
    user_client: TestClient, made: MadeMeeting
) -> None:
    for fmt in FORMATS:
        response = user_client.get(f"/api/meetings/{made.id}/export/{fmt}")
        assert response.status_code == 200, (fmt, response.text)
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="Quarterly review- Reunion uber')
        encoded = re.search(r"filename\*=UTF-8''(\S+)", disposition)
        assert encoded, disposition
        assert unquote(encoded.group(1)) == f"Quarterly review- Réunion über Ünïcode.{fmt}"
        assert response.headers["cache-control"] == "private, no-store"
    assert user_client.get(f"/api/meetings/{made.id}/export/PDF").status_code == 200


def test_unknown_format_is_404_with_the_error_shape(
    user_client: TestClient, made: MadeMeeting
) -> None:
    response = user_client.get(f"/api/meetings/{made.id}/export/exe")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_format" and "pdf" in error["message"]


def test_another_workspace_gets_404_like_a_missing_meeting(
    made: MadeMeeting, other_client: TestClient
) -> None:
    theirs = other_client.get(f"/api/meetings/{made.id}/export/pdf")
    missing = other_client.get("/api/meetings/999999/export/pdf")
    assert theirs.status_code == missing.status_code == 404
    assert (
        theirs.json()
        == missing.json()
        == {"error": {"code": "not_found", "message": "Meeting not found."}}
    )


def test_anonymous_is_401_and_a_token_works(
    made: MadeMeeting, client: TestClient, db: Session
) -> None:
    anonymous = client.get(f"/api/meetings/{made.id}/export/txt")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    user = store.get_user_by_email(db, email="ada@example.com")
    assert user is not None
    _, token = store.create_api_token(db, user=user, name="script")
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get(f"/api/meetings/{made.id}/export/txt", headers=headers)
    assert response.status_code == 200 and EDITED in response.text
    bad = client.get(f"/api/meetings/{made.id}/export/txt", headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"


def test_the_meeting_page_offers_every_format(user_client: TestClient, made: MadeMeeting) -> None:
    page = user_client.get(f"/dashboard/meeting/{made.id}").text
    links = re.findall(rf'href="/api/meetings/{made.id}/export/(\w+)" download', page)
    assert sorted(links) == sorted(FORMATS)
    assert links == [f.extension for f in exporters.list_formats()]
    assert links[:2] == ["pdf", "docx"], "documents first, whatever was imported first"


def test_openapi_documents_the_export_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/meetings/{meeting_id}/export/{fmt}"]["get"]
    assert "application/pdf" in operation["responses"]["200"]["content"]
    assert "404" in operation["responses"] and "401" in operation["responses"]


# --- file names and subtitle timing, without a database ------------------------------------


def test_file_names_are_safe() -> None:
    assert exporters.export_filename("../../etc/passwd", "txt") == "etc-passwd.txt"
    assert exporters.export_filename('a<b>:"c"|?*', "md") == "a-b-c.md"
    assert exporters.export_filename("   ", "pdf") == "meeting.pdf"
    assert exporters.export_filename("Совещание 1", "pdf", ascii_only=True) == "1.pdf"
    assert exporters.export_filename("会议", "pdf", ascii_only=True) == "meeting.pdf"
    assert exporters.export_filename("x" * 300, "pdf").startswith("x" * 100 + ".")
    assert content_disposition("Plain title", "txt") == 'attachment; filename="Plain title.txt"'
    header = content_disposition('会议 "记录"', "pdf")
    assert header.startswith("attachment; filename=\"meeting.pdf\"; filename*=UTF-8''")
    assert unquote(header.split("''", 1)[1]) == "会议 -记录.pdf"


def test_markdown_shows_text_as_written() -> None:
    assert escape_markdown("**bold** [link](x) <b>a_b</b> ~~no~~ `code`") == (
        "\\*\\*bold\\*\\* \\[link\\](x) \\<b\\>a\\_b\\</b\\> \\~\\~no\\~\\~ \\`code\\`"
    )
    assert escape_markdown("Hello!  (fine)\nnext") == "Hello! (fine) next"
    export = dataclasses.replace(_export_of([_segment(0, 1000, "a *b*")]), title="Issue #")
    md = exporters.render_export(export, "md").decode("utf-8")
    assert md.startswith("# Issue \\#\n") and "a \\*b\\*" in md


def _export_of(segments: list[ExportSegment]) -> MeetingExport:
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    return MeetingExport(
        meeting_id=1,
        title="T",
        description="",
        status="completed",
        language="en",
        started_at=now,
        duration_ms=None,
        participants=[],
        segments=segments,
        meeting={},
        exported_at=now,
    )


def _segment(start: int, end: int, text: str, **extra: object) -> ExportSegment:
    return ExportSegment(
        id=start,
        seq=start,
        start_ms=start,
        end_ms=end,
        speaker=None,
        text=text,
        edited=bool(extra.get("edited", False)),
        confidence=None,
        words=list(extra.get("words", [])),  # type: ignore[call-overload]
    )


def test_pdf_wraps_long_words_and_breaks_pages() -> None:
    url = "https://example.com/" + "a" * 150
    segments = [
        _segment(i * 4_000, i * 4_000 + 3_000, f"Line {i} of many words " * 6) for i in range(120)
    ]
    segments.append(_segment(500_000, 501_000, f"see {url} now"))
    reader = pypdf.PdfReader(io.BytesIO(exporters.render_export(_export_of(segments), "pdf")))
    text = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 4
    assert "Line 119 of many words" in _squash(text)
    assert "a" * 60 in text.replace("\n", ""), "the long word is split, not lost"


def test_subtitle_timestamps_are_exact() -> None:
    assert subtitle_timestamp(0, ",") == "00:00:00,000"
    assert subtitle_timestamp(3_723_456, ",") == "01:02:03,456"
    assert subtitle_timestamp(36_000_001, ".") == "10:00:00.001"
    assert subtitle_timestamp(360_000_000, ".") == "100:00:00.000"


def test_cues_never_overlap_nor_are_empty() -> None:
    segments = [
        _segment(1_000, 3_000, "first"),
        _segment(2_000, 4_000, "overlaps the first"),
        _segment(2_000, 2_500, "starts at the same time"),
        _segment(5_000, 5_000, "no length"),
        _segment(5_100, 6_000, "   "),
        _segment(5_200, 6_000, "right after"),
        _segment(9_000, 8_000, "ends before it starts"),
    ]
    cues = build_cues(segments, speaker_prefix=False)
    assert [" ".join(c.lines) for c in cues] == [
        "first",
        "overlaps the first",
        "starts at the same time",
        "no length",
        "right after",
        "ends before it starts",
    ]
    _assert_cues_are_sound([(c.start_ms, c.end_ms, " ".join(c.lines)) for c in cues])
    assert (cues[0].start_ms, cues[0].end_ms) == (1_000, 2_000)
    assert cues[3].end_ms == 5_200, "a zero-length cue lasts until the next one"
    assert cues[-1].end_ms > cues[-1].start_ms >= 9_000


def test_chinese_and_japanese_lines_are_cut_between_characters() -> None:
    text = (
        "我们下周开始测试新版本，然后在月底之前发布给所有的用户。"
        "日本語のテキストも同じように分けます。"
    )
    cues = build_cues([_segment(0, 12_000, text)], speaker_prefix=False)
    assert len(cues) >= 2
    lines = [line for c in cues for line in c.lines]
    # two columns a character: at most 21 characters a line
    assert all(len(line) <= MAX_LINE_CHARS // 2 for line in lines), lines
    assert "".join(lines) == text, "no space is added inside the sentence"
    assert not any(line.startswith(("，", "。")) for line in lines)
    korean = build_cues([_segment(0, 9_000, "안녕하세요 여러분 " * 8)], speaker_prefix=False)
    assert all(" " not in (line[0], line[-1]) for c in korean for line in c.lines)
    assert all(len(line) <= MAX_LINE_CHARS // 2 + 3 for c in korean for line in c.lines)


def test_an_edited_long_segment_is_cut_in_proportion() -> None:
    text = " ".join(["word"] * 60)  # 299 characters: four cues of two lines
    words = [ExportWord("other", 0, 1, 0.9)]
    cues = build_cues(
        [_segment(10_000, 20_000, text, edited=True, words=words)], speaker_prefix=False
    )
    assert len(cues) == 4
    assert cues[0].start_ms == 10_000 and cues[-1].end_ms == 20_000
    assert all(len(line) <= MAX_LINE_CHARS for c in cues for line in c.lines)
    assert all(abs((c.end_ms - c.start_ms) - 2_500) <= 100 for c in cues)
