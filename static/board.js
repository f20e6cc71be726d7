// board.js: the ticker board. One row per symbol with its last price,
// change, bid, ask and sparkline, kept up to date from quotes and ticks;
// the last price flashes on every move; the rows are filtered, sorted and
// narrowed to the watchlist as asked, and can be walked with the keyboard.
//
// A small universe (at most WHOLE_BOARD_MAX symbols) is drawn whole. A
// larger one is windowed: only the rows on screen, and a few either side,
// are in the DOM; the rest are two spacers of their height, so the
// scrollbar is that of the whole list. onScreen() names the rows drawn,
// which the page subscribes to and backfills.
//
// A row's cells are written at most every ROW_REDRAW_MS (a few times a
// second, as often as a person can read a price), and its sparkline every
// SPARK_REDRAW_MS; a row in the DOM but scrolled out of sight (of a whole
// board) at most every HIDDEN_REDRAW_MS. Its figures take every tick at
// once; only the drawing waits, for the row's newest state.

import { requestFrame } from './frame.js';
import { priceFmt, price, signed, percentText, directionClass } from './format.js';
import { selection } from './selection.js';
import { Sparkline } from './sparkline.js';
import * as watchlist from './watchlist.js';

export const WHOLE_BOARD_MAX = 100; // boards up to this many symbols are drawn whole
const OVERSCAN = 6; // rows drawn beyond each edge of the screen
const ROW_REDRAW_MS = 200;
const SPARK_REDRAW_MS = 250;
const HIDDEN_REDRAW_MS = 1000;
const RESORT_MS = 1000; // a board sorted by change % re-sorts at most this often
const RESORT_CHECK_MS = 250;

const tbody = document.getElementById('rows');
const padTop = document.getElementById('rows-above');
const padBottom = document.getElementById('rows-below');
const scroller = document.querySelector('.board-scroll');
const filterInput = document.getElementById('filter');

const board = {
  symbols: [], // universe order
  rows: new Map(), // symbol -> row
  order: [], // the rows that pass the filter and the view, in the board's order
  filter: '',
  sortKey: null, // null (universe order) | 'sym' | 'pct'
  sortDir: 1,
  lastSort: 0,
  rowHeight: 33, // measured from a drawn row
  from: 0, // order[from, to) are drawn
  to: 0,
};

const changed = {
  symbols: false, // the set of symbols changed
  cells: new Set(), // rows whose cells must be written again
  sparks: new Set(),
  order: false, // filter, sort or view changed: order again
  window: false, // scrolled or resized: draw other rows
  toTop: false, // scroll the board to the top of its order
  measure: false, // other rows were drawn: measure their height
  sortMarks: true,
  views: true,
};

let sparkWidth = 80;
let sparkHeight = 22;
let pendingFocus = null;
let drawn = []; // rows drawn, top to bottom
const pool = []; // row elements not in use
let onScreenChange = () => {};

