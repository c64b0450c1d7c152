-- depends: 0002.orders-caller
-- Every order has a caller (see docs/design.md, "Callers and isolation"). Rows written before 0002
-- have none; until now they were visible to every caller. They are given to a reserved caller,
-- '(unassigned)', that no API key id can equal (key ids are alphanumeric, and the API refuses a key
-- whose id is this value), so no caller sees them until an operator hands them to their key
-- (docs/operations.md, "Orders from before callers"). The worker gives the same caller to a queued
-- order whose message carries no caller.
-- The value is orders.repository.UNASSIGNED_CALLER; a test checks the two agree.
UPDATE orders SET caller_id = '(unassigned)' WHERE caller_id IS NULL;
ALTER TABLE orders ALTER COLUMN caller_id SET NOT NULL;
