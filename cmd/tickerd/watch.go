package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/r3labs/sse/v2"
	"gopkg.in/cenkalti/backoff.v1"

	"github.com/tickerd/tickerd/feed"
)

// runWatch prints the ticks of a running tickerd, one line each, until ctx
// is done. It reconnects with Last-Event-ID after any disconnect.
func runWatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickerd watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("url", "http://localhost:8080", "base URL of tickerd")
	symbols := fs.String("symbols", "", "comma list of symbols to watch; empty for all")
	raw := fs.Bool("json", false, "print each tick's JSON as received")
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
	u = u.JoinPath("events")
	if *symbols != "" {
		u.RawQuery = url.Values{"symbols": {*symbols}}.Encode()
	}

	token := getenv("TICKERD_WATCH_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return usageError{fmt.Errorf("-token-file: %w", err)}
		}
		token = strings.TrimSpace(string(b))
	}

	client := sse.NewClient(u.String())
	if token != "" {
		client.Headers["Authorization"] = "Bearer " + token
	}
	// The library's default gives up 15 minutes after the first attempt;
	// a terminal watcher retries for as long as it runs.
	client.ReconnectStrategy = &backoff.ExponentialBackOff{
		InitialInterval: 500 * time.Millisecond, RandomizationFactor: 0.5,
		Multiplier: 2, MaxInterval: 10 * time.Second, Clock: backoff.SystemClock,
	}
	client.ReconnectStrategy.Reset()
	for ctx.Err() == nil {
		err := client.SubscribeRawWithContext(ctx, func(msg *sse.Event) {
			printEvent(stdout, stderr, msg, *raw)
		})
		// A clean end of stream (the server restarting) returns nil without
		// reconnecting; wait the advertised retry and subscribe again.
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(stderr, "tickerd watch:", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	return nil
}

func printEvent(stdout, stderr io.Writer, msg *sse.Event, raw bool) {
	switch string(msg.Event) {
	case "tick":
		if raw {
			fmt.Fprintf(stdout, "%s\n", msg.Data)
			return
		}
		var t feed.Tick
		if err := json.Unmarshal(msg.Data, &t); err != nil {
			fmt.Fprintln(stderr, "tickerd watch: bad tick:", err)
			return
		}
		fmt.Fprintf(stdout, "%s %-6s %10.2f  bid %10.2f  ask %10.2f  %6d\n",
			t.Time.Format("15:04:05.000"), t.Symbol, t.Price, t.Bid, t.Ask, t.Size)
	case "snapshot":
		fmt.Fprintf(stderr, "snapshot at seq %s\n", msg.ID)
	case "conflated":
		fmt.Fprintf(stderr, "the stream fell behind and was conflated: %s\n", msg.Data)
	}
}
