-- Why the office decided a conflict, and who (the conflict feed's
-- resolution_reason and resolved_by: "cli" or "user:LOGIN"), so the people
-- whose values differed read the reason on their device too. Null while
-- open, and for a conflict decided by an older server or held before this
-- migration (it is filled when the record comes again).
ALTER TABLE conflict ADD COLUMN resolution_reason TEXT;
ALTER TABLE conflict ADD COLUMN resolved_by TEXT;
