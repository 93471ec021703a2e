-- A device's tombstone that arrived for a row already deleted (by another
-- device, or by the office): it took nothing from the row. A cascade
-- (`kbo delete ... --cascade`) writes every row it takes with one hlc; when
-- the office keeps an edit of the row that cascade deleted, the rows under
-- it carrying that hlc come back (server/conflicts.cc, BringBackTakenWith),
-- except those listed here: someone else had deleted them first, and their
-- delete stands. `hlc` is the tombstone's, in its text form.
CREATE TABLE tombstone_on_deleted (
  entity TEXT NOT NULL,
  row_id TEXT NOT NULL,
  hlc TEXT NOT NULL,
  PRIMARY KEY (entity, row_id, hlc)
);
