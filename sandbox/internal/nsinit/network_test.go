package nsinit

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRuleMessage decodes the requests RuleMessage builds.
func TestRuleMessage(t *testing.T) {
	tests := []struct {
		name    string
		rule    Rule
		action  byte
		dstLen  byte
		attrs   map[uint16][]byte
		wantErr bool
	}{
		{
			name: "refuse-prefix", rule: Rule{Prefix: "10.1.2.3/8"}, action: unix.FR_ACT_PROHIBIT, dstLen: 8,
			attrs: map[uint16][]byte{unix.FRA_DST: {10, 0, 0, 0}, unix.FRA_PRIORITY: u32(7)},
		},
		{
			name: "allow-tcp-port", rule: Rule{Prefix: "169.254.1.1/32", Proto: 6, Port: 9001, Allow: true}, action: unix.FR_ACT_TO_TBL, dstLen: 32,
			attrs: map[uint16][]byte{
				unix.FRA_DST: {169, 254, 1, 1}, unix.FRA_PRIORITY: u32(7), unix.FRA_TABLE: u32(unix.RT_TABLE_MAIN),
				unix.FRA_IP_PROTO: {6}, unix.FRA_DPORT_RANGE: append(u16(9001), u16(9001)...),
			},
		},
		{name: "ipv6", rule: Rule{Prefix: "fd00::/8"}, wantErr: true},
		{name: "bad-prefix", rule: Rule{Prefix: "10.0.0.0"}, wantErr: true},
		{name: "port-without-protocol", rule: Rule{Prefix: "10.0.0.0/8", Port: 1}, wantErr: true},
		{name: "port-out-of-range", rule: Rule{Prefix: "10.0.0.0/8", Proto: 6, Port: 70000}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := RuleMessage(tt.rule, 7, 3)
			if tt.wantErr {
				if err == nil {
					t.Fatal("RuleMessage succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l := binary.NativeEndian.Uint32(msg); int(l) != len(msg) {
				t.Fatalf("length %d, message of %d bytes", l, len(msg))
			}
			if typ := binary.NativeEndian.Uint16(msg[4:]); typ != unix.RTM_NEWRULE {
				t.Errorf("type %d", typ)
			}
			if seq := binary.NativeEndian.Uint32(msg[8:]); seq != 3 {
				t.Errorf("seq %d", seq)
			}
			hdr := msg[unix.SizeofNlMsghdr:]
			if hdr[0] != unix.AF_INET || hdr[1] != tt.dstLen || hdr[7] != tt.action {
				t.Errorf("header % x", hdr[:12])
			}
			got := map[uint16][]byte{}
			for b := hdr[12:]; len(b) >= 4; {
				l := int(binary.NativeEndian.Uint16(b))
				got[binary.NativeEndian.Uint16(b[2:])] = b[4:l]
				b = b[align(l):]
			}
			if len(got) != len(tt.attrs) {
				t.Errorf("attributes %v, want %v", got, tt.attrs)
			}
			for k, v := range tt.attrs {
				if string(got[k]) != string(v) {
					t.Errorf("attribute %d: % x, want % x", k, got[k], v)
				}
			}
		})
	}
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
