package awsapi

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Epoch is a timestamp as the JSON protocols (REST-JSON, JSON 1.1) carry
// it by default: seconds since the epoch, with milliseconds as a fraction.
type Epoch time.Time

// MarshalJSON writes the seconds, with the milliseconds as a fraction.
func (t Epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON reads a number of seconds from 0 to 1e11 (the year 5138).
func (t *Epoch) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return fmt.Errorf("timestamp %s out of range", b)
	}
	sec, frac := math.Modf(f)
	*t = Epoch(time.Unix(int64(sec), int64(frac*1e9)).UTC())
	return nil
}

// EpochPtr returns t as an *Epoch, or nil for the zero time: a member
// that is left out.
func EpochPtr(t time.Time) *Epoch {
	if t.IsZero() {
		return nil
	}
	e := Epoch(t)
	return &e
}
