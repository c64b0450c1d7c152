ALTER TABLE orders ALTER COLUMN caller_id DROP NOT NULL;
UPDATE orders SET caller_id = NULL WHERE caller_id = '(unassigned)';
