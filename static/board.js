// board.js: the ticker board. One row per symbol with its last price,
// change, bid, ask and sparkline, kept up to date from quotes and ticks;
// the last price flashes on every move; the rows are filtered and sorted as
// asked and can be walked with the keyboard.

import { requestFrame } from './frame.js';
import { priceFmt, price, signed, percentText, directionClass } from './format.js';
import { selection } from './selection.js';
import { Sparkline } from './sparkline.js';

const SPARK_REDRAW_MS = 250;
const RESORT_MS = 1000; // a board sorted by change % re-sorts at most this often
const RESORT_CHECK_MS = 250;

const tbody = document.getElementById('rows');
const filterInput = document.getElementById('filter');

const board = {
  symbols: [], // universe order, from the snapshot
  rows: new Map(), // symbol -> row
  filter: '',
  sortKey: null, // null (universe order) | 'sym' | 'pct'
  sortDir: 1,
  lastSort: 0,
};

const changed = {
  symbols: false, // the set of symbols changed
  cells: new Set(), // rows whose cells must be written again
  sparks: new Set(),
  order: false,
  sortMarks: true,
};

let sparkWidth = 80;
let sparkHeight = 22;
let pendingFocus = null;
let shownOrder = [];

// start listens to the board's keys, clicks and controls; select(sym,
// {focus}) is called when a person picks a row.
export function start({ select }) {
  tbody.addEventListener('click', (e) => {
    const tr = e.target.closest('tr');
    if (tr) select(tr.dataset.sym, { focus: true });
  });

  tbody.addEventListener('keydown', (e) => {
    const tr = e.target.closest('tr');
    if (!tr) return;
    const rows = visibleRows();
    const i = rows.indexOf(tr);
    switch (e.key) {
      case 'ArrowDown': focusRow(rows[Math.min(i + 1, rows.length - 1)]); break;
      case 'ArrowUp': focusRow(rows[Math.max(i - 1, 0)]); break;
      case 'Home': focusRow(rows[0]); break;
      case 'End': focusRow(rows[rows.length - 1]); break;
      case 'PageDown': focusRow(rows[Math.min(i + 10, rows.length - 1)]); break;
      case 'PageUp': focusRow(rows[Math.max(i - 10, 0)]); break;
      case 'Enter':
      case ' ':
        select(tr.dataset.sym, { focus: true });
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  filterInput.addEventListener('input', () => {
    board.filter = filterInput.value.trim().toUpperCase();
    changed.order = true;
    requestFrame();
  });
  filterInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      const first = sortedSymbols()[0];
      if (first) select(first, { focus: true });
      e.preventDefault();
    } else if (e.key === 'Escape') {
      filterInput.value = '';
      board.filter = '';
      changed.order = true;
      requestFrame();
    } else if (e.key === 'ArrowDown') {
      focusRow(visibleRows()[0]);
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

  window.addEventListener('resize', measureSparks);

  // Once ticks stop, a board sorted by change % still takes its last re-sort.
  setInterval(() => {
    if (board.sortKey === 'pct') resortWhenDue();
  }, RESORT_CHECK_MS);
}

// ---------------------------------------------------------------- rows

function newRow(sym) {
  return {
    sym, px: 0, bid: 0, ask: 0, open: 0, high: 0, low: 0, chg: 0, pct: 0, vol: 0, seq: 0,
    flash: 0, flashGen: 0,
    spark: new Sparkline(),
    el: null, shown: {},
  };
}

// applySnapshot takes a snapshot's quotes: a fresh one replaces every row's
// quote (and the rows, when its symbols differ); otherwise a quote newer
// than its row's replaces it.
export function applySnapshot(quotes, fresh) {
  if (fresh) {
    const names = quotes.map((q) => q.sym);
    const sameSymbols = names.length === board.symbols.length && names.every((n, i) => n === board.symbols[i]);
    if (!sameSymbols) {
      board.symbols = names;
      const rows = new Map();
      for (const n of names) rows.set(n, board.rows.get(n) || newRow(n));
      board.rows = rows;
      changed.symbols = true;
    }
    for (const q of quotes) applyQuote(board.rows.get(q.sym), q);
  } else {
    for (const q of quotes) {
      const r = board.rows.get(q.sym);
      if (q.seq > r.seq) applyQuote(r, q);
    }
  }
  changed.order = true;
}

function applyQuote(r, q) {
  r.px = q.px; r.bid = q.bid; r.ask = q.ask;
  r.open = q.open; r.high = q.high; r.low = q.low;
  r.chg = q.chg; r.pct = q.chg_pct; r.vol = q.vol; r.seq = q.seq;
  r.flash = 0;
  r.spark.restart(q.seq > 0 && q.px > 0 ? [q.px] : [], q.seq > 0 ? Math.floor(q.ts / 1e9) : 0);
  changed.cells.add(r);
  changed.sparks.add(r);
}

// applyTick moves t's row to the tick's price.
export function applyTick(t) {
  const r = board.rows.get(t.sym);
  if (r) {
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
    changed.cells.add(r);
    changed.sparks.add(r);
  }
  if (board.sortKey === 'pct') resortWhenDue();
}

// rowOf is the row of sym, or undefined when sym is not on the board.
export function rowOf(sym) {
  return board.rows.get(sym);
}

// symbols are the board's symbols in the universe's order.
export function symbols() {
  return board.symbols.slice();
}

// sparks are every row's sparkline points by symbol.
export function sparks() {
  return Object.fromEntries([...board.rows].map(([sym, r]) => [sym, r.spark.points.slice()]));
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
  for (const r of board.rows.values()) changed.cells.add(r);
}

function chooseSort(key) {
  if (board.sortKey === key) {
    board.sortDir = -board.sortDir;
  } else {
    board.sortKey = key;
    board.sortDir = key === 'pct' ? -1 : 1; // biggest gainers first
  }
  changed.order = true;
  changed.sortMarks = true;
  requestFrame();
}

function resortWhenDue() {
  if (performance.now() - board.lastSort >= RESORT_MS) {
    changed.order = true;
    requestFrame();
  }
}

// ---------------------------------------------------------------- drawing

// rebuild makes the rows' elements again when the board's symbols changed.
export function rebuild() {
  if (!changed.symbols) return;
  changed.symbols = false;
  buildRows();
  changed.order = true;
}

function cell(tr, cls) {
  const td = document.createElement('td');
  td.className = cls;
  tr.appendChild(td);
  return td;
}

function buildRows() {
  tbody.textContent = '';
  shownOrder = [];
  for (const sym of board.symbols) {
    const r = board.rows.get(sym);
    const tr = document.createElement('tr');
    tr.dataset.sym = sym;
    tr.tabIndex = -1;
    const symCell = cell(tr, 'c-sym');
    symCell.textContent = sym;
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
    r.el = { tr, last, lastText, ba, chg, pct, bid, ask, canvas };
    r.shown = {};
    tbody.appendChild(tr);
    shownOrder.push(tr);
    changed.cells.add(r);
    changed.sparks.add(r);
  }
  measureSparks();
}

// drawSortMarks shows which column the board is sorted by, and which way.
export function drawSortMarks() {
  if (!changed.sortMarks) return;
  changed.sortMarks = false;
  for (const b of document.querySelectorAll('[data-sort]')) {
    const sorted = board.sortKey === b.dataset.sort;
    b.parentElement.setAttribute('aria-sort', sorted ? (board.sortDir > 0 ? 'ascending' : 'descending') : 'none');
  }
}

// draw writes the rows that changed, their sparklines (each at most every
// SPARK_REDRAW_MS) and their order, and moves the focus where it was asked.
export function draw(now) {
  for (const r of changed.cells) renderRow(r);
  changed.cells.clear();
  for (const r of changed.sparks) {
    if (!r.el) {
      changed.sparks.delete(r);
    } else if (now - r.spark.drawnAt >= SPARK_REDRAW_MS) {
      r.spark.drawnAt = now;
      r.spark.draw(r.el.canvas, r.open, sparkWidth, sparkHeight);
      changed.sparks.delete(r);
    }
  }
  if (changed.order) {
    changed.order = false;
    renderOrder();
  }
  if (pendingFocus) {
    const r = board.rows.get(pendingFocus);
    pendingFocus = null;
    if (r && r.el && !r.el.tr.hidden) {
      r.el.tr.tabIndex = 0;
      r.el.tr.focus();
      updateRoving();
    }
  }
  if (changed.sparks.size) requestFrame(); // throttled sparklines draw in a later frame
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
  setText(r, 'px', e.lastText, price(r.px));
  setText(r, 'ba', e.ba, r.bid > 0 ? priceFmt.format(r.bid) + ' × ' + priceFmt.format(r.ask) : '');
  setText(r, 'chg', e.chg, r.px > 0 ? signed(r.chg) : '');
  setText(r, 'pct', e.pct, r.px > 0 ? percentText(r.pct) : '');
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
}

function measureSparks() {
  const first = board.symbols.length && board.rows.get(board.symbols[0]).el;
  if (!first) return;
  const box = first.canvas.getBoundingClientRect();
  if (box.width > 0) {
    sparkWidth = Math.round(box.width);
    sparkHeight = Math.round(box.height);
  }
  for (const r of board.rows.values()) changed.sparks.add(r);
  requestFrame();
}

// sortedSymbols are the symbols that pass the filter, in the board's order.
function sortedSymbols() {
  const syms = board.symbols.filter((s) => !board.filter || s.includes(board.filter));
  const dir = board.sortDir;
  if (board.sortKey === 'sym') syms.sort((a, b) => dir * a.localeCompare(b));
  if (board.sortKey === 'pct') {
    syms.sort((a, b) => dir * (board.rows.get(a).pct - board.rows.get(b).pct) || a.localeCompare(b));
  }
  return syms;
}

function renderOrder() {
  board.lastSort = performance.now();
  const syms = sortedSymbols();
  const visible = new Set(syms);
  for (const r of board.rows.values()) {
    const hide = !visible.has(r.sym);
    if (r.el && r.el.tr.hidden !== hide) r.el.tr.hidden = hide;
  }
  const order = syms.map((s) => board.rows.get(s).el.tr);
  const same = order.length === shownOrder.length && order.every((tr, i) => tr === shownOrder[i]);
  if (!same) {
    const focused = document.activeElement;
    // Hidden rows go last; visible ones in sorted order.
    let anchor = tbody.firstChild;
    for (const tr of order) {
      if (tr !== anchor) tbody.insertBefore(tr, anchor);
      else anchor = anchor.nextSibling;
    }
    if (focused && focused !== document.activeElement && tbody.contains(focused)) focused.focus({ preventScroll: true });
    shownOrder = order;
  }
  document.getElementById('board-empty').hidden = syms.length > 0;
  document.getElementById('board-count').textContent =
    syms.length === board.symbols.length ? String(syms.length) : syms.length + ' of ' + board.symbols.length;
  updateRoving();
}

// Exactly one visible row is in the tab order: the focused one, else the selected one, else the first.
function updateRoving() {
  const active = document.activeElement;
  let target = tbody.contains(active) && active.tagName === 'TR' && !active.hidden ? active : null;
  if (!target) {
    const sel = board.rows.get(selection.symbol);
    target = sel && sel.el && !sel.el.tr.hidden ? sel.el.tr : shownOrder[0] || null;
  }
  for (const tr of tbody.children) {
    const want = tr === target ? 0 : -1;
    if (tr.tabIndex !== want) tr.tabIndex = want;
  }
}

// ---------------------------------------------------------------- keyboard

function visibleRows() {
  return shownOrder.filter((tr) => !tr.hidden);
}

function focusRow(tr) {
  if (!tr) return;
  for (const other of tbody.children) other.tabIndex = other === tr ? 0 : -1;
  tr.focus();
}
