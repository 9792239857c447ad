package main

import (
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/lambdahost/lambdahost/control"
)

// TestAsyncCounts: every counter of control.Metrics reaches the metrics,
// each to a counter of its own.
func TestAsyncCounts(t *testing.T) {
	var m control.Metrics
	mv := reflect.ValueOf(&m).Elem()
	var want []int64
	for i := range mv.NumField() {
		c, ok := mv.Field(i).Addr().Interface().(*atomic.Int64)
		if !ok {
			t.Fatalf("control.Metrics.%s is not an atomic.Int64", mv.Type().Field(i).Name)
		}
		c.Store(int64(i + 1))
		want = append(want, int64(i+1))
	}
	a := asyncCounts(&m)
	av := reflect.ValueOf(a)
	var got []int64
	for i := range av.NumField() {
		got = append(got, av.Field(i).Int())
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the metrics read %v from control.Metrics, want each of its counters once: %v", got, want)
	}
	if len(m.Snapshot()) != len(want) {
		t.Errorf("control.Metrics.Snapshot has %d counters, the struct %d", len(m.Snapshot()), len(want))
	}
}
