// Package natstest runs a real NATS server with JetStream inside a test
// process, on a loopback port, with its store in a directory the test owns.
// It is for tests only; tickerd itself never embeds a server.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is one NATS server that can be stopped and started again on the
// same port with the same store, as a restarted server would be.
type Server struct {
	t    testing.TB
	dir  string
	port int
	srv  *server.Server
}

// Start runs a server with JetStream file storage in a new temporary
// directory and shuts it down at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), port: -1}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's client URL, e.g. nats://127.0.0.1:41234.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Stop shuts the server down and waits until it has stopped; it does
// nothing if it is not running.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Restart starts the server (again), on the same port and store.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	srv, err := server.NewServer(&server.Options{
		ServerName: "natstest",
		Host:       "127.0.0.1",
		Port:       s.port,
		JetStream:  true,
		StoreDir:   s.dir,
		NoLog:      true,
		NoSigs:     true,
		// No cluster, no HTTP monitor, no leaf nodes: just the client port.
	})
	if err != nil {
		s.t.Fatalf("nats server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		s.t.Fatal("nats server not ready within 10s")
	}
	s.srv = srv
	s.port = srv.Addr().(*net.TCPAddr).Port
}

// JetStream connects to the server as a program of the user's own would,
// and closes the connection at the end of the test.
func (s *Server) JetStream() jetstream.JetStream {
	s.t.Helper()
	nc, err := nats.Connect(s.URL())
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		s.t.Fatal(err)
	}
	return js
}
