package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * time.Millisecond // descending: percentile sorts
	}
	for _, tc := range []struct {
		name string
		ds   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, .5, 0},
		{"one", ms(7), .99, 7 * time.Millisecond},
		{"median of odd", ms(3, 1, 2), .5, 2 * time.Millisecond},
		{"median of even is the lower", ms(4, 1, 3, 2), .5, 2 * time.Millisecond},
		{"p50 of 100", hundred, .5, 50 * time.Millisecond},
		{"p99 of 100", hundred, .99, 99 * time.Millisecond},
		{"max", hundred, 1, 100 * time.Millisecond},
	} {
		if got := percentile(tc.ds, tc.q); got != tc.want {
			t.Errorf("%s: percentile(%v, %v) = %v, want %v", tc.name, tc.ds, tc.q, got, tc.want)
		}
	}
	in := ms(3, 1, 2)
	percentile(in, .5)
	if !slices.Equal(in, ms(3, 1, 2)) {
		t.Errorf("percentile reordered its input: %v", in)
	}
}

func TestParseReports(t *testing.T) {
	log := strings.Join([]string{
		"START RequestId: a1 Version: $LATEST",
		"hello from the handler",
		"END RequestId: a1",
		// lambdahost: Init Duration after the memory fields.
		"REPORT RequestId: a1\tDuration: 0.41 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 9 MB\tInit Duration: 4.20 ms\t",
		// RIE: Init Duration first.
		"REPORT RequestId: b2\tInit Duration: 0.02 ms\tDuration: 7.63 ms\tBilled Duration: 8 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t",
		// Warm, with a status.
		"REPORT RequestId: c3\tDuration: 1234.56 ms\tBilled Duration: 1235 ms\tMemory Size: 128 MB\tMax Memory Used: 9 MB\tStatus: error\tError Type: Runtime.ExitError\t",
		// Not REPORT lines, or broken ones.
		"the handler printed REPORT RequestId: x\tDuration: 1.00 ms",
		"REPORT RequestId: d4\tDuration: soon\t",
		"REPORT Duration: 1.00 ms\t",
		"",
	}, "\n")
	got := parseReports([]byte(log))
	want := []reportLine{
		{requestID: "a1", duration: 410 * time.Microsecond, initDuration: 4200 * time.Microsecond, maxMemoryMB: 9},
		{requestID: "b2", duration: 7630 * time.Microsecond, initDuration: 20 * time.Microsecond, maxMemoryMB: 128},
		{requestID: "c3", duration: 1234560 * time.Microsecond, maxMemoryMB: 9},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseReports:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseMS(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0.41 ms", 410 * time.Microsecond, true},
		{"12 ms", 12 * time.Millisecond, true},
		{"0.00 ms", 0, true},
		{"1.5", 0, false},
		{"-1.00 ms", 0, false},
		{"NaN ms", 0, false},
		{"x ms", 0, false},
	} {
		got, ok := parseMS(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseMS(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRequestIDOf(t *testing.T) {
	if got := requestIDOf([]byte(`{"version":"v0","request_id":"r-1","arn":"x"}`)); got != "r-1" {
		t.Errorf("requestIDOf = %q, want r-1", got)
	}
	if got := requestIDOf([]byte(`not json`)); got != "" {
		t.Errorf("requestIDOf(not json) = %q, want empty", got)
	}
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, as /proc allows.
	stat := []byte("4242 (my (odd) cmd) S 17 4242 4242 0 -1 4194560 300 0 0 0 250 50 0 0 20 0 4 0 12345 1000000 500 18446744073709551615\n")
	ppid, err := parseStatPPID(stat)
	if err != nil || ppid != 17 {
		t.Errorf("parseStatPPID = %d, %v; want 17", ppid, err)
	}
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3*time.Second { // (250 + 50) ticks at 100 Hz
		t.Errorf("parseStatCPU = %v, %v; want 3s", cpu, err)
	}
	if _, err := parseStatPPID([]byte("4242 no parens")); err == nil {
		t.Error("parseStatPPID accepted a line without a command name")
	}
	if _, err := parseStatCPU([]byte("1 (x) S 0")); err == nil {
		t.Error("parseStatCPU accepted a short line")
	}
}

func TestDescendants(t *testing.T) {
	ppids := map[int]int{1: 0, 10: 1, 11: 10, 12: 10, 13: 12, 20: 1, 21: 20}
	got := descendants(10, ppids)
	slices.Sort(got)
	if want := []int{11, 12, 13}; !slices.Equal(got, want) {
		t.Errorf("descendants(10) = %v, want %v", got, want)
	}
	if got := descendants(13, ppids); len(got) != 0 {
		t.Errorf("descendants(13) = %v, want none", got)
	}
	direct := descendantsDirect(10, ppids)
	slices.Sort(direct)
	if want := []int{11, 12}; !slices.Equal(direct, want) {
		t.Errorf("descendantsDirect(10) = %v, want %v", direct, want)
	}
}

func TestParseSmapsRollup(t *testing.T) {
	b := []byte(`55d0c0a00000-7ffc2b9fe000 ---p 00000000 00:00 0                          [rollup]
Rss:                7816 kB
Pss:                2561 kB
Pss_Dirty:          1200 kB
Shared_Clean:       5100 kB
`)
	rss, pss, err := parseSmapsRollup(b)
	if err != nil || rss != 7816<<10 || pss != 2561<<10 {
		t.Errorf("parseSmapsRollup = %d, %d, %v; want %d, %d", rss, pss, err, 7816<<10, 2561<<10)
	}
	if _, _, err := parseSmapsRollup([]byte("Rss: 1 kB\n")); err == nil {
		t.Error("parseSmapsRollup accepted a rollup without Pss")
	}
}

func TestWriteTableHeaderDropsColumns(t *testing.T) {
	var b strings.Builder
	writeTableHeader(&b, row{"metric", "a", "b", "", "ratio", "", ""}, []row{{metric: "m", ours: "1", moto: "2", floor: "hidden", ratio: "0.5×"}})
	want := "| metric | a | b | ratio |\n| ------ | - | - | ----- |\n| m      | 1 | 2 | 0.5×  |\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}
