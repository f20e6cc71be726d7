// Package guard is the HTTP middleware in front of tickerd's handlers: the
// CORS allow-list, with its preflight answers, and the security headers
// every response carries.
//
// Guard sets headers before the handler runs, so that they reach the
// response even when the handler takes the connection over (the event
// stream builds its response head from them). It must never read a request
// body or look at what a handler answers.
package guard
