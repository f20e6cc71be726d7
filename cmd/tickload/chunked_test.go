package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// chunk encodes body as an HTTP/1.1 chunked body with chunks of the given
// sizes (cycled), extensions on some size lines and a trailer.
func chunk(body string, sizes ...int) string {
	var b strings.Builder
	for i := 0; len(body) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(body))
		if i%3 == 2 {
			fmt.Fprintf(&b, "%X;name=value\r\n%s\r\n", n, body[:n])
		} else {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		}
		body = body[n:]
	}
	b.WriteString("0\r\nX-Trailer: 1\r\n\r\n")
	return b.String()
}

func TestDechunkerAcrossSplits(t *testing.T) {
	body := buildStream(30).text
	tests := []struct {
		name   string
		chunks []int
		read   int
	}{
		{"one chunk, one read", []int{len(body)}, 1 << 20},
		{"one chunk, byte reads", []int{len(body)}, 1},
		{"event-sized chunks, 3-byte reads", []int{150, 90}, 3},
		{"small chunks, 10-byte reads", []int{1, 2, 17}, 10},
		{"4 KiB chunks, 1000-byte reads", []int{4096}, 1000},
		{"odd chunks, 4096-byte reads", []int{33, 1, 700}, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(chunk(body, tt.chunks...))
			var (
				d   dechunker
				out []byte
				err error
			)
			for len(raw) > 0 && err == nil {
				n := min(tt.read, len(raw))
				p := append([]byte(nil), raw[:n]...)
				raw = raw[n:]
				var m int
				m, err = d.decode(p)
				out = append(out, p[:m]...)
			}
			if !errors.Is(err, errBodyEnd) {
				t.Fatalf("decode ended with %v, want errBodyEnd", err)
			}
			if len(raw) != 0 {
				t.Errorf("%d bytes left after the last chunk", len(raw))
			}
			if string(out) != body {
				t.Errorf("decoded %d bytes, want the %d-byte body", len(out), len(body))
			}
		})
	}
}

func TestDechunkerRejectsBadFraming(t *testing.T) {
	for _, raw := range []string{
		"zz\r\nabc\r\n",
		"\r\n",
		"3\r\nabcX\r\n",
		"3\rX",
		"fffffffffffffff\r\n",
	} {
		var d dechunker
		p := []byte(raw)
		if _, err := d.decode(p); err == nil || errors.Is(err, errBodyEnd) {
			t.Errorf("decode(%q) = %v, want a framing error", raw, err)
		}
	}
}
