-- hstore.handling.mode=map: hstore values as a JSON object (a Connect map),
-- keys in Java HashMap order (pgjdbc's HStoreConverter fills a HashMap): many keys, NULL values,
-- quotes and backslashes, unicode, empty hstore, hstore[] and the NOT NULL fallback.
-- @set hstore.handling.mode=map
-- @set skipped.operations=none

CREATE EXTENSION hstore;
CREATE SCHEMA hs;

CREATE TABLE hs.kv (
    id     integer PRIMARY KEY,
    h      hstore,
    ha     hstore[]
);

CREATE TABLE hs.required (
    id     integer PRIMARY KEY,
    h      hstore NOT NULL
);
INSERT INTO hs.required VALUES (1, 'a=>1');

-- An unchanged out-of-line hstore: Debezium's placeholder map.
CREATE TABLE hs.toasted (
    id     integer PRIMARY KEY,
    note   text,
    h      hstore
);
ALTER TABLE hs.toasted ALTER COLUMN h SET STORAGE EXTERNAL;
INSERT INTO hs.toasted SELECT 1, 'a', hstore(array_agg('key' || g), array_agg(repeat('v', 50))) FROM generate_series(1, 100) g;

-- @changes

INSERT INTO hs.kv VALUES
    (1, 'a=>1, b=>2, c=>3', ARRAY['x=>1'::hstore, 'y=>NULL'::hstore]),
    (2, 'name=>Ann, city=>Paris, zip=>75001, country=>FR, phone=>NULL, email=>"ann@example.com"', '{}'),
    (3, '"key with spaces"=>"value with \"quotes\"", "back\\slash"=>"x\\y", "ünï"=>"✓", "😀"=>"emoji"', NULL),
    (4, '', NULL),
    (5, 'k01=>1, k02=>2, k03=>3, k04=>4, k05=>5, k06=>6, k07=>7, k08=>8, k09=>9, k10=>10, k11=>11, k12=>12, k13=>13, k14=>14, k15=>15, k16=>16, k17=>17, k18=>18, k19=>19, k20=>20, aa=>1, bb=>2, Aa=>3, BB=>4, long_key_name_here=>v', NULL),
    (6, '"1"=>one, "2"=>two, "10"=>ten, "100"=>hundred, ""=>empty', NULL);
INSERT INTO hs.kv (id) VALUES (7);
UPDATE hs.kv SET h = h || 'z=>26' WHERE id = 1;
DELETE FROM hs.required WHERE id = 1;
UPDATE hs.toasted SET note = 'b' WHERE id = 1;
