-- Layers. Layer versions, their policies and the per-layer version
-- counters are records (kinds layer, layer-version, layer-policy and
-- layer-usage); what a function version uses is in its data, each entry of
-- $.config.layers holding the layer version's ARN and the digest and key
-- of its code, so that the code outlives a deleted layer version.
--
-- Garbage collection lists the code of those layers (CodeRefs): this index
-- holds only the versions that have layers, so it reads those alone.
--
-- Numbered after 0010: a store that has applied 0010 applies only later
-- migrations. IF NOT EXISTS, because stores made while this was 0006
-- already have the index.
CREATE INDEX IF NOT EXISTS versions_with_layers ON versions (account)
	WHERE json_type(data, '$.config.layers') = 'array';
