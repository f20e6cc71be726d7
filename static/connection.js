// connection.js: the page's one stream of events, over one of three
// transports: Server-Sent Events (the default), WebSocket or long polling.
// It chooses the transport, falls back from SSE to polling when SSE does
// not deliver, resumes after a drop without losing or repeating a tick,
// counts what it receives, and keeps the connection indicator, which turns
// from reconnecting to offline when the stream stays down. The stream is
// the browser's, not the tab's (see shared-stream.js): in the tab that
// leads it comes from the transport, in the others from the leader, and
// it follows what the tabs want: every symbol, or the rows they show, and
// the bar events of the intervals their charts show.

import { requestFrame } from './frame.js';
import * as shared from './shared-stream.js';
import { openSSE } from './transport-sse.js';
import { openWebSocket } from './transport-ws.js';
import { openPolling } from './transport-poll.js';

const FIRST_RETRY_MS = 2000;
const MAX_RETRY_MS = 30000;
const OFFLINE_AFTER_MS = 10000; // reconnecting this long shows "offline"; see offlineAfterMs
const FALLBACK_AFTER_MS = 5000; // SSE silent this long from its start falls back to polling; see fallbackAfterMs
const INDICATOR_EVERY_MS = 250;
const FOLLOW_AFTER_MS = 250; // a subscription that stops changing this long is sent to the server
export const MAX_SUBSCRIBED = 100; // symbols one stream names at most: the server's default -max-symbols

// TRANSPORTS are the ways to the server, by the name ?transport= takes.
const TRANSPORTS = {
  sse: { open: openSSE, label: 'SSE', title: 'Server-Sent Events' },
  ws: { open: openWebSocket, label: 'WebSocket', title: 'WebSocket' },
  poll: { open: openPolling, label: 'polling', title: 'long polling' },
};

const stream = {
  state: 'connecting', // connecting | live | reconnecting | offline
  transport: 'sse', // a key of TRANSPORTS
  forced: false, // the page's URL chose the transport: no fallback
  fallback: '', // why the page left SSE for polling: error | silence
  startedAt: 0, // performance.now() when the first transport started
  delivered: false, // an event has arrived over some transport
  downSince: performance.now(),
  lastTickAt: 0, // Date.now() of the newest tick received
  lastSeq: 0,
  haveSnapshot: false,
  symbols: [], // the symbols of the newest snapshot, in its order
  ticksSeen: 0,
  gaps: 0,
  resyncs: 0,
  snapshots: 0,
  conflated: 0, // ticks the server announced it skipped
  duplicates: 0,
  barsSeen: 0, // bar events received
  lossAllowance: 0, // ticks after a conflation notice whose sequence may jump
};

let handlers = null;
let current = null; // the open transport, in the tab that leads: { reconnect(), follow(), close() }
let subscription = { all: true, bars: [] }; // what the stream asks for: {all: true} or {symbols: [...]}, and bars: [interval, ...]
let followTimer = 0;
let requested = 0; // subscriptions sent to an open stream
let retryDelay = FIRST_RETRY_MS;
let indicatorChanged = true;

// link is what every transport reports to, and asks for where to resume.
const link = {
  // resumeAfter is the sequence number of the newest event the page
  // applied: 0 before the first snapshot.
  resumeAfter() {
    return stream.haveSnapshot ? stream.lastSeq : 0;
  },
  // up says the transport is connected (again).
  up() {
    retryDelay = FIRST_RETRY_MS;
    setState('live');
    handlers.open();
  },
  // down says the transport lost its connection, or could not make one;
  // it retries by itself, unless the page falls back to another.
  down() {
    if (canFallBack()) {
      fallBack('error');
      return;
    }
    setState('reconnecting');
  },
  // nextRetry is how long a transport waits before its next attempt,
  // doubling from one failure to the next until it is up again.
  nextRetry() {
    const d = retryDelay;
    retryDelay = Math.min(retryDelay * 2, MAX_RETRY_MS);
    return d;
  },
  // subscription is what the stream asks for now.
  subscription() {
    return subscription;
  },
  // event takes one event of the stream, whichever transport carried it,
  // by the name every transport gives its kind, and passes it on to the
  // tabs that share this stream. A kind that is not an event of the
  // stream (a WebSocket's answers) is not the link's.
  event(kind, body) {
    const receive = receivers[kind];
    if (!receive) return;
    shared.publish(kind, body);
    receive(body, kind);
  },
};

