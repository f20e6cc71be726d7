// market.js: the market on the page. It shows the market's session in the
// header, with the time to the next open or close; marks halted and paused
// symbols on the board (a data-halted attribute on their rows, which the
// style sheet labels) and above the chart; and draws the selected symbol's
// LULD bands on the chart. It learns the session and the schedule from
// GET /api/market, asked when the stream opens and at every change of
// session, and keeps up with the status and bands events of the page's
// stream. Between answers the market's clock is taken to run at the pace
// of the browser's.

import { requestFrame } from './frame.js';
import { selection } from './selection.js';
import { priceSeries } from './chart.js';

const SESSION_LABELS = { pre: 'Pre-market', trading: 'Regular session', post: 'After-hours', closed: 'Market closed' };

const market = {
  mode: '', // always | exchange; '' until /api/market answers
  session: '',
  nextOpen: 0, // market time, ms
  nextClose: 0,
  offsetMs: 0, // market time minus Date.now(), as of the last answer
  halted: new Map(), // sym -> {state, reason}
  bands: new Map(), // sym -> {lower, upper, ref}
  changed: true,
};

let headEl = null;
let chartHaltEl = null;
let drawnBands = { sym: null, key: '', lines: [] };

// start puts the session into the header and asks for the schedule.
export function start() {
  const conn = document.getElementById('conn');
  headEl = document.createElement('div');
  headEl.id = 'market';
  headEl.className = 'market';
  headEl.setAttribute('role', 'status');
  if (conn) conn.before(headEl);
  const title = document.querySelector('.chart-title');
  chartHaltEl = document.createElement('span');
  chartHaltEl.id = 'chart-halt';
  chartHaltEl.className = 'chart-halt';
  chartHaltEl.hidden = true;
  if (title) title.append(chartHaltEl);
}

// refresh asks for the session and the schedule again.
export async function refresh() {
  try {
    const res = await fetch('/api/market', { cache: 'no-store' });
    if (!res.ok) return;
    const m = await res.json();
    market.mode = m.mode;
    if (!market.session || m.session) market.session = m.session;
    market.offsetMs = Date.parse(m.now) - Date.now();
    market.nextOpen = m.next_open ? Date.parse(m.next_open) : 0;
    market.nextClose = m.next_close ? Date.parse(m.next_close) : 0;
    market.changed = true;
    requestFrame();
  } catch {
    // The stream's indicator says when the server is away; the next refresh tries again.
  }
}

// applySnapshot takes the market's part of a snapshot.
export function applySnapshot(s) {
  if (s.market) market.session = s.market.state;
  if (s.status) {
    market.halted.clear();
    for (const st of s.status) applyStatus(st);
  }
  if (s.bands) {
    market.bands.clear();
    for (const b of s.bands) market.bands.set(b.sym, b);
  }
  market.changed = true;
  requestFrame();
}

// apply takes a status or bands event.
export function apply(kind, body) {
  if (kind === 'status') {
    if (body.sym) {
      applyStatus(body);
    } else {
      market.session = body.state;
      if (body.state !== 'trading') market.bands.clear();
      refresh(); // the next open or close has moved on
    }
  } else if (kind === 'bands') {
    market.bands.set(body.sym, body);
  }
  market.changed = true;
  requestFrame();
}

function applyStatus(st) {
  if (st.state === 'halted' || st.state === 'paused') {
    market.halted.set(st.sym, { state: st.state, reason: st.reason });
    market.bands.delete(st.sym);
  } else {
    market.halted.delete(st.sym);
  }
}

// draw brings the header, the board's marks and the chart's bands up to
// date; it runs every frame, as rows and the selection change under it.
export function draw() {
  drawHeader();
  for (const tr of document.querySelectorAll('#rows tr[data-sym]')) {
    const h = market.halted.get(tr.dataset.sym);
    if (h) {
      if (tr.dataset.halted !== h.state) tr.dataset.halted = h.state;
    } else if (tr.dataset.halted) {
      delete tr.dataset.halted;
    }
  }
  drawChart();
}

let headText = '';
let headSecond = -1;

function drawHeader() {
  if (!headEl || !market.session) return;
  const now = Date.now() + market.offsetMs;
  const second = Math.floor(now / 1000);
  if (!market.changed && second === headSecond) return;
  headSecond = second;
  let text = SESSION_LABELS[market.session] || market.session;
  if (market.mode === 'always') {
    text = 'Trading around the clock';
  } else if (market.session === 'trading' && market.nextClose) {
    text += ' · closes in ' + until(market.nextClose - now);
  } else if (market.nextOpen) {
    text += ' · opens in ' + until(market.nextOpen - now);
  }
  headEl.dataset.session = market.session;
  if (text !== headText) {
    headText = text;
    headEl.textContent = text;
  }
}

// until writes a span of time as the header shows it: 2d 3h, 1h 02m, 4m 05s.
function until(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(s % 60)}s`;
}

function drawChart() {
  const sym = selection.symbol;
  const h = sym ? market.halted.get(sym) : null;
  if (chartHaltEl) {
    const text = h ? (h.state === 'paused' ? 'Paused · LULD' : 'Halted · ' + h.reason) : '';
    if (chartHaltEl.textContent !== text) chartHaltEl.textContent = text;
    chartHaltEl.hidden = !h;
  }
  const series = priceSeries();
  const b = sym ? market.bands.get(sym) : null;
  const key = b && series.length ? `${b.lower}/${b.upper}` : '';
  if (sym === drawnBands.sym && key === drawnBands.key) return;
  for (const [s, line] of drawnBands.lines) s.removePriceLine(line);
  drawnBands = { sym, key, lines: [] };
  if (!key) return;
  for (const s of series) {
    for (const [price, title] of [[b.upper, 'LULD up'], [b.lower, 'LULD down']]) {
      drawnBands.lines.push([s, s.createPriceLine({ price, title, color: '#e0a040', lineWidth: 1, lineStyle: 2, axisLabelVisible: true })]);
    }
  }
}

// view is a read-only view of the market, for tests and the console.
export const view = Object.freeze({
  get mode() { return market.mode; },
  get session() { return market.session; },
  get header() { return headText; },
  get halted() { return [...market.halted.keys()]; },
  get bands() { return Object.fromEntries(market.bands); },
  get chartBands() { return drawnBands.key; },
});
