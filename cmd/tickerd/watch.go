package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/r3labs/sse/v2"
	"gopkg.in/cenkalti/backoff.v1"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/stream"
)

// The transports tickerd watch receives ticks over.
const (
	transportSSE  = "sse"  // GET /events
	transportWS   = "ws"   // GET /ws
	transportPoll = "poll" // GET /api/ticks, long-polling
)

// defaultPollWait is how long a poll asks tickerd to hold it for a tick:
// under the server's default -poll-max-wait, and under the idle timeouts
// of most proxies.
const defaultPollWait = 25 * time.Second

// runWatch prints the ticks of a running tickerd, one line each, until ctx
// is done. It receives them over -transport, and after any disconnect it
// resumes after the last seq it saw.
func runWatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickerd watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("url", "http://localhost:8080", "base URL of tickerd")
	symbols := fs.String("symbols", "", "comma list of symbols to watch; empty for all")
	transport := fs.String("transport", transportSSE, "how to receive the ticks: sse (GET /events), ws (GET /ws) or poll (GET /api/ticks, long-polling)")
	pollWait := fs.Duration("poll-wait", defaultPollWait, "with -transport poll: how long tickerd may hold a poll until a tick comes (at most its -poll-max-wait; 0: plain polling, once a second)")
	raw := fs.Bool("json", false, "print each tick's JSON, as GET /events carries it")
	tokenFile := fs.String("token-file", "", "file holding the token to send when tickerd has authentication on (or set TICKERD_WATCH_TOKEN)")
	if v := getenv("TICKERD_WATCH_URL"); v != "" {
		*server = v
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	u, err := url.Parse(*server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Errorf("-url %q: want http://host:port", *server)}
	}
	switch *transport {
	case transportSSE, transportWS, transportPoll:
	default:
		return usageError{fmt.Errorf("-transport %q: want sse, ws or poll", *transport)}
	}
	if *pollWait < 0 {
		return usageError{fmt.Errorf("-poll-wait %v: want 0 or more", *pollWait)}
	}
	token, err := clientCredentials(*symbols, *tokenFile, getenv("TICKERD_WATCH_TOKEN"))
	if err != nil {
		return err
	}

	w := &watcher{base: u, symbols: *symbols, token: token, out: printer{stdout: stdout, stderr: stderr, raw: *raw}}
	switch *transport {
	case transportWS:
		return w.overWebSocket(ctx)
	case transportPoll:
		return w.byPolling(ctx, *pollWait)
	}
	return w.overSSE(ctx)
}

// watcher receives the ticks of one tickerd.
type watcher struct {
	base    *url.URL
	symbols string // comma list; empty: every symbol
	token   string // sent as a bearer token; empty: none
	out     printer
	lastSeq uint64 // of the last tick or snapshot received; 0: none yet
}

// retryBackoff is how long a watcher waits before reconnecting: from half
// a second, doubling up to 10 s. A terminal watcher retries for as long as
// it runs.
func retryBackoff() *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval: 500 * time.Millisecond, RandomizationFactor: 0.5,
		Multiplier: 2, MaxInterval: 10 * time.Second, Clock: backoff.SystemClock,
	}
	b.Reset()
	return b
}

// pause waits d, and reports false if ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// overSSE reads GET /events through r3labs/sse, which reconnects with
// Last-Event-ID by itself.
func (w *watcher) overSSE(ctx context.Context) error {
	u := w.base.JoinPath("events")
	if w.symbols != "" {
		u.RawQuery = url.Values{"symbols": {w.symbols}}.Encode()
	}
	client := sse.NewClient(u.String())
	if w.token != "" {
		client.Headers["Authorization"] = "Bearer " + w.token
	}
	// The library's default gives up 15 minutes after the first attempt.
	client.ReconnectStrategy = retryBackoff()
	client.ReconnectNotify = func(err error, next time.Duration) {
		w.out.warn(fmt.Errorf("%w; retrying in %v", err, next.Round(100*time.Millisecond)))
	}
	for ctx.Err() == nil {
		err := client.SubscribeRawWithContext(ctx, func(msg *sse.Event) {
			switch string(msg.Event) {
			case "tick":
				w.out.tick(msg.Data)
			case "snapshot":
				w.out.snapshot(string(msg.ID))
			case "conflated":
				w.out.conflated(msg.Data)
			}
		})
		// A clean end of stream (the server restarting) returns nil without
		// reconnecting; wait the advertised retry and subscribe again.
		if err != nil && ctx.Err() == nil {
			w.out.warn(err)
		}
		pause(ctx, 2*time.Second)
	}
	return nil
}

