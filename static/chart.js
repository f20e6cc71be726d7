// chart.js: the chart of the selected symbol. It loads the symbol's bars
// from /api/history, takes each closed bar from the stream's bar events of
// its interval (the page's subscription asks for them), extends the
// forming bar with the symbol's ticks between closes, and draws the bars
// with Lightweight Charts as candles or a line over volume, at the
// interval and in the view that the buttons above it choose. A closed bar
// on the chart is the server's: a tick never changes one, and a bar event
// replaces whatever the page had for its time.

import { isLive } from './connection.js';
import { rowOf } from './board.js';
import { requestFrame } from './frame.js';
import {
  priceFmt, volumeFmt, timeFmt, minuteFmt, dayFmt,
  price, signed, percentText, directionClass, riseColor, fallColor,
} from './format.js';
import { ticksAfter } from './recent-ticks.js';
import { INTERVALS, selection, writeURL } from './selection.js';

const LWC = window.LightweightCharts;

const MAX_CHART_BARS = 2000;
const MAX_HELD_BARS = 500; // bar events kept while a history request is out
const HISTORY_RETRY_MS = 3000;
const BAR_SPACING = 8; // pixels per bar when a chart is first shown
const LIVE_REDRAW_MS = 100; // the forming bar and the head above the chart are drawn at most this often

const chartModel = {
  sym: null,
  iv: INTERVALS[selection.interval],
  interval: selection.interval, // the interval's name, as bar events carry it
  bars: [], // {t,o,h,l,c,v}, oldest first
  closedThrough: 0, // start of the newest bar known closed: ticks change no bar up to it
  held: [], // bar events of the chart's symbol and interval since its history was asked for
  serverBars: 0, // bar events of the chart's symbol and interval it took in
  loaded: false,
  wantLoad: false,
  inflight: false,
  gen: 0,
  reset: false, // the whole series must be set again
  fit: false, // show the newest bars after the next reset
  pending: [], // bars changed since the last frame, oldest first
  viewChanged: true,
  retryTimer: 0,
  seq: 0, // the newest tick of the symbol the bars include
};

const changed = {
  head: true, // the title, last price, legend and status above the chart
  controls: true, // the interval and view buttons
};

let statusText = '';

let intervalChosen = () => {};

// start listens to the interval and view buttons; chosen is called when
// the chart's interval changes, so that the page's stream asks for its bars.
export function start({ chosen } = {}) {
  if (chosen) intervalChosen = chosen;
  for (const b of document.querySelectorAll('[data-interval]')) b.addEventListener('click', () => chooseInterval(b.dataset.interval));
  for (const b of document.querySelectorAll('[data-view]')) b.addEventListener('click', () => chooseView(b.dataset.view));
  if (!LWC) setStatus('The chart library did not load.');
}

// priceSeries returns the chart's price series (candles, line) once it
// exists, for a module that draws on them (market.js).
export function priceSeries() {
  return candleSeries ? [candleSeries, lineSeries] : [];
}

// loaded reports whether the chart holds the server's bars for its symbol and interval.
export function loaded() {
  return chartModel.loaded;
}

// bars are copies of the chart's bars, oldest first.
export function bars() {
  return chartModel.bars.map((b) => ({ ...b }));
}

// serverBarsApplied counts the bar events of the chart's symbol and
// interval that it took in, whether or not they changed a bar.
export function serverBarsApplied() {
  return chartModel.serverBars;
}

// applyBar takes a bar event of the stream: a closed bar (or one a late
// tick updated) of the chart's symbol and interval replaces the chart's
// bar of that time, or joins the chart where it has none.
export function applyBar(b) {
  const c = chartModel;
  if (b.sym !== c.sym || b.interval !== c.interval) return;
  const bar = { t: b.t, o: b.o, h: b.h, l: b.l, c: b.c, v: b.v };
  if (c.wantLoad) {
    // History asked for may have been written before this bar: it is
    // applied again once the answer is in.
    if (c.held.length >= MAX_HELD_BARS) c.held.shift();
    c.held.push(bar);
  }
  if (c.loaded) serverBar(bar);
}

// applyTick folds t into the newest bar, or starts a bar, when t is the chart's symbol.
export function applyTick(t) {
  if (t.sym === chartModel.sym) chartTick(t);
  if (t.sym === selection.symbol) changed.head = true;
}

