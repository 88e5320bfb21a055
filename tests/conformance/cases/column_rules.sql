-- Column and key rules: column.exclude.list, column.mask.with.N.chars, column.truncate.to.N.chars,
-- column.mask.hash (salted SHA-256), message.key.columns for a table without a primary key, and
-- table.exclude.list. Strict only (run through `rivulet run --debezium`).
-- @strict-only
-- @set skipped.operations=none
-- @set column.exclude.list=app\.people\.ssn
-- @set column.mask.with.6.chars=app\.people\.name
-- @set column.truncate.to.3.chars=app\.people\.city,app\.events\.kind
-- @set column.mask.hash.SHA-256.with.salt.CzQMA0cB5K=app\.people\.email
-- @set message.key.columns=app.events:tenant,seq
-- @set table.exclude.list=app\.ignored

CREATE SCHEMA app;
CREATE TABLE app.people (id int PRIMARY KEY, name text, email varchar(64), city varchar(40), ssn text);
CREATE TABLE app.events (tenant int NOT NULL, seq bigint NOT NULL, kind text, payload jsonb);
ALTER TABLE app.events REPLICA IDENTITY FULL;
CREATE TABLE app.ignored (id int PRIMARY KEY, v text);

-- @changes

INSERT INTO app.people VALUES (1, 'Ada Lovelace', 'ada@example.com', 'London', '123-45-6789');
INSERT INTO app.people VALUES (2, NULL, NULL, 'Zürich', NULL);
UPDATE app.people SET city = 'Paris', name = 'Ada' WHERE id = 1;
INSERT INTO app.ignored VALUES (1, 'not captured');
INSERT INTO app.events VALUES (7, 1, 'signup', '{"a": 1}'), (7, 2, 'login', '{}');
UPDATE app.events SET kind = 'logout' WHERE tenant = 7 AND seq = 2;
DELETE FROM app.events WHERE seq = 1;
DELETE FROM app.people WHERE id = 2;
UPDATE app.ignored SET v = 'still not' WHERE id = 1;