// maxMessageBytes bounds one message of GET /ws: a snapshot of a large
// universe is the largest.
const maxMessageBytes = 4 << 20

// overWebSocket reads GET /ws through coder/websocket, reconnecting with
// ?lastEventId. Without -symbols it asks for every symbol (symbols=*).
func (w *watcher) overWebSocket(ctx context.Context) error {
	retry := retryBackoff()
	for ctx.Err() == nil {
		received, err := w.readWebSocket(ctx)
		if ctx.Err() != nil {
			break
		}
		var refused *refusedError
		if errors.As(err, &refused) && refused.final() {
			return err
		}
		w.out.warn(err)
		if received {
			retry.Reset()
		}
		pause(ctx, retry.NextBackOff())
	}
	return nil
}

// readWebSocket reads one connection to GET /ws until it ends, and
// reports whether anything came over it.
func (w *watcher) readWebSocket(ctx context.Context) (received bool, err error) {
	u := w.base.JoinPath("ws")
	q := url.Values{"symbols": {"*"}}
	if w.symbols != "" {
		q.Set("symbols", w.symbols)
	}
	if w.lastSeq != 0 {
		q.Set("lastEventId", strconv.FormatUint(w.lastSeq, 10))
	}
	u.RawQuery = q.Encode()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if w.token != "" {
		opts.HTTPHeader.Set("Authorization", "Bearer "+w.token)
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, resp, err := websocket.Dial(dialCtx, u.String(), opts)
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return false, refused("GET /ws", resp)
		}
		return false, err
	}
	c.SetReadLimit(maxMessageBytes)

	// Ending ctx closes the connection with the close handshake, which
	// also ends the Read below.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		_ = c.Close(websocket.StatusNormalClosure, "")
	})
	defer func() {
		if stop() {
			_ = c.CloseNow()
		} else {
			<-closed
		}
	}()

	for {
		_, data, err := c.Read(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return received, nil
			}
			return received, fmt.Errorf("GET /ws: %w", err)
		}
		received = true
		w.typed(data)
	}
}

// plainPollInterval paces polls that tickerd answers at once (wait 0).
const plainPollInterval = time.Second

// byPolling long-polls GET /api/ticks with since and wait.
func (w *watcher) byPolling(ctx context.Context, wait time.Duration) error {
	retry := retryBackoff()
	client := &http.Client{}
	for ctx.Err() == nil {
		err := w.poll(ctx, client, wait)
		if err == nil {
			retry.Reset()
			if wait == 0 {
				pause(ctx, plainPollInterval)
			}
			continue
		}
		if ctx.Err() != nil {
			break
		}
		delay := retry.NextBackOff()
		var refused *refusedError
		if errors.As(err, &refused) {
			if refused.final() {
				return err
			}
			delay = max(delay, refused.retryAfter)
		}
		w.out.warn(err)
		pause(ctx, delay)
	}
	return nil
}

