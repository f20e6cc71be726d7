// sparkline-backfill.js: fills the sparkline of each row on screen once
// from the symbol's one-second bars in /api/history, so a row shows the
// last minute and a half rather than only what arrives after it is drawn.
// Only rows on screen are asked for, a few at a time; a row that scrolls
// away before its turn is not asked for, one whose sparkline starts again
// (a newer quote after it was away) is asked for again, and one whose
// request failed is asked for again a little later.

import { rowOf, redrawSpark } from './board.js';
import { isLive } from './connection.js';
import { holdsEveryTickAfter, ticksAfter } from './recent-ticks.js';
import { SPARK_POINTS } from './sparkline.js';

const SPARK_INTERVAL = '1s'; // history bars that backfill sparklines: one point per second, as live ticks make
const SPARK_FETCHES = 3; // backfill requests in flight at once, leaving connections for the stream and the chart
const RETRY_AFTER_MS = 2000; // a failed request is asked again after this, or when the stream next opens

const backfill = {
  queue: [], // symbols on screen waiting for their history, top first
  retry: new Set(), // symbols whose request failed, asked again after RETRY_AFTER_MS or when the stream next opens
  retryTimer: 0, // the timer that asks for retry again; 0: none
  inflight: new Set(), // symbols asked for now
  done: new Map(), // symbol -> the sparkline epoch its history filled (or found nothing to fill)
  shown: [], // the symbols on screen
};

// backfillShown asks for the history of the symbols on screen, syms, whose
// sparkline has not had it; those no longer on screen are not asked for.
export function backfillShown(syms) {
  backfill.shown = syms;
  queueShown();
}

function queueShown() {
  backfill.queue = backfill.shown.filter((sym) => {
    const r = rowOf(sym);
    return r && backfill.done.get(sym) !== r.spark.epoch && !backfill.inflight.has(sym) && !backfill.retry.has(sym);
  });
  pump();
}

// retryFailed asks again for the histories whose requests failed.
export function retryFailed() {
  clearTimeout(backfill.retryTimer);
  backfill.retryTimer = 0;
  backfill.retry.clear();
  queueShown();
}

// backfilledCount counts the symbols on screen whose sparkline is done
// with history.
export function backfilledCount() {
  let n = 0;
  for (const sym of backfill.shown) {
    const r = rowOf(sym);
    if (r && backfill.done.get(sym) === r.spark.epoch) n++;
  }
  return n;
}

// pump starts requests, at most SPARK_FETCHES at a time, while the stream is live.
function pump() {
  while (backfill.inflight.size < SPARK_FETCHES && backfill.queue.length && isLive()) {
    backfillSpark(backfill.queue.shift());
  }
}

async function backfillSpark(sym) {
  const r = rowOf(sym);
  if (!r) return;
  const epoch = r.spark.epoch;
  backfill.inflight.add(sym);
  let res = null;
  let body = null;
  try {
    res = await fetch('/api/history?symbol=' + encodeURIComponent(sym) + '&interval=' + SPARK_INTERVAL + '&limit=' + SPARK_POINTS, { cache: 'no-store' });
    body = await res.json();
  } catch (err) {
    body = null;
  }
  backfill.inflight.delete(sym);
  if (rowOf(sym) !== r) {
    // The symbol left the board meanwhile: nothing to fill.
  } else if (!body || res.status >= 500) {
    backfill.retry.add(sym);
    if (!backfill.retryTimer) backfill.retryTimer = setTimeout(retryFailed, RETRY_AFTER_MS);
  } else if (r.spark.epoch === epoch) {
    if (res.ok) mergeHistory(r, body); // a symbol the server refuses keeps its live sparkline
    backfill.done.set(sym, r.spark.epoch);
  } // else a quote restarted the sparkline meanwhile: queueShown asks again
  queueShown();
}

// mergeHistory rebuilds r's sparkline from the closes of history's bars
// and then the symbol's ticks newer than history.seq, which the bars lack.
function mergeHistory(r, history) {
  if (!history.bars.length) return;
  if (!holdsEveryTickAfter(history.seq)) return; // ticks since the answer fell out of the ring
  r.spark.refill(history.bars, ticksAfter(r.sym, history.seq));
  redrawSpark(r);
}
