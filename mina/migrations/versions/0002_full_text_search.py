"""full-text search over meeting titles and transcripts

SQLite: FTS5 tables with external content (no second copy of the text), kept in sync by
triggers on insert, update and delete. A segment's indexed text is coalesce(edited_text, text),
read through the view segment_search_text, so an edit is searchable and the original is not.
PostgreSQL: tsvectors (english configuration) with GIN indexes: a generated column on meetings
and, for segments, a narrow table segment_search kept in sync by triggers (deletes cascade).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZE = "porter unicode61 remove_diacritics 2"
# Prefix indexes for 2 to 6 characters: without one, a prefix query merges the doclists of every
# matching term (for "team*" over 1M passages: 23 ms instead of 3.5 ms); they add about 45 % to
# the index.

SQLITE_UP = [
    """CREATE VIEW segment_search_text AS
       SELECT id, coalesce(edited_text, text) AS body FROM segments""",
    f"""CREATE VIRTUAL TABLE segments_fts USING fts5(
       body, content='segment_search_text', content_rowid='id',
       tokenize='{TOKENIZE}', prefix='2 3 4 5 6')""",
    """CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
       INSERT INTO segments_fts(rowid, body) VALUES (new.id, coalesce(new.edited_text, new.text));
       END""",
    """CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
       INSERT INTO segments_fts(segments_fts, rowid, body)
       VALUES ('delete', old.id, coalesce(old.edited_text, old.text));
       END""",
    """CREATE TRIGGER segments_fts_update AFTER UPDATE OF text, edited_text ON segments BEGIN
       INSERT INTO segments_fts(segments_fts, rowid, body)
       VALUES ('delete', old.id, coalesce(old.edited_text, old.text));
       INSERT INTO segments_fts(rowid, body) VALUES (new.id, coalesce(new.edited_text, new.text));
       END""",
    f"""CREATE VIRTUAL TABLE meetings_fts USING fts5(
       title, content='meetings', content_rowid='id', tokenize='{TOKENIZE}', prefix='2 3 4 5 6')""",
    """CREATE TRIGGER meetings_fts_insert AFTER INSERT ON meetings BEGIN
       INSERT INTO meetings_fts(rowid, title) VALUES (new.id, new.title);
       END""",
    """CREATE TRIGGER meetings_fts_delete AFTER DELETE ON meetings BEGIN
       INSERT INTO meetings_fts(meetings_fts, rowid, title) VALUES ('delete', old.id, old.title);
       END""",
    """CREATE TRIGGER meetings_fts_update AFTER UPDATE OF title ON meetings BEGIN
       INSERT INTO meetings_fts(meetings_fts, rowid, title) VALUES ('delete', old.id, old.title);
       INSERT INTO meetings_fts(rowid, title) VALUES (new.id, new.title);
       END""",
    # "longest first" walks this index instead of sorting every meeting of the workspace
    """CREATE INDEX ix_meetings_workspace_length ON meetings
       (workspace_id, (julianday(actual_end) - julianday(actual_start)) DESC, id DESC)""",
    "INSERT INTO segments_fts(segments_fts) VALUES ('rebuild')",
    "INSERT INTO meetings_fts(meetings_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP INDEX IF EXISTS ix_meetings_workspace_length",
    "DROP TRIGGER IF EXISTS meetings_fts_update",
    "DROP TRIGGER IF EXISTS meetings_fts_delete",
    "DROP TRIGGER IF EXISTS meetings_fts_insert",
    "DROP TABLE IF EXISTS meetings_fts",
    "DROP TRIGGER IF EXISTS segments_fts_update",
    "DROP TRIGGER IF EXISTS segments_fts_delete",
    "DROP TRIGGER IF EXISTS segments_fts_insert",
    "DROP TABLE IF EXISTS segments_fts",
    "DROP VIEW IF EXISTS segment_search_text",
]

POSTGRESQL_UP = [
    # A narrow side table, not a column of segments: a search walks many index entries and
    # rows, and segment rows are wide (their word timings); see docs/queries.md.
    """CREATE TABLE segment_search (
       segment_id integer PRIMARY KEY REFERENCES segments (id) ON DELETE CASCADE,
       meeting_id integer NOT NULL,
       start_ms integer NOT NULL,
       search_vector tsvector NOT NULL)""",
    "CREATE INDEX ix_segment_search_vector ON segment_search USING gin (search_vector)",
    """CREATE FUNCTION segment_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO segment_search (segment_id, meeting_id, start_ms, search_vector)
         SELECT id, meeting_id, start_ms,
                to_tsvector('english'::regconfig, coalesce(edited_text, text))
         FROM new_segments;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER segment_search_insert AFTER INSERT ON segments
       REFERENCING NEW TABLE AS new_segments
       FOR EACH STATEMENT EXECUTE FUNCTION segment_search_insert()""",
    """CREATE FUNCTION segment_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE segment_search
         SET meeting_id = NEW.meeting_id, start_ms = NEW.start_ms,
             search_vector = to_tsvector('english'::regconfig, coalesce(NEW.edited_text, NEW.text))
         WHERE segment_id = NEW.id;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER segment_search_update
       AFTER UPDATE OF text, edited_text, meeting_id, start_ms ON segments
       FOR EACH ROW EXECUTE FUNCTION segment_search_update()""",
    """INSERT INTO segment_search (segment_id, meeting_id, start_ms, search_vector)
       SELECT id, meeting_id, start_ms,
              to_tsvector('english'::regconfig, coalesce(edited_text, text))
       FROM segments""",
    """ALTER TABLE meetings ADD COLUMN search_vector tsvector GENERATED ALWAYS AS
       (to_tsvector('english'::regconfig, title)) STORED""",
    "CREATE INDEX ix_meetings_search ON meetings USING gin (search_vector)",
    """CREATE INDEX ix_meetings_workspace_length ON meetings
       (workspace_id, (actual_end - actual_start) DESC NULLS LAST, id DESC)""",
]

POSTGRESQL_DOWN = [
    "DROP INDEX IF EXISTS ix_meetings_workspace_length",
    "DROP INDEX IF EXISTS ix_meetings_search",
    "ALTER TABLE meetings DROP COLUMN IF EXISTS search_vector",
    "DROP TRIGGER IF EXISTS segment_search_update ON segments",
    "DROP TRIGGER IF EXISTS segment_search_insert ON segments",
    "DROP FUNCTION IF EXISTS segment_search_update()",
    "DROP FUNCTION IF EXISTS segment_search_insert()",
    "DROP TABLE IF EXISTS segment_search",
]


def _statements(sqlite: list[str], postgresql: list[str]) -> list[str]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite
    if dialect == "postgresql":
        return postgresql
    raise NotImplementedError(f"full-text search is not implemented for {dialect}")


def upgrade() -> None:
    for statement in _statements(SQLITE_UP, POSTGRESQL_UP):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(SQLITE_DOWN, POSTGRESQL_DOWN):
        op.execute(statement)
