-- Partitioned tables with publish_via_partition_root = true (set on the publication before the
-- changes): pgoutput sends every change as the root table's, so the topic and source.table are
-- the root's, for leaves, sub-partitions and the default partition alike; a row moving across
-- partitions is still a delete and an insert.
-- @set skipped.operations=none

CREATE SCHEMA pt;
CREATE TABLE pt.measurements (
    id     integer NOT NULL,
    at     date NOT NULL,
    v      numeric(6,2),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE pt.m2024 PARTITION OF pt.measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE pt.m2025 PARTITION OF pt.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
    PARTITION BY LIST (id);
CREATE TABLE pt.m2025_odd PARTITION OF pt.m2025 FOR VALUES IN (1, 3, 5);
CREATE TABLE pt.m2025_other PARTITION OF pt.m2025 DEFAULT;
CREATE TABLE pt.mdefault PARTITION OF pt.measurements DEFAULT;

-- @changes

ALTER PUBLICATION conform_pub SET (publish_via_partition_root = true);
INSERT INTO pt.measurements VALUES (1, '2024-05-01', 1.5), (1, '2025-05-01', 2.5), (2, '2025-05-01', 3.5),
    (3, '1999-01-01', 4.5);
UPDATE pt.measurements SET v = 9 WHERE id = 1 AND at = '2024-05-01';
UPDATE pt.measurements SET at = '2025-06-01' WHERE id = 1 AND at = '2024-05-01';
DELETE FROM pt.measurements WHERE id = 2;
