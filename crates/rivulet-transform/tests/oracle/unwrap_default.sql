-- ExtractNewRecordState with its defaults (delete -> tombstone, tombstones dropped), route.by.field,
-- a renamed add.fields entry and another prefix.
-- @set transforms=unwrap
-- @set transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState
-- @set transforms.unwrap.route.by.field=target
-- @set transforms.unwrap.add.fields=op:OPERATION,source.schema,version
-- @set transforms.unwrap.add.fields.prefix=meta_

CREATE TABLE routed (id int PRIMARY KEY, target text, v int);

-- @changes

INSERT INTO routed VALUES (1, 'topic.one', 10), (2, NULL, 20);
UPDATE routed SET v = 11 WHERE id = 1;
DELETE FROM routed WHERE id = 1;
DELETE FROM routed WHERE id = 2;
