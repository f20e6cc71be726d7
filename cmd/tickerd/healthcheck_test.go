package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

func TestHealthcheckExitsZeroOnlyForAReadyServer(t *testing.T) {
	up := startTickerd(t, "-rate", "200")
	waitReady(t, up.URL)
	upAddr := strings.TrimPrefix(up.URL, "http://")
	// A replica whose bus is not there is up but not ready.
	notReady := startTickerd(t, "-feed", "nats", "-nats-url", "nats://"+refusingAddr(t))
	notReadyAddr := strings.TrimPrefix(notReady.URL, "http://")

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // "" for success, else part of the error
	}{
		{"ready", []string{"-addr", upAddr}, nil, ""},
		{"healthz", []string{"-addr", upAddr, "-path", "/healthz"}, nil, ""},
		{"address from TICKERD_ADDR", nil, map[string]string{"TICKERD_ADDR": upAddr}, ""},
		{"not ready", []string{"-addr", notReadyAddr}, nil, "503"},
		{"up though not ready", []string{"-addr", notReadyAddr, "-path", "/healthz"}, nil, ""},
		{"nothing listening", []string{"-addr", refusingAddr(t), "-timeout", "1s"}, nil, "connection refused"},
		{"bad path", []string{"-addr", upAddr, "-path", "/metrics"}, nil, "-path"},
		{"bad flag", []string{"-nope"}, nil, "not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"healthcheck"}, tc.args...), func(k string) string { return tc.env[k] }, &out, &out, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("healthcheck %v: %v\n%s", tc.args, err, out.String())
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("healthcheck %v = %v, want an error containing %q", tc.args, err, tc.want)
			case tc.want != "" && exitCode(err) != 1:
				t.Fatalf("exit status %d, want 1 (Docker reserves 2)", exitCode(err))
			}
		})
	}
}

// refusingAddr returns a loopback address that refuses connections until
// the test ends: its port is bound by a socket that never listens, so no
// other process can listen there meanwhile.
func refusingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

func TestCheckTargetDialsLoopbackForWildcardAddresses(t *testing.T) {
	for in, want := range map[string]string{
		":8080":          "127.0.0.1:8080",
		"0.0.0.0:9000":   "127.0.0.1:9000",
		"[::]:9000":      "[::1]:9000",
		"10.1.2.3:8080":  "10.1.2.3:8080",
		"localhost:8080": "localhost:8080",
	} {
		if got, err := checkTarget(in); err != nil || got != want {
			t.Errorf("checkTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
