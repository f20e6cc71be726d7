package main

import (
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// newRegistry returns the registry /metrics serves: the Go runtime and
// process collectors, build information and the configured feed rate (when
// this process simulates the market: rate > 0). The packages register their
// own metrics on it.
func newRegistry(rate float64) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	version, revision := buildVersion()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "tickerd_build_info",
			Help:        "Always 1; the labels name the running build.",
			ConstLabels: prometheus.Labels{"version": version, "revision": revision},
		}, func() float64 { return 1 }),
	)
	if rate > 0 {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tickerd_feed_rate_ticks_per_second",
			Help: "Configured total tick rate of the simulated market.",
		}, func() float64 { return rate }))
	}
	return reg
}

// Set at link time by builds that know better than the build information,
// such as the Dockerfile's (its context has no .git):
//
//	go build -ldflags "-X main.linkVersion=v1.2.3 -X main.linkRevision=abc123"
var linkVersion, linkRevision string

// buildVersion reads the module version and VCS revision baked into the
// binary; what the linker was told wins.
func buildVersion() (version, revision string) {
	defer func() {
		if linkVersion != "" {
			version = linkVersion
		}
		if linkRevision != "" {
			revision = linkRevision
		}
	}()
	version, revision = "unknown", "unknown"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, revision
	}
	if info.Main.Version != "" {
		version = info.Main.Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	return version, revision
}
