// Package ingest is tickerd's publish edge: POST /api/publish, where a
// publisher with its own prices sends them as NDJSON ticks (feed's tick
// format), and the Relay that hands them to tickerd publish's NATS
// publisher.
//
// A request flows one way: authenticate the publisher (the API key, or a
// subscriber token that carries the publish permission), admit it against
// its request rate, check the body's type and size, then read the body a
// line at a time, publishing each tick as soon as its line has arrived,
// so that a publisher may keep one POST open and write ticks as they
// come. The answer counts the accepted lines and names each rejected one
// with its reason.
//
// The package decides nothing about a tick's prices nor its number: the
// engine does (stream.Hub.Publish), numbering the tick in one order with
// every other event it takes in, and its reasons are what a publisher
// reads. It must never keep a tick beyond handing it on, nor hold a
// request open past its body and, with an engine that stores its ticks
// elsewhere (StoringEngine: tickerd publish's JetStream), the store's
// word that the accepted ones are stored.
package ingest
