package feed

// The JetStream layout that the NATS engine's publisher and replicas share:
// one stream, one subject per symbol, each message a tick's JSON (its Seq is
// the publisher's own; a replica replaces it with the stream sequence).
const (
	StreamName    = "TICKS"
	SubjectPrefix = "ticks."
	subjectsAll   = SubjectPrefix + ">"
)

// Subject is the subject that carries symbol's ticks: [SubjectPrefix] and
// one token that spells the symbol, e.g. ticks.AAPL, ticks.BRK_2EB and
// ticks.NASDAQ_3AAAPL.
//
// The token keeps the letters, digits and '-' of the symbol and writes
// every other byte as '_' and its value in two upper-case hex digits: '.'
// is _2E and ':' is _3A. A token then holds only letters, digits, '-' and
// '_', the characters NATS recommends ('.' would separate tokens), so
// every symbol makes a valid one-token subject and ticks.* matches them
// all. Because '_' is always an escape (a '_' of the symbol itself would
// be _5F), the symbol can be read back from the token and no two symbols
// share one.
//
// Publisher and replicas must map symbols alike, so this mapping is part
// of the stream's format: changing it changes the subjects ticks are
// stored on.
func Subject(symbol string) string {
	escapes := 0
	for i := 0; i < len(symbol); i++ {
		if !subjectByte(symbol[i]) {
			escapes++
		}
	}
	if escapes == 0 {
		return SubjectPrefix + symbol
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(SubjectPrefix)+len(symbol)+2*escapes)
	b = append(b, SubjectPrefix...)
	for i := 0; i < len(symbol); i++ {
		if c := symbol[i]; subjectByte(c) {
			b = append(b, c)
		} else {
			b = append(b, '_', hex[c>>4], hex[c&0xf])
		}
	}
	return string(b)
}

// subjectByte reports whether c stands for itself in a subject token.
func subjectByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
}
