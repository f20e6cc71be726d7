package main

import (
	"os"
	"testing"
)

func TestParseStatCPU(t *testing.T) {
	// Field 2, the command name, may hold spaces and parentheses.
	stat := "4242 (tick (d) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 8 0 100 1000000 500 18446744073709551615\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 325 * clockTick; got != want {
		t.Errorf("cpu = %v, want %v", got, want)
	}
	if _, err := parseStatCPU([]byte("4242 (x) S 1 2")); err == nil {
		t.Error("short stat line: want an error")
	}
}

func TestParseStatusRSS(t *testing.T) {
	status := "Name:\ttickerd\nVmPeak:\t  999 kB\nVmRSS:\t   12345 kB\nThreads:\t8\n"
	got, err := parseStatusRSS([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(12345 * 1024); got != want {
		t.Errorf("rss = %d, want %d", got, want)
	}
	if _, err := parseStatusRSS([]byte("Name:\tkthreadd\n")); err == nil {
		t.Error("no VmRSS line: want an error")
	}
}

func TestOwnProcessStats(t *testing.T) {
	pid := os.Getpid()
	if cpu, err := processCPU(pid); err != nil || cpu < 0 {
		t.Errorf("processCPU(self) = %v, %v", cpu, err)
	}
	if rss, err := processRSS(pid); err != nil || rss < 1<<20 {
		t.Errorf("processRSS(self) = %d, %v; want at least 1 MiB", rss, err)
	}
	if selfCPU() <= 0 {
		t.Error("selfCPU() should be positive")
	}
	if _, err := processCPU(-1); err == nil {
		t.Error("processCPU(-1): want an error")
	}
}