// behind reports whether a tick of the chart's symbol numbered seq is
// newer than every tick its loaded bars include.
export function behind(seq) {
  const c = chartModel;
  return c.loaded && c.sym === selection.symbol && seq > c.seq;
}

// showSelected starts the chart again, empty until its history arrives,
// for the selected symbol and interval.
export function showSelected() {
  load(true);
}

// reload asks the server for the chart's bars again, keeping those shown
// until they arrive: ticks may have been skipped.
export function reload() {
  load(false);
}

function load(startOver) {
  const c = chartModel;
  c.gen++;
  c.sym = selection.symbol;
  c.iv = INTERVALS[selection.interval];
  c.interval = selection.interval;
  c.held = [];
  if (startOver) {
    c.bars = [];
    c.closedThrough = 0;
    c.loaded = false;
    c.reset = true;
    c.fit = true;
    c.pending = [];
  }
  c.wantLoad = true;
  c.inflight = false;
  clearTimeout(c.retryTimer);
  if (startOver) setStatus('Loading history…');
  loadHistory();
}

// loadWhenWanted loads history that was wanted while the stream was down.
export function loadWhenWanted() {
  if (chartModel.wantLoad) loadHistory();
}

// redrawHead writes the chart's title, price and legend again in the next frame.
export function redrawHead() {
  changed.head = true;
}

function chooseInterval(name) {
  if (!INTERVALS[name] || name === selection.interval) return;
  selection.interval = name;
  writeURL();
  changed.controls = true;
  load(true);
  intervalChosen();
  requestFrame();
}

function chooseView(view) {
  if (view === selection.view) return;
  selection.view = view;
  writeURL();
  changed.controls = true;
  chartModel.viewChanged = true;
  requestFrame();
}

// ---------------------------------------------------------------- bars

async function loadHistory() {
  const c = chartModel;
  if (!c.wantLoad || c.inflight || !c.sym || !isLive()) return;
  const gen = c.gen;
  const sym = c.sym;
  const name = selection.interval;
  c.inflight = true;
  let body = null;
  let problem = '';
  try {
    const res = await fetch('/api/history?symbol=' + encodeURIComponent(sym) + '&interval=' + name, { cache: 'no-store' });
    body = await res.json();
    if (!res.ok) problem = body.error || 'HTTP ' + res.status;
  } catch (err) {
    problem = 'server unreachable';
  }
  if (gen !== c.gen) return; // the selection changed meanwhile
  c.inflight = false;
  if (problem) {
    setStatus('History unavailable (' + problem + '); retrying');
    c.retryTimer = setTimeout(loadHistory, HISTORY_RETRY_MS);
    return;
  }
  c.wantLoad = false;
  c.bars = body.bars.slice(-MAX_CHART_BARS);
  c.loaded = true;
  c.seq = body.seq;
  c.reset = true;
  c.pending = [];
  // Every bar but the newest is closed; the newest may still be forming.
  if (c.bars.length > 1) c.closedThrough = Math.max(c.closedThrough, c.bars[c.bars.length - 2].t);
  // Bars closed after the server wrote these came as events meanwhile;
  // ticks it had not folded in are in the recent ring, and change only
  // the bars still forming.
  const held = c.held;
  c.held = [];
  for (const b of held) serverBar(b);
  for (const t of ticksAfter(sym, body.seq)) chartTick(t);
  c.pending = [];
  setStatus(c.bars.length ? '' : 'Waiting for the first trade…');
  requestFrame();
}

function chartTick(t) {
  const c = chartModel;
  if (!c.loaded) return;
  c.seq = Math.max(c.seq, t.seq);
  const time = Math.floor(Math.floor(t.ts / 1e9) / c.iv) * c.iv; // the server's UTC-aligned bar start
  if (time <= c.closedThrough) return; // a closed bar is the server's; a late tick's change comes as a bar event
  const last = c.bars[c.bars.length - 1];
  let bar;
  if (last && time === last.t) {
    last.h = Math.max(last.h, t.px);
    last.l = Math.min(last.l, t.px);
    last.c = t.px;
    last.v += t.size;
    bar = last;
  } else if (!last || time > last.t) {
    bar = { t: time, o: t.px, h: t.px, l: t.px, c: t.px, v: t.size };
    c.bars.push(bar);
    if (c.bars.length > MAX_CHART_BARS + 500) {
      c.bars.splice(0, c.bars.length - MAX_CHART_BARS);
      c.reset = true;
    }
    if (c.bars.length === 1) setStatus('');
  } else {
    return; // older than the newest bar: closed bars stay as the server made them
  }
  queue(bar, false);
}

