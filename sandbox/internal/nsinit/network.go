package nsinit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// rulePriority is the priority of the first Rule; the others follow it.
// Rules with a lower number are looked at first, and the kernel's own are
// at 0 (local), 32766 (main) and 32767 (default): every Rule comes after
// the environment's own addresses and before the routes to anywhere else.
const rulePriority = 100

// addRules installs rules as policy routing rules of the network namespace,
// in order. The namespace is the environment's own, and the function user,
// who has no capabilities, cannot change them.
func addRules(rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("network rules: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("network rules: %w", err)
	}
	buf := make([]byte, 4096)
	for i, r := range rules {
		seq := uint32(i + 1)
		msg, err := RuleMessage(r, rulePriority+uint32(i), seq)
		if err != nil {
			return fmt.Errorf("network rule %d: %w", i, err)
		}
		if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return fmt.Errorf("network rule %s: %w", r.Prefix, err)
		}
		if err := readAck(fd, buf, seq); err != nil {
			return fmt.Errorf("network rule %s: %w", r.Prefix, err)
		}
	}
	return nil
}

// readAck reads netlink messages until the acknowledgement of seq, and
// returns the error it carries.
func readAck(fd int, buf []byte, seq uint32) error {
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b := buf[:n]
		for len(b) >= unix.SizeofNlMsghdr {
			l := binary.NativeEndian.Uint32(b[0:4])
			typ := binary.NativeEndian.Uint16(b[4:6])
			s := binary.NativeEndian.Uint32(b[8:12])
			if l < unix.SizeofNlMsghdr || int(l) > len(b) {
				return errors.New("malformed netlink answer")
			}
			if typ == unix.NLMSG_ERROR && s == seq {
				if l < unix.SizeofNlMsghdr+4 {
					return errors.New("malformed netlink answer")
				}
				if errno := int32(binary.NativeEndian.Uint32(b[16:20])); errno != 0 {
					return unix.Errno(-errno)
				}
				return nil
			}
			if next := align(int(l)); next < len(b) {
				b = b[next:]
			} else {
				b = nil
			}
		}
	}
}

func align(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// RuleMessage encodes r as an RTM_NEWRULE request with the given priority
// and sequence number: an IPv4 rule on r's destination prefix, narrowed to
// r's protocol and destination port if set, that either looks the route up
// in the main table (Allow) or refuses it (prohibit: connect fails with
// EACCES, and no packet is sent).
func RuleMessage(r Rule, priority, seq uint32) ([]byte, error) {
	p, err := netip.ParsePrefix(r.Prefix)
	if err != nil {
		return nil, err
	}
	if !p.Addr().Is4() {
		return nil, fmt.Errorf("prefix %s is not IPv4", r.Prefix)
	}
	if r.Proto < 0 || r.Proto > 255 || r.Port < 0 || r.Port > 65535 || (r.Port != 0 && r.Proto == 0) {
		return nil, fmt.Errorf("bad protocol %d or port %d", r.Proto, r.Port)
	}
	p = p.Masked()
	// struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1,
	// res2, action (u8 each), flags (u32).
	hdr := make([]byte, 12)
	hdr[0] = unix.AF_INET
	hdr[1] = byte(p.Bits())
	if r.Allow {
		hdr[4] = unix.RT_TABLE_MAIN
		hdr[7] = unix.FR_ACT_TO_TBL
	} else {
		hdr[7] = unix.FR_ACT_PROHIBIT
	}
	body := hdr
	a := p.Addr().As4()
	body = appendAttr(body, unix.FRA_DST, a[:])
	body = appendAttr(body, unix.FRA_PRIORITY, binary.NativeEndian.AppendUint32(nil, priority))
	if r.Allow {
		body = appendAttr(body, unix.FRA_TABLE, binary.NativeEndian.AppendUint32(nil, unix.RT_TABLE_MAIN))
	}
	if r.Proto != 0 {
		body = appendAttr(body, unix.FRA_IP_PROTO, []byte{byte(r.Proto)})
	}
	if r.Port != 0 {
		// struct fib_rule_port_range {__u16 start, end}, host order.
		pr := binary.NativeEndian.AppendUint16(nil, uint16(r.Port))
		pr = binary.NativeEndian.AppendUint16(pr, uint16(r.Port))
		body = appendAttr(body, unix.FRA_DPORT_RANGE, pr)
	}
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg[0:4], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:6], unix.RTM_NEWRULE)
	binary.NativeEndian.PutUint16(msg[6:8], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	binary.NativeEndian.PutUint32(msg[8:12], seq)
	return append(msg, body...), nil
}

// appendAttr appends a netlink attribute, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for range align(l) - l {
		b = append(b, 0)
	}
	return b
}

// waitNetwork waits until the network of the environment is configured:
// the launcher's network helper writes to the other end of fd once it is,
// and closes it (end of file, nothing read) if it fails.
func waitNetwork(fd int) error {
	defer unix.Close(fd)
	var b [16]byte
	for {
		n, err := unix.Read(fd, b[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for the network: %w", err)
		}
		if n == 0 {
			return errors.New("the network helper ended before configuring the network")
		}
		return nil
	}
}
