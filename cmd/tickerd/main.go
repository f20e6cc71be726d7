// Command tickerd streams live stock prices to browsers over Server-Sent
// Events: a simulated market publishes ticks onto a hub that fans them out
// to every subscribed stream, and serves a live chart page.
//
//	tickerd                  all-in-one: simulated market, page and stream on :8080
//	tickerd -feed nats       a replica: ticks from NATS JetStream, page and stream
//	tickerd publish          the simulated market, published to NATS JetStream
//	tickerd watch            print the ticks of a running tickerd in a terminal
//	tickerd record -o FILE   write the ticks of a running tickerd to a file that -feed replay plays
//	tickerd healthcheck      exit 0 if a running tickerd answers /readyz with 200
//	tickerd -h               every flag and its environment variable
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tickerd:", err)
		os.Exit(exitCode(err))
	}
}
