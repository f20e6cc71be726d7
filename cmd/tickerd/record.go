package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/r3labs/sse/v2"

	"github.com/tickerd/tickerd/feed"
)

// runRecord is tickerd record: the ticks a running tickerd streams on GET
// /events, written to -o in a tick format (CSV for a name ending in .csv,
// NDJSON otherwise, gzip-compressed for .gz) that -feed replay plays,
// until ctx is done or -count ticks are written. After a disconnect it
// resumes after the last tick it wrote.
func runRecord(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickerd record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("url", "http://localhost:8080", "base URL of tickerd")
	symbols := fs.String("symbols", "", "comma list of symbols to record; empty for all")
	out := fs.String("o", "", "file to write: NAME.ndjson, NAME.csv, either with .gz to compress it")
	count := fs.Int("count", 0, "stop after this many ticks; 0: until interrupted")
	tokenFile := fs.String("token-file", "", "file holding the token to send when tickerd has authentication on (or set TICKERD_RECORD_TOKEN)")
	if v := getenv("TICKERD_RECORD_URL"); v != "" {
		*server = v
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	u, err := url.Parse(*server)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return usageError{fmt.Errorf("-url %q: want http://host:port", *server)}
	case *out == "":
		return usageError{errors.New("-o: want the file to write")}
	case *count < 0:
		return usageError{fmt.Errorf("-count %d: want 0 (until interrupted) or more", *count)}
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	token, err := clientCredentials(*symbols, *tokenFile, getenv("TICKERD_RECORD_TOKEN"))
	if err != nil {
		return err
	}
	w, err := feed.CreateTickFile(*out)
	if err != nil {
		return usageError{fmt.Errorf("-o: %w", err)}
	}
	n, err := record(ctx, u, *symbols, token, *count, w, stderr)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("-o %s: %w", *out, cerr)
	}
	fmt.Fprintf(stderr, "tickerd record: %d ticks written to %s\n", n, *out)
	return err
}

// record writes the ticks of base's GET /events to w until ctx is done or
// count (if not 0) have been written, and returns how many it wrote.
func record(ctx context.Context, base *url.URL, symbols, token string, count int, w *feed.TickWriter, stderr io.Writer) (int, error) {
	u := base.JoinPath("events")
	if symbols != "" {
		u.RawQuery = url.Values{"symbols": {symbols}}.Encode()
	}
	client := sse.NewClient(u.String())
	if token != "" {
		client.Headers["Authorization"] = "Bearer " + token
	}
	client.ReconnectStrategy = retryBackoff()
	client.ReconnectNotify = func(err error, next time.Duration) {
		fmt.Fprintf(stderr, "tickerd record: %v; retrying in %v\n", err, next.Round(100*time.Millisecond))
	}
	ctx, done := context.WithCancel(ctx)
	defer done()
	written := 0
	var failed error
	for ctx.Err() == nil {
		err := client.SubscribeRawWithContext(ctx, func(msg *sse.Event) {
			switch string(msg.Event) {
			case "tick":
				if ctx.Err() != nil {
					return // done: an event read before the subscription saw it is not one to write
				}
				var t feed.Tick
				if err := json.Unmarshal(msg.Data, &t); err != nil {
					fmt.Fprintln(stderr, "tickerd record: bad tick:", err)
					return
				}
				if err := w.Write(t); err != nil {
					failed = err
					done()
					return
				}
				if written++; written == count {
					done()
				}
			case "conflated":
				fmt.Fprintf(stderr, "tickerd record: the stream fell behind and was conflated, ticks are missing: %s\n", msg.Data)
			}
		})
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(stderr, "tickerd record:", err)
		}
		pause(ctx, 2*time.Second)
	}
	return written, failed
}