// serverBar puts the server's closed bar b on the chart in place of the
// chart's bar of its time, or among them where the chart has none.
function serverBar(b) {
  const c = chartModel;
  c.closedThrough = Math.max(c.closedThrough, b.t);
  let i = c.bars.length - 1;
  while (i >= 0 && c.bars[i].t > b.t) i--;
  c.serverBars++;
  if (i >= 0 && c.bars[i].t === b.t) {
    const had = c.bars[i];
    if (had.o === b.o && had.h === b.h && had.l === b.l && had.c === b.c && had.v === b.v) return;
    c.bars[i] = b;
  } else {
    if (i < 0 && c.bars.length >= MAX_CHART_BARS) return; // older than every bar kept
    c.bars.splice(i + 1, 0, b);
    i++;
    if (i < c.bars.length - 1) c.reset = true; // a bar between two others: the series is set again
    if (c.bars.length === 1) setStatus('');
  }
  if (legendBar && legendBar.t === b.t) legendBar = b;
  queue(b, i < c.bars.length - 1);
}

// queue hands bar to the next frame's drawing; historical: it is older
// than the chart's newest bar.
function queue(bar, historical) {
  const c = chartModel;
  if (c.reset) return;
  const p = c.pending;
  const prev = p[p.length - 1];
  if (prev && prev.bar === bar) return;
  if (prev && !historical && !prev.historical && prev.bar.t === bar.t) {
    prev.bar = bar; // the same time again: the newer bar is drawn
    return;
  }
  p.push({ bar, historical });
  if (p.length > 200) {
    c.reset = true;
    c.pending = [];
  }
}

function setStatus(text) {
  if (text !== statusText) {
    statusText = text;
    changed.head = true;
    requestFrame();
  }
}

// ---------------------------------------------------------------- drawing

let chart = null;
let candleSeries = null;
let lineSeries = null;
let volumeSeries = null;
let legendBar = null; // bar under the crosshair, or null for the newest

const chartColors = {
  up: riseColor,
  down: fallColor,
  upVol: 'rgba(63, 214, 139, 0.35)',
  downVol: 'rgba(255, 112, 112, 0.35)',
};

function ensureChart() {
  if (chart || !LWC) return;
  chart = LWC.createChart(document.getElementById('chart'), {
    autoSize: true,
    layout: {
      background: { type: LWC.ColorType.Solid, color: '#121821' },
      textColor: '#c5d0dc',
      fontFamily: 'ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace',
      fontSize: 11,
      attributionLogo: false, // the page footer carries the attribution and link
    },
    grid: { vertLines: { color: '#1b2430' }, horzLines: { color: '#1b2430' } },
    rightPriceScale: { borderColor: '#243041', scaleMargins: { top: 0.08, bottom: 0.24 } },
    timeScale: {
      borderColor: '#243041',
      timeVisible: true,
      secondsVisible: true,
      rightOffset: 4,
      barSpacing: BAR_SPACING,
      tickMarkFormatter: (time, type) => {
        const d = new Date(time * 1000);
        if (type <= LWC.TickMarkType.DayOfMonth) return dayFmt.format(d);
        return type === LWC.TickMarkType.Time ? minuteFmt.format(d) : timeFmt.format(d);
      },
    },
    localization: { timeFormatter: (time) => timeFmt.format(new Date(time * 1000)) },
    crosshair: { mode: LWC.CrosshairMode.Normal },
  });
  const priceFormat = { type: 'price', precision: 2, minMove: 0.01 };
  candleSeries = chart.addSeries(LWC.CandlestickSeries, {
    upColor: chartColors.up, downColor: chartColors.down,
    wickUpColor: chartColors.up, wickDownColor: chartColors.down,
    borderVisible: false, priceFormat,
  });
  lineSeries = chart.addSeries(LWC.LineSeries, { color: '#5aa9ff', lineWidth: 2, priceFormat, visible: false });
  volumeSeries = chart.addSeries(LWC.HistogramSeries, {
    priceScaleId: 'volume', priceFormat: { type: 'volume' }, lastValueVisible: false, priceLineVisible: false,
  });
  chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  chart.subscribeCrosshairMove((param) => {
    const next = param.time !== undefined ? chartModel.bars.find((b) => b.t === param.time) || null : null;
    if (next !== legendBar) {
      legendBar = next;
      changed.head = true;
      requestFrame();
    }
  });
}

