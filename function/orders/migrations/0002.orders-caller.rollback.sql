DROP INDEX IF EXISTS orders_caller_page;
DROP INDEX IF EXISTS orders_caller_customer_page;
ALTER TABLE orders DROP COLUMN IF EXISTS caller_id;