// receivers take the events of each kind the stream carries.
const receivers = {
  snapshot: receiveSnapshot,
  tick: receiveTick,
  conflated: receiveConflated,
  status: (e, kind) => receiveMarket(kind, e),
  bands: (e, kind) => receiveMarket(kind, e),
  bar: receiveBar,
};

// start opens the stream and hands what arrives to on:
//   on.open()                         the stream is live (again)
//   on.snapshot(quotes, {first, fresh}) every symbol's quote; fresh means the
//                                     page starts again from it, otherwise the
//                                     same stream resumed and newer quotes win
//   on.tick(t)                        a tick not seen before, in sequence order
//   on.conflated()                    the server skipped ticks for this page
//   on.market(kind, body)             a status or bands event, in sequence with the ticks,
//                                     and ('snapshot', s) for the market's part of each snapshot
//   on.bar(b)                         a closed bar of an interval the stream asks for
//   on.whole()                        whether the board is every symbol
//   on.quotes(syms)                   the page's quotes of syms (null: every symbol)
// want is what this tab wants (see want). The page's ?transport=sse|ws|poll
// chooses the transport; without it the page uses SSE and falls back to
// polling (see canFallBack).
export function start(on, { want: wanted }) {
  handlers = on;
  const asked = new URLSearchParams(location.search).get('transport');
  if (Object.hasOwn(TRANSPORTS, asked)) {
    stream.transport = asked;
    stream.forced = true;
  }
  window.addEventListener('online', () => {
    if (current) current.reconnect();
    if (stream.state === 'offline') {
      stream.state = 'reconnecting';
      indicatorChanged = true;
      requestFrame();
    }
  });
  window.addEventListener('offline', () => {
    if (stream.state !== 'live') setState('offline');
  });
  // The indicator shows the age of the last tick and turns from reconnecting
  // to offline after a while; an SSE stream that stays silent is given up.
  setInterval(() => {
    if (stream.state === 'reconnecting' && performance.now() - stream.downSince > offlineAfterMs()) stream.state = 'offline';
    if (current && canFallBack() && performance.now() - stream.startedAt > fallbackAfterMs()) fallBack('silence');
    indicatorChanged = true;
    requestFrame();
  }, INDICATOR_EVERY_MS);
  shared.want(wanted);
  shared.start({
    lead() {
      stream.startedAt = performance.now();
      current = TRANSPORTS[stream.transport].open(link, { delay: 0 });
      shared.publishState(publicState());
    },
    event: receiveShared,
    state: mirrorState,
    snapshot() {
      if (!stream.haveSnapshot) return null;
      return { seq: stream.lastSeq, resync: false, quotes: handlers.quotes(subscription.all ? null : subscription.symbols) };
    },
    wants: follow,
    announceState() {
      shared.publishState(publicState());
    },
  });
}

// want says what this tab shows: {all: true} for every symbol, or
// {symbols: [...]}, the most wanted first, with bars: the intervals whose
// bar events it wants. The stream follows what every
// tab wants together once it has stopped changing for FOLLOW_AFTER_MS.
export function want(sub) {
  shared.want(sub);
}

// follow makes sub (at most MAX_SUBSCRIBED symbols of it) the stream's
// subscription, if it differs from the current one: at once before the
// stream opens or with now (a follower's change, which it has waited
// for), else once it has held still for FOLLOW_AFTER_MS.
function follow(sub, { now } = { now: false }) {
  const bars = [...(sub.bars || [])].sort();
  const next = sub.all ? { all: true, bars } : { symbols: sub.symbols.slice(0, MAX_SUBSCRIBED), bars };
  clearTimeout(followTimer);
  if (!current) {
    subscription = next;
    return;
  }
  const apply = () => {
    if (sameSubscription(next, subscription)) return;
    const before = subscription;
    subscription = next;
    requested++;
    current.follow({ symbols: !sameSymbols(next, before), bars: next.bars.join() !== before.bars.join() });
  };
  if (now) apply();
  else followTimer = setTimeout(apply, FOLLOW_AFTER_MS);
}

function sameSubscription(a, b) {
  return sameSymbols(a, b) && a.bars.join() === b.bars.join();
}

function sameSymbols(a, b) {
  if (a.all || b.all) return !!a.all === !!b.all;
  if (a.symbols.length !== b.symbols.length) return false;
  const had = new Set(b.symbols);
  return a.symbols.every((s) => had.has(s));
}