// start listens to the board's keys, clicks, scrolling and controls;
// select(sym, {focus}) is called when a person picks a row, and
// shown(syms) after the rows on screen changed (see onScreen).
export function start({ select, shown }) {
  onScreenChange = shown;
  tbody.addEventListener('click', (e) => {
    const tr = e.target.closest('tr');
    if (!tr) return;
    if (e.target.closest('.pin')) {
      watchlist.togglePin(tr.dataset.sym);
      return;
    }
    select(tr.dataset.sym, { focus: true });
  });

  tbody.addEventListener('keydown', (e) => {
    const tr = e.target.closest('tr');
    if (!tr) return;
    const i = board.order.indexOf(board.rows.get(tr.dataset.sym));
    const last = board.order.length - 1;
    switch (e.key) {
      case 'ArrowDown': focusIndex(Math.min(i + 1, last)); break;
      case 'ArrowUp': focusIndex(Math.max(i - 1, 0)); break;
      case 'Home': focusIndex(0); break;
      case 'End': focusIndex(last); break;
      case 'PageDown': focusIndex(Math.min(i + 10, last)); break;
      case 'PageUp': focusIndex(Math.max(i - 10, 0)); break;
      case 'Enter':
      case ' ':
        select(tr.dataset.sym, { focus: true });
        break;
      case 'p':
      case 'P':
        watchlist.togglePin(tr.dataset.sym);
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  filterInput.addEventListener('input', () => {
    board.filter = filterInput.value.trim().toUpperCase();
    reorder({ toTop: true });
  });
  filterInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      const first = board.order[0];
      if (first) select(first.sym, { focus: true });
      e.preventDefault();
    } else if (e.key === 'Escape') {
      filterInput.value = '';
      board.filter = '';
      reorder({ toTop: true });
    } else if (e.key === 'ArrowDown') {
      focusIndex(0);
      e.preventDefault();
    }
  });

  document.addEventListener('keydown', (e) => {
    if (e.key === '/' && !(e.target instanceof HTMLInputElement) && !e.ctrlKey && !e.metaKey && !e.altKey) {
      filterInput.focus();
      filterInput.select();
      e.preventDefault();
    }
  });

  for (const b of document.querySelectorAll('[data-sort]')) b.addEventListener('click', () => chooseSort(b.dataset.sort));
  for (const b of document.querySelectorAll('[data-board-view]')) {
    b.addEventListener('click', () => {
      changed.toTop = true;
      watchlist.chooseView(b.dataset.boardView);
    });
  }
  watchlist.onChange(() => {
    changed.views = true;
    for (const r of drawn) changed.cells.add(r);
    reorder();
  });

  const moved = () => {
    changed.window = true;
    requestFrame();
  };
  scroller.addEventListener('scroll', moved, { passive: true });
  window.addEventListener('scroll', moved, { passive: true });
  window.addEventListener('resize', () => {
    measureSparks();
    moved();
  });

  // Once ticks stop, a board sorted by change % still takes its last re-sort.
  setInterval(() => {
    if (board.sortKey === 'pct') resortWhenDue();
  }, RESORT_CHECK_MS);
}

// reorder orders the rows again in the next frame; with toTop (a new
// filter, sort or view) the board shows the top of the new order.
function reorder({ toTop } = { toTop: false }) {
  changed.order = true;
  if (toTop) changed.toTop = true;
  requestFrame();
}

// ---------------------------------------------------------------- rows

function newRow(sym) {
  return {
    sym, px: 0, bid: 0, ask: 0, open: 0, high: 0, low: 0, chg: 0, pct: 0, vol: 0, seq: 0, prevClose: 0,
    flash: 0, flashGen: 0,
    spark: new Sparkline(),
    el: null, shown: {},
    drawnAt: -Infinity, // the frame time its cells were last written
    visible: true, // on screen, as the intersection observer last said
  };
}

// setSymbols makes the board's rows those of names, in that order,
// keeping the rows of names it had.
function setSymbols(names) {
  const same = names.length === board.symbols.length && names.every((n, i) => n === board.symbols[i]);
  if (same) return;
  board.symbols = names;
  const rows = new Map();
  for (const n of names) rows.set(n, board.rows.get(n) || newRow(n));
  board.rows = rows;
  changed.symbols = true;
  changed.order = true;
}

// setUniverse makes the board the symbols of quotes (from /api/symbols),
// in their order, each at its quote.
export function setUniverse(quotes) {
  setSymbols(quotes.map((q) => q.sym));
  for (const q of quotes) applyQuote(board.rows.get(q.sym), q);
}

