// app.js: the live page's entry module. It hands what the event stream
// delivers to the board and the chart, selects the symbol they show, draws
// every change in one animation frame, and offers window.tickerd.

import * as board from './board.js';
import * as chart from './chart.js';
import * as connection from './connection.js';
import * as market from './market.js';
import { drawEachFrame, framesDrawn, requestFrame } from './frame.js';
import { rememberTick } from './recent-ticks.js';
import { readURL, selection, writeURL } from './selection.js';
import { backfillAll, backfilledCount, retryFailed } from './sparkline-backfill.js';

// select shows sym on the chart and marks its row; with focus, the row
// takes the keyboard focus.
function select(sym, { focus } = { focus: false }) {
  if (!sym) return;
  const changed = sym !== selection.symbol;
  selection.symbol = sym;
  writeURL();
  chart.redrawHead();
  board.showSelection(sym, { focus });
  if (changed) chart.showSelected();
  requestFrame();
}

// The board's rows are made before anything else is drawn, as they measure
// their sparklines' cells.
drawEachFrame([
  board.rebuild,
  connection.drawIndicator,
  chart.drawControls,
  board.drawSortMarks,
  board.draw,
  chart.draw,
  market.draw,
]);

board.start({ select });
chart.start();
market.start();
Object.defineProperty(window, 'tickerdMarket', { value: market.view });

// A read-only view of the stream's health, for tests and the console.
const health = connection.health;
Object.defineProperty(window, 'tickerd', {
  value: Object.freeze({
    get state() { return health.state; },
    get transport() { return health.transport; },
    get fallback() { return health.fallback; },
    get lastSeq() { return health.lastSeq; },
    get ticksSeen() { return health.ticksSeen; },
    get gaps() { return health.gaps; },
    get resyncs() { return health.resyncs; },
    get snapshots() { return health.snapshots; },
    get conflated() { return health.conflated; },
    get duplicates() { return health.duplicates; },
    get frames() { return framesDrawn(); },
    get symbols() { return board.symbols(); },
    get selected() { return selection.symbol; },
    get interval() { return selection.interval; },
    get view() { return selection.view; },
    get chartLoaded() { return chart.loaded(); },
    get chartBars() { return chart.bars(); },
    get lastTickAgeMs() { return health.lastTickAgeMs; },
    get sparks() { return board.sparks(); },
    get sparksBackfilled() { return backfilledCount(); },
  }),
});

connection.start({
  open() {
    market.refresh();
    chart.loadWhenWanted();
    retryFailed();
  },
  snapshot(quotes, { first, fresh }) {
    board.applySnapshot(quotes, fresh);
    if (first) {
      const wanted = readURL().symbol;
      select(board.rowOf(wanted) ? wanted : board.symbols()[0], { focus: false });
    } else if (!board.rowOf(selection.symbol)) {
      select(board.symbols()[0], { focus: false });
    } else {
      chart.reload(); // ticks may have been skipped: take the server's bars
    }
    backfillAll(); // after the chart's request, which must not wait behind these
    requestFrame();
  },
  tick(t) {
    rememberTick(t);
    board.applyTick(t);
    chart.applyTick(t);
    requestFrame();
  },
  conflated() {
    chart.reload();
  },
  market(kind, body) {
    if (kind === 'snapshot') market.applySnapshot(body);
    else market.apply(kind, body);
  },
});

requestFrame();
