-- Layers (as sqlite/migrations/0011_layers.sql). Layer versions, their
-- policies and the per-layer version counters are records; what a function
-- version uses is in its document, each entry of config.layers holding the
-- layer version's ARN and the digest and key of its code, so that the code
-- outlives a deleted layer version.
--
-- Garbage collection lists the code of those layers (CodeRefs): this index
-- holds only the versions that have layers, so it reads those alone.
CREATE INDEX versions_with_layers ON versions (account)
	WHERE jsonb_typeof(data->'config'->'layers') = 'array';
