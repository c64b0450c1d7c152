-- The orders table. idempotency_key makes every create safe to retry: an API Idempotency-Key, or
-- the event id of an order sent through the queue.
CREATE TABLE IF NOT EXISTS orders (
    order_id uuid PRIMARY KEY,
    customer_id varchar(64) NOT NULL CHECK (char_length(customer_id) >= 1),
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status text NOT NULL DEFAULT 'created',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    idempotency_key text NOT NULL UNIQUE,
    request_fingerprint char(64) NOT NULL
);

-- Keyset pagination: newest first, per customer or across all orders.
CREATE INDEX IF NOT EXISTS orders_customer_page ON orders (customer_id, created_at DESC, order_id DESC);
CREATE INDEX IF NOT EXISTS orders_page ON orders (created_at DESC, order_id DESC);
