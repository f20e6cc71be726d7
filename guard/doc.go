// Package guard is what stands between the network and tickerd's
// handlers: the CORS allow-list with its preflight answers, the security
// headers every response carries, the client's address behind trusted
// proxies, the stream limits every transport admits against (in all, per
// address, within the open-file limit, and the token buckets of new
// streams), and the
// 401/403 answers of authentication.
//
// Guard sets headers before the handler runs, so that they reach the
// response even when the handler takes the connection over (the event
// stream builds its response head from them). It must never read a request
// body or look at what a handler answers.
package guard
