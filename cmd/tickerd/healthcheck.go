package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck is tickerd healthcheck: it asks a running tickerd (any
// role) for /readyz or /healthz and returns nil only for a 200, so that a
// container image needs no curl for its HEALTHCHECK. Every failure, a bad
// flag included, is exit status 1: Docker reserves 2.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickerd healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "host:port of the tickerd to check; default TICKERD_ADDR (the one it listens on), else :8080; an empty or unspecified host means loopback")
	path := fs.String("path", "/readyz", "what to ask: /readyz (ready for clients) or /healthz (the process is up)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("healthcheck: %s", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0))
	}
	if *timeout <= 0 {
		return fmt.Errorf("healthcheck: -timeout %v: want a positive duration", *timeout)
	}
	if *path != "/readyz" && *path != "/healthz" {
		return fmt.Errorf("healthcheck: -path %q: want /readyz or /healthz", *path)
	}
	if *addr == "" {
		*addr = getenv(envName("addr"))
	}
	if *addr == "" {
		*addr = ":8080"
	}
	target, err := checkTarget(*addr)
	if err != nil {
		return fmt.Errorf("healthcheck: -addr %q: %s", *addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+target+*path, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	line := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s %s: %s", *path, resp.Status, line)
	}
	fmt.Fprintln(stdout, line)
	return nil
}

// checkTarget turns a listen address into one to connect to: an empty or
// unspecified host becomes loopback.
func checkTarget(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if host == "" {
		host = "127.0.0.1"
	} else if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() == nil {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, port), nil
}
