// Command tickload puts a tickerd-style endpoint under load and measures
// it: it holds many concurrent clients over SSE, WebSocket or polling
// (-transport), counts the tick events each receives, samples
// tick-to-receive latency, counts requests and bytes on the wire, and
// reads the server's CPU and memory from /proc.
//
// It shares the machine with the server it measures, so it must stay
// light: raw HTTP/1.1 over TCP (the WebSocket handshake and frames
// written and read by hand), one goroutine and one read buffer per
// client, no allocation and no JSON decoding per event. Only sampled
// clients look inside events; the others count "event: tick" lines,
// frames that begin {"type":"tick", or those objects in a poll answer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tickload: %v\n", err)
		os.Exit(1)
	}
}

// run parses args, runs the load and writes the report to stdout: a table
// followed by one JSON line, or only the JSON line with -json. Progress
// goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	load := newLoadRun(cfg)
	ph, err := load.execute(ctx, stderr)
	if err != nil {
		return err
	}
	r := load.report(ph)
	if !cfg.jsonOnly {
		if err := r.writeTable(stdout); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return r.writeJSON(stdout)
}