const candlePoint = (b) => ({ time: b.t, open: b.o, high: b.h, low: b.l, close: b.c });
const linePoint = (b) => ({ time: b.t, value: b.c });
const volumePoint = (b) => ({ time: b.t, value: b.v, color: b.c >= b.o ? chartColors.upVol : chartColors.downVol });

// drawControls shows which interval and view are chosen.
export function drawControls() {
  if (!changed.controls) return;
  changed.controls = false;
  for (const b of document.querySelectorAll('[data-interval]')) b.setAttribute('aria-pressed', String(b.dataset.interval === selection.interval));
  for (const b of document.querySelectorAll('[data-view]')) b.setAttribute('aria-pressed', String(b.dataset.view === selection.view));
}

let liveDrawnAt = -Infinity;

// draw hands the chart the bars that changed, then writes the head above
// it; what ticks change (the forming bar, the last price) at most every
// LIVE_REDRAW_MS, so that a symbol of hundreds of ticks a second does not
// redraw the chart in every frame.
export function draw(now) {
  const c = chartModel;
  const waiting = !c.viewChanged && !c.reset && now - liveDrawnAt < LIVE_REDRAW_MS;
  if (waiting) {
    if (c.pending.length || changed.head) requestFrame();
    return;
  }
  liveDrawnAt = now;
  renderChart();
  if (changed.head) {
    changed.head = false;
    renderChartHead();
  }
}

function renderChart() {
  ensureChart();
  if (!chart) return;
  const c = chartModel;
  if (c.viewChanged) {
    c.viewChanged = false;
    candleSeries.applyOptions({ visible: selection.view === 'candles' });
    lineSeries.applyOptions({ visible: selection.view === 'line' });
  }
  if (c.reset) {
    c.reset = false;
    c.pending = [];
    candleSeries.setData(c.bars.map(candlePoint));
    lineSeries.setData(c.bars.map(linePoint));
    volumeSeries.setData(c.bars.map(volumePoint));
    if (c.fit && c.loaded) {
      c.fit = false;
      // Show the newest bars at a readable width; fewer bars keep that width
      // and fill the chart from the right as they arrive.
      const ts = chart.timeScale();
      const n = c.bars.length;
      const fits = Math.max(20, Math.floor(document.getElementById('chart').clientWidth / BAR_SPACING));
      if (n > fits) {
        ts.setVisibleLogicalRange({ from: n - fits, to: n + 4 });
      } else {
        ts.applyOptions({ barSpacing: BAR_SPACING });
        ts.scrollToRealTime();
      }
    }
    changed.head = true;
    return;
  }
  if (c.pending.length) {
    for (const { bar: b, historical } of c.pending) {
      candleSeries.update(candlePoint(b), historical);
      lineSeries.update(linePoint(b), historical);
      volumeSeries.update(volumePoint(b), historical);
    }
    c.pending = [];
    changed.head = true;
  }
}

function renderChartHead() {
  const r = rowOf(selection.symbol);
  const sym = selection.symbol;
  document.getElementById('chart-symbol').textContent = sym || '—';
  document.getElementById('chart').setAttribute('aria-label', sym ? selection.view + ' chart of ' + sym + ', ' + selection.interval + ' bars' : 'Price chart');
  const last = document.getElementById('chart-last');
  const change = document.getElementById('chart-change');
  if (r) {
    last.textContent = price(r.px);
    change.textContent = r.px > 0 ? signed(r.chg) + '  (' + percentText(r.pct) + ')' : '';
    change.className = 'chart-change num ' + directionClass(r.chg);
  }
  const b = legendBar || chartModel.bars[chartModel.bars.length - 1];
  document.getElementById('chart-legend').textContent = b
    ? timeFmt.format(new Date(b.t * 1000)) + '  O ' + priceFmt.format(b.o) + '  H ' + priceFmt.format(b.h) +
      '  L ' + priceFmt.format(b.l) + '  C ' + priceFmt.format(b.c) + '  V ' + volumeFmt.format(b.v)
    : '';
  document.getElementById('chart-status').textContent = statusText;
}