// applySnapshot takes a snapshot's quotes: with replace (the page starts
// again from it) they are the board, and each replaces its row's quote;
// otherwise a quote newer than its row's replaces it. Quotes of symbols
// not on the board are left out.
export function applySnapshot(quotes, replace) {
  if (replace) {
    if (whole() || !board.symbols.length) setSymbols(quotes.map((q) => q.sym));
    for (const q of quotes) {
      const r = board.rows.get(q.sym);
      if (r) applyQuote(r, q);
    }
  } else {
    for (const q of quotes) {
      const r = board.rows.get(q.sym);
      if (r && q.seq > r.seq) applyQuote(r, q);
    }
  }
  if (board.sortKey === 'pct') changed.order = true;
}

// applyQuote puts q on r. A quote of a symbol that has not traded yet may
// have no price (or a price of 0): its row shows the previous close.
function applyQuote(r, q) {
  r.px = q.px || 0; r.bid = q.bid || 0; r.ask = q.ask || 0;
  r.open = q.open || 0; r.high = q.high || 0; r.low = q.low || 0;
  r.chg = q.chg || 0; r.pct = q.chg_pct || 0; r.vol = q.vol || 0; r.seq = q.seq || 0;
  r.prevClose = q.prevClose || 0;
  r.flash = 0;
  const traded = r.seq > 0 && r.px > 0;
  r.spark.restart(traded ? [r.px] : [], traded && q.ts ? Math.floor(q.ts / 1e9) : 0);
  changed.cells.add(r);
  changed.sparks.add(r);
}

// applyTick moves t's row to the tick's price, unless the row already
// shows a newer one.
export function applyTick(t) {
  const r = board.rows.get(t.sym);
  if (r && t.seq > r.seq) {
    if (!r.open) {
      r.open = r.high = r.low = t.px;
    }
    if (r.px > 0 && t.px !== r.px) r.flash = t.px > r.px ? 1 : -1;
    r.px = t.px; r.bid = t.bid; r.ask = t.ask; r.seq = t.seq;
    r.high = Math.max(r.high, t.px);
    r.low = Math.min(r.low, t.px);
    r.vol += t.size;
    r.chg = Math.round((t.px - r.open) * 100) / 100;
    r.pct = r.open ? Math.round(((t.px - r.open) / r.open) * 1e6) / 1e4 : 0;
    r.spark.add(Math.floor(t.ts / 1e9), t.px);
    if (r.el) {
      changed.cells.add(r);
      changed.sparks.add(r);
    }
  }
  if (board.sortKey === 'pct') resortWhenDue();
}

// quotesOf are the board's quotes of syms (every symbol when syms is
// null), as a snapshot carries them.
export function quotesOf(syms) {
  const out = [];
  for (const sym of syms || board.symbols) {
    const r = board.rows.get(sym);
    if (!r) continue;
    out.push({
      seq: r.seq, sym, px: r.px, bid: r.bid, ask: r.ask, size: 0, ts: r.spark.second * 1e9,
      open: r.open, high: r.high, low: r.low, chg: r.chg, chg_pct: r.pct, vol: r.vol, prevClose: r.prevClose,
    });
  }
  return out;
}

// rowOf is the row of sym, or undefined when sym is not on the board.
export function rowOf(sym) {
  return board.rows.get(sym);
}

// symbols are the board's symbols in the universe's order.
export function symbols() {
  return board.symbols.slice();
}

// whole reports whether the board is drawn whole rather than windowed.
export function whole() {
  return board.symbols.length <= WHOLE_BOARD_MAX;
}

// onScreen are the symbols of the rows drawn, top to bottom.
export function onScreen() {
  return drawn.map((r) => r.sym);
}

// shownOrder are the symbols that pass the filter and the view, in the
// board's order, drawn or not.
export function shownOrder() {
  return board.order.map((r) => r.sym);
}

// sparks are the sparkline points of the rows drawn, by symbol.
export function sparks() {
  return Object.fromEntries(drawn.map((r) => [r.sym, r.spark.points.slice()]));
}

// redrawSpark draws r's sparkline again in a coming frame.
export function redrawSpark(r) {
  changed.sparks.add(r);
  requestFrame();
}

