package feed

import (
	"fmt"
	"strings"
)

// The JetStream layout that the NATS engine's publisher and replicas share:
// one stream, one subject per symbol, each message a tick's JSON (its Seq is
// the publisher's own; a replica replaces it with the stream sequence).
const (
	StreamName    = "TICKS"
	SubjectPrefix = "ticks."
	subjectsAll   = SubjectPrefix + ">"
)

// Subject is the subject that carries symbol's ticks, e.g. ticks.AAPL.
func Subject(symbol string) string { return SubjectPrefix + symbol }

// checkSubjects reports a symbol whose subject NATS would refuse: a dot in
// a symbol separates subject tokens (ticks.BRK.B), and no token may be empty.
func checkSubjects(symbols []string) error {
	for _, sym := range symbols {
		if sym == "" || strings.HasPrefix(sym, ".") || strings.HasSuffix(sym, ".") || strings.Contains(sym, "..") {
			return fmt.Errorf("symbol %q cannot be a NATS subject (%s): no leading, trailing or double dot", sym, Subject(sym))
		}
	}
	return nil
}
