-- Kafka's RegexRouter, ReplaceField$Value, InsertField$Value, Filter with predicates (negated
-- TopicNameMatches, RecordIsTombstone), and Debezium's ByLogicalTableRouter, in one chain.
-- @set transforms=route,logical,replace,insert,dropaudit,droptombstones,keyrename
-- @set transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
-- @set transforms.route.regex=dbz\.public\.(.*)
-- @set transforms.route.replacement=cdc.$1
-- @set transforms.logical.type=io.debezium.transforms.ByLogicalTableRouter
-- @set transforms.logical.topic.regex=cdc\.(shard)_([0-9]+)
-- @set transforms.logical.topic.replacement=cdc.$1_all
-- @set transforms.logical.key.field.regex=cdc\.shard_([0-9]+)
-- @set transforms.logical.key.field.replacement=s$1
-- @set transforms.replace.type=org.apache.kafka.connect.transforms.ReplaceField$Value
-- @set transforms.replace.exclude=source,ts_us
-- @set transforms.replace.renames=op:operation,ts_ns:nanos
-- @set transforms.insert.type=org.apache.kafka.connect.transforms.InsertField$Value
-- @set transforms.insert.static.field=origin
-- @set transforms.insert.static.value=rivulet
-- @set transforms.insert.topic.field=topic
-- @set transforms.insert.timestamp.field=ts
-- @set transforms.insert.partition.field=part
-- @set transforms.dropaudit.type=org.apache.kafka.connect.transforms.Filter
-- @set transforms.dropaudit.predicate=notmain
-- @set transforms.dropaudit.negate=true
-- @set transforms.droptombstones.type=org.apache.kafka.connect.transforms.Filter
-- @set transforms.droptombstones.predicate=tombstone
-- @set transforms.keyrename.type=org.apache.kafka.connect.transforms.ReplaceField$Key
-- @set transforms.keyrename.renames=id:ident
-- @set transforms.keyrename.predicate=shards
-- @set predicates=notmain,tombstone,shards
-- @set predicates.notmain.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
-- @set predicates.notmain.pattern=cdc\.(shard_all|plain)
-- @set predicates.tombstone.type=org.apache.kafka.connect.transforms.predicates.RecordIsTombstone
-- @set predicates.shards.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
-- @set predicates.shards.pattern=cdc\.shard_all

CREATE TABLE shard_1 (id int PRIMARY KEY, v text);
CREATE TABLE shard_2 (id int PRIMARY KEY, v text);
CREATE TABLE plain (id int PRIMARY KEY, v text);
CREATE TABLE audit (id int PRIMARY KEY, v text);
CREATE TABLE nokey (v text);

-- @changes

INSERT INTO shard_1 VALUES (1, 'a');
INSERT INTO shard_2 VALUES (1, 'b');
INSERT INTO plain VALUES (1, 'p');
INSERT INTO audit VALUES (1, 'x');
UPDATE shard_1 SET v = 'aa' WHERE id = 1;
DELETE FROM shard_2 WHERE id = 1;
DELETE FROM plain WHERE id = 1;
INSERT INTO nokey VALUES ('n');
