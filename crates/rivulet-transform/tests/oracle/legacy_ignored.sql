-- Options Debezium 3.6.3 no longer reads: ExtractNewRecordState's drop.tombstones and
-- delete.handling.mode (removed in Debezium 3.2) and ReplaceField's whitelist (removed in Kafka
-- 4.0). They are ignored: deletes become tombstones (the default mode), `name` is kept.
-- @set transforms=unwrap,keep
-- @set transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState
-- @set transforms.unwrap.drop.tombstones=false
-- @set transforms.unwrap.delete.handling.mode=rewrite
-- @set transforms.keep.type=org.apache.kafka.connect.transforms.ReplaceField$Value
-- @set transforms.keep.whitelist=id
CREATE TABLE items (id int PRIMARY KEY, name text);
-- @changes
INSERT INTO items VALUES (1, 'one');
DELETE FROM items WHERE id = 1;
