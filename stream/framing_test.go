package stream

import "strconv"

// testFraming frames events as one line each, "kind id body\n", so that an
// engine test reads what the engine sent without any transport's syntax.
type testFraming struct{}

func (testFraming) AppendEvent(dst []byte, kind Kind, id uint64, body []byte) []byte {
	dst = append(dst, kind.String()...)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, ' ')
	dst = append(dst, body...)
	return append(dst, '\n')
}

func (testFraming) Heartbeat() []byte { return []byte("heartbeat\n") }

func (testFraming) Closing(reason CloseReason) []byte {
	return []byte("closing " + reason.String() + "\n")
}

func (testFraming) Name() string { return "test" }
