// app.js: the live page's entry module. It learns the universe, hands what
// the event stream delivers to the board and the chart, selects the symbol
// they show, tells the stream which symbols the page shows, draws every
// change in one animation frame, and offers window.tickerd.

import * as board from './board.js';
import * as chart from './chart.js';
import * as connection from './connection.js';
import * as market from './market.js';
import { drawEachFrame, framesDrawn, requestFrame } from './frame.js';
import { rememberTick } from './recent-ticks.js';
import { readURL, selection, writeURL } from './selection.js';
import { backfillShown, backfilledCount, retryFailed } from './sparkline-backfill.js';
import { listUniverse } from './universe.js';
import * as watchlist from './watchlist.js';

const AGES_KEPT = 5000;
const tickAges = new Array(AGES_KEPT); // a ring of [arrival (performance.now()), age in ms] of ticks of rows drawn
let agesNext = 0;

// select shows sym on the chart and marks its row; with focus, the row
// takes the keyboard focus.
function select(sym, { focus } = { focus: false }) {
  if (!sym) return;
  const changed = sym !== selection.symbol;
  selection.symbol = sym;
  writeURL();
  chart.redrawHead();
  board.showSelection(sym, { focus });
  if (changed) {
    chart.showSelected();
    wantShown();
  }
  requestFrame();
}

// wanted is what this tab wants streamed: every symbol while the board is
// whole, else the selected symbol (every tick, for its chart) and the rows
// drawn; and the bar events of the chart's interval.
function wanted() {
  const bars = [selection.interval];
  if (board.whole()) return { all: true, bars };
  const syms = [selection.symbol, ...board.onScreen()].filter((s, i, a) => s && a.indexOf(s) === i);
  return { symbols: syms.length ? syms : board.symbols().slice(0, 1), bars };
}

function wantShown() {
  connection.want(wanted());
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

board.start({
  select,
  shown(syms) {
    backfillShown(syms);
    wantShown();
  },
});
chart.start({ chosen: wantShown });
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
    get chartServerBars() { return chart.serverBarsApplied(); },
    get barsSeen() { return health.barsSeen; },
    get subscribedBars() { return health.subscribedBars; },
    get inWorker() { return health.inWorker; },
    get lastTickAgeMs() { return health.lastTickAgeMs; },
    get sparks() { return board.sparks(); },
    get sparksBackfilled() { return backfilledCount(); },
    get role() { return health.role; },
    get followers() { return health.followers; },
    get subscription() { return health.subscription; },
    get subscriptionsSent() { return health.subscriptionsSent; },
    get windowed() { return !board.whole(); },
    get onScreen() { return board.onScreen(); },
    get order() { return board.shownOrder(); },
    get boardView() { return watchlist.currentView(); },
    get pinned() { return watchlist.pinned(); },
    // tickAgesSince are how old (in ms, from their ts) the ticks of rows
    // on screen were when they arrived, for those that arrived after t
    // (a performance.now() time), of the newest AGES_KEPT.
    tickAgesSince(t) { return tickAges.filter((e) => e && e[0] > t).map((e) => e[1]); },
  }),
});

// A board larger than WHOLE_BOARD_MAX comes from the server's list, and
// the stream carries only what the page shows; a smaller one is every
// symbol, and the stream's snapshot of them is the board.
const listed = await listUniverse();
if (listed && listed.length > board.WHOLE_BOARD_MAX) {
  board.setUniverse(listed);
  const asked = readURL().symbol;
  const first = board.shownOrder()[0] || listed[0].sym;
  select(board.rowOf(asked) ? asked : first, { focus: false });
  // The rows on screen, before the stream asks for them: drawn once to
  // measure a row, and again with its height.
  board.rebuild();
  board.draw(performance.now());
  board.draw(performance.now());
}

connection.start({
  open() {
    market.refresh();
    chart.loadWhenWanted();
    retryFailed();
  },
  snapshot(quotes, { first, fresh }) {
    board.applySnapshot(quotes, fresh);
    if (!board.whole()) {
      // A newer quote of the selected symbol than the chart has seen means
      // ticks went by it, while the stream was asking for other symbols.
      const q = quotes.find((x) => x.sym === selection.symbol);
      if (fresh && !first) chart.reload(); // a resync: ticks were missed
      else if (q && chart.behind(q.seq)) chart.reload();
    } else if (first) {
      const asked = readURL().symbol;
      select(board.rowOf(asked) ? asked : board.symbols()[0], { focus: false });
    } else if (!board.rowOf(selection.symbol)) {
      select(board.symbols()[0], { focus: false });
    } else {
      chart.reload(); // ticks may have been skipped: take the server's bars
    }
    backfillShown(board.onScreen()); // rows whose sparkline a newer quote started again
    requestFrame();
  },
  tick(t) {
    rememberTick(t);
    const r = board.rowOf(t.sym);
    if (r && r.el) {
      tickAges[agesNext] = [performance.now(), Date.now() - t.ts / 1e6];
      agesNext = (agesNext + 1) % AGES_KEPT;
    }
    board.applyTick(t);
    chart.applyTick(t);
    requestFrame();
  },
  bar(b) {
    chart.applyBar(b);
  },
  conflated() {
    chart.reload();
  },
  market(kind, body) {
    if (kind === 'snapshot') market.applySnapshot(body);
    else market.apply(kind, body);
  },
  whole: board.whole,
  quotes: board.quotesOf,
}, { want: wanted() });

requestFrame();
