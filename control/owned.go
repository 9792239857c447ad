package control

import (
	"context"

	"github.com/lambdahost/lambdahost"
)

// Records that belong to a function, or to one of its versions or
// aliases, go with it. Event source mappings do not: AWS keeps a mapping
// whose function was deleted (it answers Get and Delete as before).

// qualifierKinds are the record kinds keyed "<function key>/<qualifier>".
var qualifierKinds = []string{kindEventInvokeConfig, kindRuntimeManagement, kindProvisionedConcurrency}

// functionKinds are the record kinds keyed by the function key alone.
var functionKinds = []string{kindRecursionConfig}

// deleteFunctionRecords deletes, in tx, every record of function id and
// of its versions and aliases.
func deleteFunctionRecords(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID) error {
	for _, kind := range functionKinds {
		if err := tx.DeleteRecord(ctx, kind, functionKey(id)); err != nil {
			return err
		}
	}
	for _, kind := range qualifierKinds {
		if err := deleteRecordsUnder(ctx, tx, kind, functionKey(id)+"/"); err != nil {
			return err
		}
	}
	return nil
}

// deleteQualifierRecords deletes, in tx, the records of version or alias q
// of function id.
func deleteQualifierRecords(ctx context.Context, tx lambdahost.Tx, id lambdahost.FunctionID, q string) error {
	for _, kind := range qualifierKinds {
		if err := tx.DeleteRecord(ctx, kind, qualifiedRecordKey(id, q)); err != nil {
			return err
		}
	}
	return nil
}

// deleteRecordsUnder deletes every record of kind whose key starts with prefix.
func deleteRecordsUnder(ctx context.Context, tx lambdahost.Tx, kind, prefix string) error {
	for {
		recs, err := tx.ListRecords(ctx, kind, prefix, "", 100)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := tx.DeleteRecord(ctx, kind, r.Key); err != nil {
				return err
			}
		}
		if len(recs) < 100 {
			return nil
		}
	}
}