// receiveShared takes an event the leading tab passed on. A follower
// starts from the snapshot the leader sent it, and takes no event before.
function receiveShared(type, body) {
  if (type === 'snapshot') {
    shared.gotSnapshot();
    receiveSnapshot(body);
  } else if (!stream.haveSnapshot) {
    // Not yet joined: what came before the snapshot is in it.
  } else if (type === 'tick') {
    receiveTick(body);
  } else if (type === 'conflated') {
    receiveConflated(body);
  } else if (type === 'status' || type === 'bands') {
    receiveMarket(type, body);
  } else if (type === 'bar') {
    receiveBar(body);
  }
}

function publicState() {
  return { state: stream.state, transport: stream.transport, fallback: stream.fallback };
}

// mirrorState shows, in a follower, the state of the leader's stream.
function mirrorState(s) {
  if (Object.hasOwn(TRANSPORTS, s.transport) && s.transport !== stream.transport) {
    stream.transport = s.transport;
    stream.fallback = s.fallback || '';
  }
  if (s.state !== stream.state) {
    if (stream.state === 'live') stream.downSince = performance.now();
    const up = s.state === 'live';
    stream.state = s.state;
    if (up) handlers.open();
  }
  indicatorChanged = true;
  requestFrame();
}

// canFallBack reports whether the page may still leave SSE for polling:
// SSE was not forced and has delivered nothing yet. Once it has
// delivered, it is known to pass whatever stands between page and server,
// and the page stays with it through drops.
function canFallBack() {
  return stream.transport === 'sse' && !stream.forced && !stream.delivered;
}

// fallBack closes SSE and polls instead: at once when SSE was merely
// silent (a proxy holding the stream), after the retry delay when it
// failed (the server may be down or refusing the page).
function fallBack(why) {
  current.close();
  stream.transport = 'poll';
  stream.fallback = why;
  if (why === 'error') setState('reconnecting');
  current = openPolling(link, { delay: why === 'error' ? link.nextRetry() : 0 });
  shared.publishState(publicState());
  indicatorChanged = true;
  requestFrame();
}

// isLive reports whether the stream is open now.
export function isLive() {
  return stream.state === 'live';
}

// health is a read-only view of the stream, for window.tickerd.
export const health = Object.freeze({
  get state() { return stream.state; },
  get transport() { return stream.transport; },
  get fallback() { return stream.fallback; },
  get lastSeq() { return stream.lastSeq; },
  get ticksSeen() { return stream.ticksSeen; },
  get gaps() { return stream.gaps; },
  get resyncs() { return stream.resyncs; },
  get snapshots() { return stream.snapshots; },
  get conflated() { return stream.conflated; },
  get duplicates() { return stream.duplicates; },
  get barsSeen() { return stream.barsSeen; },
  get lastTickAgeMs() { return stream.lastTickAt ? Date.now() - stream.lastTickAt : null; },
  get role() { return shared.currentRole(); },
  get followers() { return shared.followerCount(); },
  get subscription() { return subscription.all ? ['*'] : subscription.symbols.slice(); },
  get subscribedBars() { return subscription.bars.slice(); },
  get inWorker() { return !!(current && current.inWorker); },
  get subscriptionsSent() { return requested; },
});

function setState(next) {
  if (next === 'reconnecting' && (stream.state === 'reconnecting' || stream.state === 'offline')) return;
  if (next !== 'live' && stream.state === 'live') stream.downSince = performance.now();
  if (next === 'reconnecting' && !navigator.onLine) next = 'offline';
  stream.state = next;
  shared.publishState(publicState());
  indicatorChanged = true;
  requestFrame();
}

function receiveSnapshot(s) {
  stream.delivered = true;
  stream.snapshots++;
  const first = !stream.haveSnapshot;
  const regressed = !first && s.seq < stream.lastSeq; // a restarted server counts afresh
  const names = s.quotes.map((q) => q.sym);
  const sameSymbols = names.length === stream.symbols.length && names.every((n, i) => n === stream.symbols[i]);
  if (s.resync || regressed) stream.resyncs++;

  // A board of every symbol starts again from a snapshot of other symbols;
  // a board of the rows on screen takes each snapshot's newer quotes.
  const fresh = first || s.resync || regressed || (handlers.whole() && !sameSymbols);
  if (fresh) {
    stream.symbols = names;
    stream.lastSeq = s.seq;
    stream.lossAllowance = 0;
  } else {
    // The same stream resumed: keep what is newer.
    stream.lastSeq = Math.max(stream.lastSeq, s.seq);
  }
  stream.haveSnapshot = true;
  handlers.snapshot(s.quotes, { first, fresh });
  if (handlers.market) handlers.market('snapshot', s);
}

