package control

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/lambdahost/lambdahost"
)

// layers checks, for Check, the records of layers (layer.go): each layer
// version is stored under its own key, and its layer's version counter has
// passed its number, so that no number is published twice; each layer
// policy belongs to a layer version that exists (deleting the version
// deletes it); and each account's layer usage is what its layer versions
// store, as the code storage quota counts it. The code of layer versions
// is verified with all other code (codeHolders).
func (c *checker) layers(ctx context.Context) error {
	stored := map[string]int64{} // by layerUsageKey
	err := eachRecord(ctx, c.tx, kindLayerVersion, func(r lambdahost.Record) error {
		var lv layerVersionRecord
		if json.Unmarshal(r.Value, &lv) != nil || lv.Version < 1 || lv.Name == "" {
			c.problem("", "layer version record %q is not a layer version", r.Key)
			return nil
		}
		c.rep.LayerVersions++
		arn := lv.arn()
		if want := layerVersionKey(lv.id(), lv.Version); r.Key != want {
			c.problem(arn, "is stored as %q, where its layer keeps it as %q", r.Key, want)
		}
		l, err := getRecord[layerRecord](ctx, c.tx, kindLayer, layerKey(lv.id()))
		switch {
		case errors.Is(err, lambdahost.ErrNotFound):
			c.problem(arn, "has no layer record: its layer would number versions from 1 again")
		case err != nil:
			return err
		case l.LastVersion < lv.Version:
			c.problem(arn, "is past its layer's last version number, %d: the number would be published again", l.LastVersion)
		}
		stored[layerUsageKey(lv.Account, lv.Region)] += lv.Size
		return nil
	})
	if err != nil {
		return err
	}
	err = eachRecord(ctx, c.tx, kindLayerPolicy, func(r lambdahost.Record) error {
		p, err := decodeRecord[layerPolicy](r)
		if err != nil || len(p.Statements) == 0 {
			c.problem("", "layer policy record %q is not a policy", r.Key)
			return nil
		}
		_, err = c.tx.Record(ctx, kindLayerVersion, r.Key)
		switch {
		case errors.Is(err, lambdahost.ErrNotFound):
			// Its statements name the version as their Resource.
			c.problem(p.Statements[0].Resource, "has a layer policy record but no layer version")
		case err != nil:
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	counted := map[string]int64{}
	err = eachRecord(ctx, c.tx, kindLayerUsage, func(r lambdahost.Record) error {
		u, err := decodeRecord[layerUsage](r)
		if err != nil {
			c.problem("", "layer usage record %q is not one", r.Key)
			return nil
		}
		counted[r.Key] = u.Bytes
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(stored)) {
		if stored[k] != counted[k] {
			c.problem("", "layer versions of %s store %d bytes, but the code storage quota counts %d", k, stored[k], counted[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(counted)) {
		if _, ok := stored[k]; !ok {
			c.problem("", "layer versions of %s store nothing, but the code storage quota counts %d bytes", k, counted[k])
		}
	}
	return nil
}