// showSelection marks the selected row again; with focus, the keyboard
// focus moves to it in the next frame.
export function showSelection(sym, { focus }) {
  if (focus) pendingFocus = sym;
  for (const r of drawn) changed.cells.add(r);
}

function chooseSort(key) {
  if (board.sortKey === key) {
    board.sortDir = -board.sortDir;
  } else {
    board.sortKey = key;
    board.sortDir = key === 'pct' ? -1 : 1; // biggest gainers first
  }
  changed.sortMarks = true;
  reorder({ toTop: true });
}

function resortWhenDue() {
  if (performance.now() - board.lastSort >= RESORT_MS) reorder();
}

// ---------------------------------------------------------------- drawing

// rebuild starts the board's drawing again when its symbols changed.
export function rebuild() {
  if (!changed.symbols) return;
  changed.symbols = false;
  for (const r of drawn) release(r);
  drawn = [];
  changed.order = true;
}

function cell(tr, cls) {
  const td = document.createElement('td');
  td.className = cls;
  tr.appendChild(td);
  return td;
}

// makeElement builds one row's elements, to be given to a row by attach.
function makeElement() {
  const tr = document.createElement('tr');
  const symCell = cell(tr, 'c-sym');
  const pin = document.createElement('button');
  pin.type = 'button';
  pin.className = 'pin';
  pin.tabIndex = -1; // the row is in the tab order; P pins it from the keyboard
  const name = document.createElement('span');
  name.className = 'sym-name';
  symCell.append(pin, name);
  const last = cell(tr, 'c-last');
  const lastText = document.createElement('span');
  const ba = document.createElement('span');
  ba.className = 'ba';
  ba.setAttribute('aria-hidden', 'true');
  last.append(lastText, ba);
  const chg = cell(tr, 'c-chg');
  const pct = cell(tr, 'c-pct');
  const bid = cell(tr, 'c-bid');
  const ask = cell(tr, 'c-ask');
  const sparkCell = cell(tr, 'c-spark');
  const canvas = document.createElement('canvas');
  canvas.className = 'spark';
  canvas.setAttribute('aria-hidden', 'true');
  sparkCell.appendChild(canvas);
  return { tr, pin, name, last, lastText, ba, chg, pct, bid, ask, canvas };
}

// seen follows which rows are on screen: within the board's scroller and
// the window.
const seen = typeof IntersectionObserver === 'function'
  ? new IntersectionObserver((entries) => {
    for (const en of entries) {
      const r = board.rows.get(en.target.dataset.sym);
      if (!r || !r.el || r.el.tr !== en.target) continue;
      const was = r.visible;
      r.visible = en.isIntersecting;
      if (r.visible && !was) {
        // Back in sight: draw its newest state now.
        r.drawnAt = -Infinity;
        r.spark.drawnAt = 0;
        changed.cells.add(r);
        changed.sparks.add(r);
        requestFrame();
      }
    }
  })
  : null;

function attach(r) {
  const e = pool.pop() || makeElement();
  e.tr.dataset.sym = r.sym;
  e.tr.tabIndex = -1;
  e.tr.removeAttribute('aria-current');
  e.last.className = 'c-last';
  e.name.textContent = r.sym;
  e.canvas.getContext('2d').clearRect(0, 0, e.canvas.width, e.canvas.height);
  r.el = e;
  r.shown = {};
  r.spark.drawnAt = 0;
  r.drawnAt = -Infinity;
  r.visible = true; // until the observer says otherwise
  if (seen) seen.observe(e.tr);
  changed.cells.add(r);
  changed.sparks.add(r);
}

function release(r) {
  if (!r.el) return;
  if (seen) seen.unobserve(r.el.tr);
  r.el.tr.remove();
  pool.push(r.el);
  r.el = null;
  changed.cells.delete(r);
  changed.sparks.delete(r);
}