// poll asks once for the events after w.lastSeq and prints them.
func (w *watcher) poll(ctx context.Context, client *http.Client, wait time.Duration) error {
	u := w.base.JoinPath("api", "ticks")
	q := url.Values{"wait": {wait.String()}}
	if w.symbols != "" {
		q.Set("symbols", w.symbols)
	}
	if w.lastSeq != 0 {
		q.Set("since", strconv.FormatUint(w.lastSeq, 10))
	}
	u.RawQuery = q.Encode()
	// The answer comes within wait; a poll that outlasts it by much
	// is lost on the way.
	ctx, cancel := context.WithTimeout(ctx, wait+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if w.token != "" {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return refused("GET /api/ticks", resp)
	}
	var answer struct {
		Events []json.RawMessage `json:"events"`
		Seq    uint64            `json:"seq"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("GET /api/ticks: %w", err)
	}
	for _, e := range answer.Events {
		w.typed(e)
	}
	if answer.Seq != 0 {
		w.lastSeq = answer.Seq
	}
	return nil
}

// typed prints one event as GET /ws and GET /api/ticks frame it, its JSON
// object with "type" first, and keeps its seq as the resume point.
func (w *watcher) typed(data []byte) {
	var m struct {
		Type    string   `json:"type"`
		Seq     uint64   `json:"seq"`
		Error   string   `json:"error"`
		Symbols []string `json:"symbols"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		w.out.warn(fmt.Errorf("bad message: %w", err))
		return
	}
	switch m.Type {
	case "tick":
		w.out.tick(untyped(data, m.Type))
		w.lastSeq = m.Seq
	case "snapshot":
		w.out.snapshot(strconv.FormatUint(m.Seq, 10))
		w.lastSeq = m.Seq
	case "conflated":
		w.out.conflated(untyped(data, m.Type))
	case "error":
		w.out.warn(fmt.Errorf("%s: %s", m.Error, strings.Join(m.Symbols, ",")))
	}
}

// untyped returns the event data as GET /events carries it: without the
// "type" member the other transports put first.
func untyped(data []byte, typ string) []byte {
	if rest, ok := bytes.CutPrefix(data, []byte(`{"type":"`+typ+`",`)); ok {
		return append([]byte{'{'}, rest...)
	}
	if bytes.Equal(data, []byte(`{"type":"`+typ+`"}`)) {
		return []byte("{}")
	}
	return data
}

// refusedError is an answer other than the stream or poll asked for.
type refusedError struct {
	what       string
	status     int
	message    string        // the JSON error's, or the status text
	retryAfter time.Duration // 0: not given
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.what, e.status, e.message)
}

// final reports whether asking again cannot help: a bad request, a bad or
// missing token, symbols unknown or not entitled. Over the limits (429,
// 503) and server errors are retried.
func (e *refusedError) final() bool {
	return e.status >= 400 && e.status < 500 && e.status != http.StatusTooManyRequests && e.status != http.StatusRequestTimeout
}

// refused reads the JSON error of resp ({"error":"...","symbols":[...]}).
func refused(what string, resp *http.Response) *refusedError {
	e := &refusedError{what: what, status: resp.StatusCode, message: http.StatusText(resp.StatusCode)}
	var body struct {
		Error   string   `json:"error"`
		Symbols []string `json:"symbols"`
	}
	if resp.Body != nil && json.NewDecoder(io.LimitReader(resp.Body, 1024)).Decode(&body) == nil && body.Error != "" {
		e.message = body.Error
		if len(body.Symbols) > 0 {
			e.message += ": " + strings.Join(body.Symbols, ",")
		}
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.retryAfter = time.Duration(s) * time.Second
	}
	return e
}

// printer writes what a watcher receives: a line per tick on stdout,
// everything else on stderr.
type printer struct {
	stdout, stderr io.Writer
	raw            bool // ticks as JSON
}

// tick prints the tick data, the JSON object of GET /events.
func (p printer) tick(data []byte) {
	if p.raw {
		fmt.Fprintf(p.stdout, "%s\n", data)
		return
	}
	var t feed.Tick
	if err := json.Unmarshal(data, &t); err != nil {
		fmt.Fprintln(p.stderr, "tickerd watch: bad tick:", err)
		return
	}
	fmt.Fprintf(p.stdout, "%s %-6s %10.2f  bid %10.2f  ask %10.2f  %6d\n",
		t.Time.Format("15:04:05.000"), t.Symbol, t.Price, t.Bid, t.Ask, t.Size)
}

func (p printer) snapshot(seq string) {
	fmt.Fprintf(p.stderr, "snapshot at seq %s\n", seq)
}

func (p printer) conflated(data []byte) {
	fmt.Fprintf(p.stderr, "the stream fell behind and was conflated: %s\n", data)
}

func (p printer) warn(err error) {
	fmt.Fprintln(p.stderr, "tickerd watch:", err)
}

// clientCredentials checks the -symbols of a client command (watch,
// record) and returns its token: -token-file's, when given, else the one
// from its environment variable, envToken.
func clientCredentials(symbols, tokenFile, envToken string) (string, error) {
	if symbols != "" {
		if _, err := stream.ParseSymbolList([]string{symbols}, math.MaxInt); err != nil {
			return "", usageError{fmt.Errorf("-symbols %q: %w", symbols, err)}
		}
	}
	if tokenFile == "" {
		return envToken, nil
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return "", usageError{fmt.Errorf("-token-file: %w", err)}
	}
	return strings.TrimSpace(string(b)), nil
}
