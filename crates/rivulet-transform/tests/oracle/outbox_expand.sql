-- EventRouter with table.expand.json.payload, an additional envelope field, another key column,
-- a custom route and tombstones for empty payloads. (A top-level JSON array payload makes
-- Debezium 3.6.3 fail the task: "Invalid Java object for schema with type ARRAY"; not recorded.)
-- @set transforms=outbox
-- @set transforms.outbox.type=io.debezium.transforms.outbox.EventRouter
-- @set transforms.outbox.table.expand.json.payload=true
-- @set transforms.outbox.table.fields.additional.placement=type:envelope:eventType,aggregateid:envelope
-- @set transforms.outbox.table.field.event.key=id
-- @set transforms.outbox.route.topic.replacement=events.${routedByValue}
-- @set transforms.outbox.route.tombstone.on.empty.payload=true

CREATE TABLE outbox (
    id            uuid PRIMARY KEY,
    aggregatetype text NOT NULL,
    aggregateid   text NOT NULL,
    type          text NOT NULL,
    payload       jsonb
);

-- @changes

INSERT INTO outbox VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'Order', 'o-1', 'OrderCreated', '{"id": 1, "total": 12.5, "big": 12345678901, "f": 1e2, "ok": true, "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "extra": "x"}], "tags": ["a", "b"], "none": null, "empty": []}');
INSERT INTO outbox VALUES ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'Customer', 'c-7', 'CustomerMoved', '{"city": "Zürich 😀", "nested": {"x": null, "y": [1, 2]}}');
INSERT INTO outbox VALUES ('c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', 'Order', 'o-2', 'OrderEmpty', NULL);
INSERT INTO outbox VALUES ('d0eebc99-9c0b-4ef8-bb6d-6bb9bd380a14', 'Order', 'o-3', 'Mixed', '{"mixed": [1, "a"]}');
INSERT INTO outbox VALUES ('e0eebc99-9c0b-4ef8-bb6d-6bb9bd380a15', 'Order', 'o-4', 'Scalar', '"just a string"');
