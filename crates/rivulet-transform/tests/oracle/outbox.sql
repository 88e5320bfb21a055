-- Debezium's outbox EventRouter with its defaults: payload as value, aggregateid as key,
-- topic outbox.event.<aggregatetype>; updates and deletes are skipped.
-- @set transforms=outbox
-- @set transforms.outbox.type=io.debezium.transforms.outbox.EventRouter

CREATE TABLE outbox (
    id            uuid PRIMARY KEY,
    aggregatetype text NOT NULL,
    aggregateid   text NOT NULL,
    type          text NOT NULL,
    payload       jsonb
);

-- @changes

INSERT INTO outbox VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'Order', 'o-1', 'OrderCreated', '{"id": 1, "total": 12.5, "lines": [{"sku": "A", "qty": 2}]}');
INSERT INTO outbox VALUES ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'Customer', 'c-7', 'CustomerMoved', '{"city": "Zürich", "note": null}');
UPDATE outbox SET type = 'X' WHERE aggregateid = 'o-1';
DELETE FROM outbox WHERE aggregateid = 'o-1';
INSERT INTO outbox VALUES ('c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', 'Order', 'o-2', 'OrderEmpty', NULL);