// drawSortMarks shows which column the board is sorted by, and which way,
// and which of its views is shown.
export function drawSortMarks() {
  if (changed.sortMarks) {
    changed.sortMarks = false;
    for (const b of document.querySelectorAll('[data-sort]')) {
      const sorted = board.sortKey === b.dataset.sort;
      b.parentElement.setAttribute('aria-sort', sorted ? (board.sortDir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }
  if (changed.views) {
    changed.views = false;
    const view = watchlist.currentView();
    for (const b of document.querySelectorAll('[data-board-view]')) b.setAttribute('aria-pressed', String(b.dataset.boardView === view));
    document.getElementById('watch-count').textContent = String(watchlist.pinned().length);
  }
}

// draw orders the rows when asked, draws those on screen, writes the cells
// that changed and their sparklines (each at most every SPARK_REDRAW_MS),
// and moves the focus where it was asked.
export function draw(now) {
  if (changed.order) {
    changed.order = false;
    order();
    changed.window = true;
    if (changed.toTop) {
      changed.toTop = false;
      if (!whole()) scrollToTop();
    }
  }
  if (changed.window) {
    changed.window = false;
    drawWindow();
  }
  for (const r of changed.cells) {
    if (!r.el) {
      changed.cells.delete(r);
    } else if (rowDue(r, now)) {
      r.drawnAt = now;
      renderRow(r);
      changed.cells.delete(r);
    }
  }
  measureRows();
  for (const r of changed.sparks) {
    if (!r.el) {
      changed.sparks.delete(r);
    } else if (now - r.spark.drawnAt >= (r.visible ? SPARK_REDRAW_MS : HIDDEN_REDRAW_MS)) {
      r.spark.drawnAt = now;
      r.spark.draw(r.el.canvas, r.open || r.prevClose, sparkWidth, sparkHeight);
      changed.sparks.delete(r);
    }
  }
  if (pendingFocus) {
    const i = board.order.indexOf(board.rows.get(pendingFocus));
    pendingFocus = null;
    if (i >= 0) focusIndex(i);
  }
  if (changed.sparks.size || changed.cells.size) requestFrame(); // throttled rows and sparklines draw in a later frame
}

// rowDue reports whether r's cells are to be written in the frame at now:
// when its selection or pin changed (a person's doing, shown at once), or
// when it was last written long enough ago.
function rowDue(r, now) {
  if (r.shown.selected !== (r.sym === selection.symbol) || r.shown.pinned !== watchlist.isPinned(r.sym)) return true;
  return now - r.drawnAt >= (r.visible ? ROW_REDRAW_MS : HIDDEN_REDRAW_MS);
}

function setText(r, key, el, text) {
  if (r.shown[key] !== text) {
    r.shown[key] = text;
    el.textContent = text;
  }
}

function setClass(r, key, el, cls) {
  if (r.shown[key] !== cls) {
    r.shown[key] = cls;
    el.className = cls;
  }
}

function renderRow(r) {
  const e = r.el;
  if (!e) return;
  const traded = r.px > 0;
  setText(r, 'px', e.lastText, traded ? price(r.px) : r.prevClose > 0 ? price(r.prevClose) : price(0));
  setClass(r, 'pxc', e.lastText, traded ? '' : 'untraded');
  if (r.shown.untraded !== !traded) {
    r.shown.untraded = !traded;
    if (traded) e.last.removeAttribute('title');
    else e.last.title = r.prevClose > 0 ? 'No trade yet; the previous close' : 'No trade yet';
  }
  setText(r, 'ba', e.ba, r.bid > 0 ? priceFmt.format(r.bid) + ' × ' + priceFmt.format(r.ask) : '');
  setText(r, 'chg', e.chg, traded ? signed(r.chg) : '');
  setText(r, 'pct', e.pct, traded ? percentText(r.pct) : '');
  setText(r, 'bid', e.bid, price(r.bid));
  setText(r, 'ask', e.ask, price(r.ask));
  setClass(r, 'chgc', e.chg, 'c-chg ' + directionClass(r.chg));
  setClass(r, 'pctc', e.pct, 'c-pct ' + directionClass(r.pct));
  if (r.flash) {
    r.flashGen ^= 1;
    e.last.className = 'c-last flash-' + (r.flash > 0 ? 'up' : 'down') + '-' + r.flashGen;
    r.flash = 0;
  }
  const selected = r.sym === selection.symbol;
  if (r.shown.selected !== selected) {
    r.shown.selected = selected;
    if (selected) e.tr.setAttribute('aria-current', 'true');
    else e.tr.removeAttribute('aria-current');
  }
  const pinned = watchlist.isPinned(r.sym);
  if (r.shown.pinned !== pinned) {
    r.shown.pinned = pinned;
    e.pin.setAttribute('aria-pressed', String(pinned));
    e.pin.setAttribute('aria-label', (pinned ? 'Unpin ' : 'Pin ') + r.sym);
    e.pin.textContent = pinned ? '★' : '☆';
  }
}

// measureRows takes the height of the drawn rows, once their cells are
// written, as that of every row; when it differs from the one the window
// was drawn with, the window is drawn again in the next frame.
function measureRows() {
  if (!changed.measure) return;
  changed.measure = false;
  if (whole() || !drawn.length) return;
  // The mean over the rows drawn: one row's height can be a fraction of a
  // pixel off the others', and the window must not move with it.
  const top = drawn[0].el.tr.getBoundingClientRect().top;
  const bottom = drawn[drawn.length - 1].el.tr.getBoundingClientRect().bottom;
  const h = (bottom - top) / drawn.length;
  if (h > 0 && Math.abs(h - board.rowHeight) > 0.5) {
    board.rowHeight = h;
    changed.window = true;
    requestFrame();
  }
}

function measureSparks() {
  const first = drawn[0];
  if (!first) return;
  const box = first.el.canvas.getBoundingClientRect();
  if (box.width > 0) {
    sparkWidth = Math.round(box.width);
    sparkHeight = Math.round(box.height);
  }
  for (const r of drawn) changed.sparks.add(r);
  requestFrame();
}

// order puts the rows that pass the view and the filter in the board's
// order: a few milliseconds for 10,000 symbols.
function order() {
  board.lastSort = performance.now();
  const f = board.filter;
  const view = watchlist.currentView();
  let rows;
  if (view === 'watchlist') {
    rows = [];
    for (const sym of board.symbols) if (watchlist.isPinned(sym)) rows.push(board.rows.get(sym));
  } else {
    rows = [...board.rows.values()];
  }
  if (f) rows = rows.filter((r) => r.sym.includes(f));
  const dir = board.sortDir;
  if (board.sortKey === 'sym') rows.sort((a, b) => dir * (a.sym < b.sym ? -1 : a.sym > b.sym ? 1 : 0));
  if (board.sortKey === 'pct') rows.sort((a, b) => dir * (a.pct - b.pct) || (a.sym < b.sym ? -1 : 1));
  board.order = rows;

  const n = rows.length;
  const empty = document.getElementById('board-empty');
  empty.hidden = n > 0;
  empty.textContent = view === 'watchlist' && !watchlist.pinned().length
    ? 'Nothing pinned yet: pin a symbol with ☆, or press P on its row, to watch it here.'
    : 'No symbol matches the filter.';
  const total = view === 'watchlist' ? watchlist.pinned().length : board.symbols.length;
  document.getElementById('board-count').textContent = f && n !== total ? n + ' of ' + total : String(total);
}

// scrollToTop scrolls the board, or the page on a narrow screen, to the
// board's first row.
function scrollToTop() {
  if (scroller.scrollHeight > scroller.clientHeight + 1) {
    scroller.scrollTop = 0;
  } else {
    const top = padTop.getBoundingClientRect().top;
    if (top < 0) window.scrollBy(0, top - tbody.parentElement.tHead.getBoundingClientRect().height);
  }
}

// windowRange is the part of the order to draw: all of it when the board
// is whole, else the rows the screen shows of the board and OVERSCAN more
// either side.
function windowRange() {
  const n = board.order.length;
  if (whole()) return [0, n];
  const origin = padTop.getBoundingClientRect().top; // where the first row of the order would be
  const box = scroller.getBoundingClientRect();
  const head = tbody.parentElement.tHead.getBoundingClientRect().height;
  const top = Math.max(box.top + head, 0) - origin;
  const bottom = Math.min(box.bottom, window.innerHeight) - origin;
  const h = board.rowHeight;
  const rows = Math.ceil((bottom - top) / h);
  // Past the end of a shorter order (before the browser clamps the
  // scroll), the last screen of it.
  const first = Math.min(Math.floor(top / h), n - rows);
  const from = Math.max(0, first - OVERSCAN);
  const to = Math.max(from, Math.min(n, first + rows + OVERSCAN));
  return [from, to];
}

function drawWindow() {
  const [from, to] = windowRange();
  const want = board.order.slice(from, to);
  const keep = new Set(want);
  const focused = document.activeElement;
  const refocus = focused && tbody.contains(focused) && focused.tagName === 'TR' ? focused.dataset.sym : null;
  for (const r of drawn) if (!keep.has(r)) release(r);
  for (const r of want) if (!r.el) attach(r);
  let anchor = tbody.firstChild;
  for (const r of want) {
    if (r.el.tr !== anchor) tbody.insertBefore(r.el.tr, anchor);
    else anchor = anchor.nextSibling;
  }
  const before = drawn;
  drawn = want;
  changed.measure = true;
  board.from = from;
  board.to = to;
  padTop.firstElementChild.firstElementChild.style.height = from * board.rowHeight + 'px';
  padBottom.firstElementChild.firstElementChild.style.height = (board.order.length - to) * board.rowHeight + 'px';
  if (refocus && document.activeElement !== focused) {
    const r = board.rows.get(refocus);
    if (r && r.el) r.el.tr.focus({ preventScroll: true });
  }
  if (before.length === 0 && want.length) measureSparks();
  updateRoving();
  const same = before.length === want.length && before.every((r, i) => r === want[i]);
  if (!same) onScreenChange(want.map((r) => r.sym));
}

// Exactly one drawn row is in the tab order: the focused one, else the selected one, else the first.
function updateRoving() {
  const active = document.activeElement;
  let target = tbody.contains(active) && active.tagName === 'TR' ? active : null;
  if (!target) {
    const sel = board.rows.get(selection.symbol);
    target = sel && sel.el ? sel.el.tr : drawn.length ? drawn[0].el.tr : null;
  }
  for (const tr of tbody.children) {
    const want = tr === target ? 0 : -1;
    if (tr.tabIndex !== want) tr.tabIndex = want;
  }
}

// ---------------------------------------------------------------- keyboard

// focusIndex moves the keyboard focus to the row at i of the order,
// scrolling it into the window first when it is not drawn.
function focusIndex(i) {
  const r = board.order[i];
  if (!r) return;
  if (!r.el) {
    const top = padTop.getBoundingClientRect().top + i * board.rowHeight;
    const box = scroller.getBoundingClientRect();
    const inner = scroller.scrollHeight > scroller.clientHeight + 1;
    const viewTop = inner ? box.top : 0;
    const viewBottom = inner ? box.bottom : window.innerHeight;
    const delta = top < viewTop + board.rowHeight ? top - viewTop - board.rowHeight : top + board.rowHeight - viewBottom;
    if (inner) scroller.scrollTop += delta;
    else window.scrollBy(0, delta);
    drawWindow();
  }
  if (!r.el) return;
  for (const tr of tbody.children) tr.tabIndex = tr === r.el.tr ? 0 : -1;
  r.el.tr.focus();
}
