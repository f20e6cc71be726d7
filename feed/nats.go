package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// NATSConfig is what the NATS engine's source and publisher have in common.
type NATSConfig struct {
	URL        string // e.g. nats://nats:4222; a comma list names several servers
	Name       string // client name the server shows, e.g. tickerd-replica
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func (c *NATSConfig) setDefaults() error {
	if c.URL == "" {
		return errors.New("no NATS URL")
	}
	if c.Name == "" {
		c.Name = "tickerd"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// checkSymbols reports the first of a universe's symbols that breaks the
// symbol rule; every name the rule accepts makes a subject ([Subject]).
func checkSymbols(symbols []string) error {
	for _, sym := range symbols {
		if err := CheckSymbol(sym); err != nil {
			return err
		}
	}
	return nil
}

// connect opens a connection that retries the first connect and reconnects
// for as long as it is open, keeping m's gauge and counter current and
// calling onReconnect after each reconnect; extra options come last.
func connect(cfg NATSConfig, m busMetrics, onReconnect func(), extra ...nats.Option) (*nats.Conn, error) {
	log := cfg.Logger
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.PingInterval(5 * time.Second),
		nats.ConnectHandler(func(nc *nats.Conn) {
			m.connected.Set(1)
			log.Info("connected to NATS", "server", nc.ConnectedUrlRedacted())
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			m.connected.Set(0)
			if !nc.IsClosed() {
				log.Warn("disconnected from NATS; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			m.connected.Set(1)
			m.reconnects.Inc()
			log.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted())
			onReconnect()
		}),
		nats.ClosedHandler(func(*nats.Conn) { m.connected.Set(0) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Debug("NATS connection error", "err", err)
		}),
	}
	nc, err := nats.Connect(cfg.URL, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", cfg.URL, err)
	}
	if nc.IsConnected() {
		m.connected.Set(1)
	} else {
		log.Warn("NATS not reachable yet; retrying", "url", cfg.URL)
	}
	return nc, nil
}

// closeConn closes nc and waits until its callbacks have run, so that no
// goroutine of the client outlives the caller.
func closeConn(nc *nats.Conn) {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	nc.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
	}
}

// ErrBusDisconnected is what the source's and the publisher's Ready report
// while they are not connected to the bus.
var ErrBusDisconnected = errors.New("not connected to the NATS bus")

// backoff is a doubling wait between attempts.
type backoff struct {
	min, max, cur time.Duration
}

// sleep waits before the next attempt, or until ctx is done; reset starts
// again from the shortest wait.
func (b *backoff) sleep(ctx context.Context, reset bool) {
	if reset || b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
