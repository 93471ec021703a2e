-- Synced entity tables (DESIGN §3). Identical on client and server (a test
-- checks), so replicas converge byte for byte. Columns are nullable except
-- id and deleted: the catalogue (shared/entities.cc) validates writes, and a
-- merge may create a row from an edit before the rest of it arrives.
-- Each table: id (uuid text), district_code, deleted (tombstone), and
-- cell_versions: the version of every cell of the row (not per cell in rows
-- of their own: see docs/decisions.md). It is the applier's private encoding
-- (shared/replica/apply.cc): for each written column, its name, the hlc of
-- the winning write (which names the writer's device) and the server
-- sequence of that write as this replica knows it (0: not from the server).
-- It is not a catalogue column: never shown, exported or synced as one.

CREATE TABLE producer (
  id TEXT PRIMARY KEY NOT NULL,
  kind TEXT,
  name TEXT,
  district_code TEXT,
  tambon TEXT,
  village TEXT,
  contact TEXT,
  phone TEXT,
  category TEXT,
  otop_stars INTEGER,
  members INTEGER,
  cluster_brand TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  cell_versions BLOB
);

CREATE TABLE product (
  id TEXT PRIMARY KEY NOT NULL,
  producer_id TEXT,
  name TEXT,
  district_code TEXT,
  category TEXT,
  description TEXT,
  identity_story TEXT,
  stage TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  cell_versions BLOB
);

CREATE TABLE workshop (
  id TEXT PRIMARY KEY NOT NULL,
  title TEXT,
  fiscal_year INTEGER,
  venue TEXT,
  district_code TEXT,
  start_date TEXT,
  days INTEGER,
  target_participants INTEGER,
  deleted INTEGER NOT NULL DEFAULT 0,
  cell_versions BLOB
);

CREATE TABLE enrolment (
  id TEXT PRIMARY KEY NOT NULL,
  workshop_id TEXT,
  producer_id TEXT,
  participant_name TEXT,
  district_code TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  cell_versions BLOB
);

CREATE TABLE attendance (
  id TEXT PRIMARY KEY NOT NULL,
  workshop_id TEXT,
  enrolment_id TEXT,
  day INTEGER,
  status TEXT,
  note TEXT,
  district_code TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  cell_versions BLOB
);

CREATE TABLE visit (
  id TEXT PRIMARY KEY NOT NULL,
  producer_id TEXT,
  visited_at TEXT,
  lat REAL,
  lon REAL,
  accuracy_m REAL,
  purpose TEXT,
  notes TEXT,
  follow_up TEXT,
  next_visit TEXT,
  district_code TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  cell_versions BLOB
);

CREATE TABLE progress (
  id TEXT PRIMARY KEY NOT NULL,
  product_id TEXT,
  workshop_id TEXT,
  stage TEXT,
  percent INTEGER,
  notes TEXT,
  district_code TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  cell_versions BLOB
);

CREATE TABLE photo (
  id TEXT PRIMARY KEY NOT NULL,
  subject_type TEXT,
  subject_id TEXT,
  sha256 TEXT,
  bytes INTEGER,
  mime TEXT,
  width INTEGER,
  height INTEGER,
  taken_at TEXT,
  lat REAL,
  lon REAL,
  caption TEXT,
  district_code TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  cell_versions BLOB
);

CREATE TABLE contest_score (
  id TEXT PRIMARY KEY NOT NULL,
  product_id TEXT,
  contest TEXT,
  judge TEXT,
  identity INTEGER,
  uniqueness INTEGER,
  quality INTEGER,
  packaging INTEGER,
  marketability INTEGER,
  comment TEXT,
  district_code TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  cell_versions BLOB
);

CREATE INDEX enrolment_by_workshop ON enrolment(workshop_id);
CREATE INDEX attendance_by_workshop ON attendance(workshop_id, day);
CREATE INDEX product_by_producer ON product(producer_id);
CREATE INDEX visit_by_producer ON visit(producer_id);
CREATE INDEX photo_by_subject ON photo(subject_type, subject_id);
