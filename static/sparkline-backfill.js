// sparkline-backfill.js: once the board is known, fills each row's
// sparkline once from the symbol's one-second bars in /api/history, so a
// freshly opened board shows the last minute and a half rather than only
// what arrives after it.

import { rowOf, symbols, redrawSpark } from './board.js';
import { isLive } from './connection.js';
import { holdsEveryTickAfter, ticksAfter } from './recent-ticks.js';
import { SPARK_POINTS } from './sparkline.js';

const SPARK_INTERVAL = '1s'; // history bars that backfill sparklines: one point per second, as live ticks make
const SPARK_FETCHES = 3; // backfill requests in flight at once, leaving connections for the stream and the chart

const backfill = {
  queue: [], // symbols waiting for their history
  retry: [], // symbols whose request failed, asked again when the stream next opens
  inflight: 0,
  done: new Set(), // symbols whose sparkline has been backfilled (or has nothing to backfill)
};

// backfillAll asks for the history of every symbol on the board that has
// not had it and is not waiting for it.
export function backfillAll() {
  const waiting = new Set([...backfill.queue, ...backfill.retry]);
  for (const sym of symbols()) {
    if (!backfill.done.has(sym) && !waiting.has(sym)) backfill.queue.push(sym);
  }
  pump();
}

// retryFailed asks again for the histories whose requests failed.
export function retryFailed() {
  backfill.queue.push(...backfill.retry);
  backfill.retry = [];
  pump();
}

// backfilledCount counts the symbols whose sparkline is done with history.
export function backfilledCount() {
  return backfill.done.size;
}

// pump starts requests, at most SPARK_FETCHES at a time, while the stream is live.
function pump() {
  while (backfill.inflight < SPARK_FETCHES && backfill.queue.length && isLive()) {
    backfillSpark(backfill.queue.shift());
  }
}

async function backfillSpark(sym) {
  const r = rowOf(sym);
  if (!r) return;
  const epoch = r.spark.epoch;
  backfill.inflight++;
  let res = null;
  let body = null;
  try {
    res = await fetch('/api/history?symbol=' + encodeURIComponent(sym) + '&interval=' + SPARK_INTERVAL + '&limit=' + SPARK_POINTS, { cache: 'no-store' });
    body = await res.json();
  } catch (err) {
    body = null;
  }
  backfill.inflight--;
  if (rowOf(sym) !== r) {
    // The symbol left the board meanwhile: nothing to fill.
  } else if (!body || res.status >= 500) {
    backfill.retry.push(sym);
  } else if (r.spark.epoch !== epoch) {
    backfill.queue.push(sym); // a snapshot restarted the sparkline meanwhile: ask again
  } else {
    if (res.ok) mergeHistory(r, body); // a symbol the server refuses keeps its live sparkline
    backfill.done.add(sym);
  }
  pump();
}

// mergeHistory rebuilds r's sparkline from the closes of history's bars
// and then the symbol's ticks newer than history.seq, which the bars lack.
function mergeHistory(r, history) {
  if (!history.bars.length) return;
  if (!holdsEveryTickAfter(history.seq)) return; // ticks since the answer fell out of the ring
  r.spark.refill(history.bars, ticksAfter(r.sym, history.seq));
  redrawSpark(r);
}
