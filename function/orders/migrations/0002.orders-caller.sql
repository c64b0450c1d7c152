-- depends: 0001.create-orders
-- Every order belongs to the caller that created it: the id of the API key API Gateway authenticated
-- (see docs/design.md, "Callers and isolation"). Reads, lists and idempotency keys are scoped to it.
-- Nullable at first: rows written before this migration have no caller, and neither have orders the
-- queue worker inserts until it passes the caller the API put on the message.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS caller_id varchar(128)
    CHECK (caller_id IS NULL OR char_length(caller_id) >= 1);

-- Keyset pagination within one caller: newest first, per customer or across the caller's orders.
CREATE INDEX IF NOT EXISTS orders_caller_customer_page
    ON orders (caller_id, customer_id, created_at DESC, order_id DESC);
CREATE INDEX IF NOT EXISTS orders_caller_page ON orders (caller_id, created_at DESC, order_id DESC);