// receiveMarket takes a status or bands event: it has its place in the
// ticks' sequence, so it counts there like a tick.
function receiveMarket(kind, e) {
  stream.delivered = true;
  if (stream.haveSnapshot) {
    if (e.seq <= stream.lastSeq) {
      stream.duplicates++;
      return;
    }
    if (e.seq !== stream.lastSeq + 1 && stream.lossAllowance === 0 && subscribedToAll()) stream.gaps++;
  }
  stream.lastSeq = e.seq;
  if (handlers.market) handlers.market(kind, e);
}

// receiveBar takes a bar event. It has no sequence number of its own: it
// comes before the event that closed it, and a bar sent again (after a
// resume, or updated) replaces the one before.
function receiveBar(b) {
  stream.delivered = true;
  stream.barsSeen++;
  if (handlers.bar) handlers.bar(b);
}

function receiveTick(t) {
  stream.delivered = true;
  if (stream.haveSnapshot) {
    if (t.seq <= stream.lastSeq) {
      stream.duplicates++;
      return;
    }
    // Only a stream of every symbol numbers its ticks without holes.
    if (t.seq !== stream.lastSeq + 1 && stream.lossAllowance === 0 && subscribedToAll()) stream.gaps++;
  }
  if (stream.lossAllowance > 0) stream.lossAllowance--;
  stream.lastSeq = t.seq;
  stream.ticksSeen++;
  stream.lastTickAt = Date.now();
  handlers.tick(t);
}

// subscribedToAll reports whether the stream carries every symbol.
function subscribedToAll() {
  return handlers.whole();
}

function receiveConflated(c) {
  // The server skipped ticks for this page; the latest of each symbol follow,
  // with jumps in sequence that are announced, not lost.
  stream.delivered = true;
  stream.conflated += c.dropped;
  stream.lossAllowance = stream.symbols.length + 1;
  handlers.conflated();
}

// offlineAfterMs is how long the page reconnects before it shows offline:
// OFFLINE_AFTER_MS, unless the document's data-offline-after attribute gives
// a positive number of milliseconds (the page tests shorten it that way).
function offlineAfterMs() {
  return msAttribute('offlineAfter', OFFLINE_AFTER_MS);
}

// fallbackAfterMs is how long SSE may stay silent from its start before
// the page polls instead: FALLBACK_AFTER_MS, unless the document's
// data-fallback-after attribute gives a positive number of milliseconds.
function fallbackAfterMs() {
  return msAttribute('fallbackAfter', FALLBACK_AFTER_MS);
}

function msAttribute(name, otherwise) {
  const ms = Number(document.documentElement.dataset[name]);
  return ms > 0 ? ms : otherwise;
}

// drawIndicator shows the stream's state, its transport and the age of its
// last tick.
export function drawIndicator() {
  if (!indicatorChanged) return;
  indicatorChanged = false;
  const el = document.getElementById('conn');
  if (el.dataset.state !== stream.state) el.dataset.state = stream.state;
  if (el.dataset.transport !== stream.transport) {
    const t = TRANSPORTS[stream.transport];
    el.dataset.transport = stream.transport;
    document.getElementById('conn-transport').textContent = t.label;
    el.title = 'Streams over ' + t.title + (stream.fallback ? ', since the event stream did not deliver' : '');
  }
  const label = document.getElementById('conn-label');
  if (label.textContent !== stream.state) label.textContent = stream.state;
  const age = stream.lastTickAt ? 'last tick ' + ageText(Math.max(0, Date.now() - stream.lastTickAt)) : '';
  const ageEl = document.getElementById('conn-age');
  if (ageEl.textContent !== age) ageEl.textContent = age;
}

function ageText(ms) {
  if (ms < 10000) return (ms / 1000).toFixed(1) + ' s ago';
  if (ms < 120000) return Math.round(ms / 1000) + ' s ago';
  return Math.round(ms / 60000) + ' min ago';
}
