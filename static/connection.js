// connection.js: the page's one event stream. It opens the EventSource,
// resumes it after a drop without losing or repeating a tick, counts what
// it receives, and keeps the connection indicator, which turns from
// reconnecting to offline when the stream stays down.

import { requestFrame } from './frame.js';

const FIRST_RETRY_MS = 2000;
const MAX_RETRY_MS = 30000;
const OFFLINE_AFTER_MS = 10000; // reconnecting this long shows "offline"; see offlineAfterMs
const INDICATOR_EVERY_MS = 250;

const stream = {
  state: 'connecting', // connecting | live | reconnecting | offline
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
  lossAllowance: 0, // ticks after a conflation notice whose sequence may jump
};

let handlers = null;
let source = null;
let retryTimer = 0;
let retryDelay = FIRST_RETRY_MS;
let indicatorChanged = true;

// start opens the stream and hands what arrives to on:
//   on.open()                         the stream is live (again)
//   on.snapshot(quotes, {first, fresh}) every symbol's quote; fresh means the
//                                     page starts again from it, otherwise the
//                                     same stream resumed and newer quotes win
//   on.tick(t)                        a tick not seen before, in sequence order
//   on.conflated()                    the server skipped ticks for this page
export function start(on) {
  handlers = on;
  window.addEventListener('online', () => {
    if (source && source.readyState === EventSource.CLOSED) connect();
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
  // to offline after a while.
  setInterval(() => {
    if (stream.state === 'reconnecting' && performance.now() - stream.downSince > offlineAfterMs()) stream.state = 'offline';
    indicatorChanged = true;
    requestFrame();
  }, INDICATOR_EVERY_MS);
  connect();
}

// isLive reports whether the stream is open now.
export function isLive() {
  return stream.state === 'live';
}

// health is a read-only view of the stream, for window.tickerd.
export const health = Object.freeze({
  get state() { return stream.state; },
  get lastSeq() { return stream.lastSeq; },
  get ticksSeen() { return stream.ticksSeen; },
  get gaps() { return stream.gaps; },
  get resyncs() { return stream.resyncs; },
  get snapshots() { return stream.snapshots; },
  get conflated() { return stream.conflated; },
  get duplicates() { return stream.duplicates; },
  get lastTickAgeMs() { return stream.lastTickAt ? Date.now() - stream.lastTickAt : null; },
});

function connect() {
  clearTimeout(retryTimer);
  if (source) source.close();
  // A browser's own reconnect sends Last-Event-ID; a new EventSource after a
  // fatal error resumes through the query parameter instead.
  const url = stream.lastSeq > 0 ? '/events?lastEventId=' + stream.lastSeq : '/events';
  const es = new EventSource(url);
  source = es;
  es.addEventListener('open', () => {
    if (es !== source) return;
    retryDelay = FIRST_RETRY_MS;
    setState('live');
    handlers.open();
  });
  es.addEventListener('error', () => {
    if (es !== source) return;
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (an answer other than a 200 event stream): retry ourselves.
      retryTimer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, MAX_RETRY_MS);
    }
    setState('reconnecting');
  });
  es.addEventListener('snapshot', (e) => receiveSnapshot(JSON.parse(e.data)));
  es.addEventListener('tick', (e) => receiveTick(JSON.parse(e.data)));
  es.addEventListener('conflated', (e) => receiveConflated(JSON.parse(e.data)));
}

function setState(next) {
  if (next === 'reconnecting' && (stream.state === 'reconnecting' || stream.state === 'offline')) return;
  if (next !== 'live' && stream.state === 'live') stream.downSince = performance.now();
  if (next === 'reconnecting' && !navigator.onLine) next = 'offline';
  stream.state = next;
  indicatorChanged = true;
  requestFrame();
}

function receiveSnapshot(s) {
  stream.snapshots++;
  const first = !stream.haveSnapshot;
  const regressed = !first && s.seq < stream.lastSeq; // a restarted server counts afresh
  const names = s.quotes.map((q) => q.sym);
  const sameSymbols = names.length === stream.symbols.length && names.every((n, i) => n === stream.symbols[i]);
  if (s.resync || regressed) stream.resyncs++;

  const fresh = first || s.resync || regressed || !sameSymbols;
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
}

function receiveTick(t) {
  if (stream.haveSnapshot) {
    if (t.seq <= stream.lastSeq) {
      stream.duplicates++;
      return;
    }
    if (t.seq !== stream.lastSeq + 1 && stream.lossAllowance === 0) stream.gaps++;
  }
  if (stream.lossAllowance > 0) stream.lossAllowance--;
  stream.lastSeq = t.seq;
  stream.ticksSeen++;
  stream.lastTickAt = Date.now();
  handlers.tick(t);
}

function receiveConflated(c) {
  // The server skipped ticks for this page; the latest of each symbol follow,
  // with jumps in sequence that are announced, not lost.
  stream.conflated += c.dropped;
  stream.lossAllowance = stream.symbols.length + 1;
  handlers.conflated();
}

// offlineAfterMs is how long the page reconnects before it shows offline:
// OFFLINE_AFTER_MS, unless the document's data-offline-after attribute gives
// a positive number of milliseconds (the page tests shorten it that way).
function offlineAfterMs() {
  const ms = Number(document.documentElement.dataset.offlineAfter);
  return ms > 0 ? ms : OFFLINE_AFTER_MS;
}

// drawIndicator shows the stream's state and the age of its last tick.
export function drawIndicator() {
  if (!indicatorChanged) return;
  indicatorChanged = false;
  const el = document.getElementById('conn');
  if (el.dataset.state !== stream.state) el.dataset.state = stream.state;
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
