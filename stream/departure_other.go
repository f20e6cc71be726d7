//go:build !linux

package stream

// departures is Linux's epoll watch of stream sockets for their clients'
// departure. Elsewhere a departure is noticed by a failed write or at
// housekeeping (a read of the socket that finds its end), within about
// two seconds.
type departures struct{}

func newDepartures(*Hub) *departures { return &departures{} }
func (*departures) open()            {}
func (*departures) watch(*client)    {}
func (*departures) forget(*client)   {}
func (*departures) run()             {}
func (*departures) stop()            {}
