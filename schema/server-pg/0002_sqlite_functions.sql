-- The SQLite functions the server's portable statements use that
-- PostgreSQL lacks, with SQLite's meaning (docs/decisions.md, "PostgreSQL"):
-- one statement text serves both backends. Each returns what SQLite returns
-- for the same arguments, NULL included (STRICT: NULL in, NULL out).

-- instr(haystack, needle): the 1-based position of the first needle, 0 if
-- none. Text (the console's district lists) and bytes (the change-set log
-- searched for a row id).
CREATE FUNCTION instr(haystack TEXT, needle TEXT) RETURNS INTEGER
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS 'SELECT strpos(haystack, needle)';
CREATE FUNCTION instr(haystack BYTEA, needle BYTEA) RETURNS INTEGER
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS 'SELECT position(needle IN haystack)';

-- kbo_time(text): an ISO 8601 time (as devices record visited_at,
-- next_visit: '2026-03-10', '2026-03-10T09:30:00+07:00', '...Z') as a UTC
-- timestamp, or NULL when it is not one. SQLite's date functions answer
-- NULL for text they can't read; PostgreSQL's casts raise an error, which
-- would fail a whole report for one badly typed date.
CREATE FUNCTION kbo_time(t TEXT) RETURNS TIMESTAMP
  LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
  AS $$
BEGIN
  IF t !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' THEN
    RETURN NULL;
  END IF;
  RETURN t::timestamptz AT TIME ZONE 'UTC';
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;
