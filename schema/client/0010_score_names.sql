-- A contest score's contest and judge take a recorded spelling that differs
-- only in case or spacing (client/enrolment_rules.cc,
-- UseRecordedContestNames): looking up a product's scores, and whether a
-- contest or a judge within it is recorded as typed, by index, not by
-- reading every score once per score recorded (a CSV import of thousands).
CREATE INDEX contest_score_by_product ON contest_score(product_id);
CREATE INDEX contest_score_by_names ON contest_score(contest, judge);
