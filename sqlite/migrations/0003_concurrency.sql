-- Reserved concurrency (PutFunctionConcurrency): set on the function as a
-- whole, NULL when none is set. Zero is a setting, which throttles the
-- function.
ALTER TABLE functions ADD COLUMN reserved_concurrency INTEGER;

-- Usage: the sum reads only the functions that reserve concurrency.
CREATE INDEX functions_reserved ON functions (account, region, reserved_concurrency)
	WHERE reserved_concurrency IS NOT NULL;
