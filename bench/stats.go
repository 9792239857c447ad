package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// percentile returns the q-quantile (0 < q ≤ 1) of ds by nearest rank, or 0
// for no samples.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// fmtDur formats d with three significant digits in µs, ms or s.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// fmtBytes formats n in decimal megabytes, the unit of the RSS target.
func fmtBytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

func fmtRatio(r float64) string {
	if r <= 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r)
}

// row is one line of the result table. Empty cells print as blanks.
type row struct {
	metric, ours, moto, floor, ratio, target, pass string
}

// passMark returns the pass column for ok; "" when there is no target.
func passMark(ok bool) string {
	if ok {
		return "yes"
	}
	return "**NO**"
}

// defaultHeader heads the update, memory, ListFunctions and deploy table.
var defaultHeader = row{"metric", "ours", "moto", "floor", "ratio", "target", "pass?"}

// writeTableHeader writes rows as a markdown table under header. Columns
// whose header cell is empty are left out.
func writeTableHeader(w io.Writer, header row, rows []row) {
	all := func(r row) []string { return []string{r.metric, r.ours, r.moto, r.floor, r.ratio, r.target, r.pass} }
	var keep []int
	for i, c := range all(header) {
		if c != "" {
			keep = append(keep, i)
		}
	}
	cells := func(r row) []string {
		a := all(r)
		out := make([]string, len(keep))
		for j, i := range keep {
			out[j] = a[i]
		}
		return out
	}
	width := make([]int, len(keep))
	for _, r := range append([]row{header}, rows...) {
		for i, c := range cells(r) {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cs []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cs {
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(cells(header))
	sep := make([]string, len(keep))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows {
		line(cells(r))
	}
}
