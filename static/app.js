// tickerd live page: a ticker board and a chart fed by one EventSource.
//
// Events from the server only change the in-memory state below and mark it
// dirty; one requestAnimationFrame callback then writes the DOM and the chart,
// so the page does the same work per frame at any tick rate.

const LWC = window.LightweightCharts;

const INTERVALS = { '1s': 1, '5s': 5, '1m': 60, '5m': 300 };
const DEFAULT_INTERVAL = '5s';
const DEFAULT_VIEW = 'candles';
const SPARK_POINTS = 90; // one point per second of tick time
const SPARK_MIN_SPAN = 20; // points that fill the sparkline's width until more arrive
const SPARK_REDRAW_MS = 250;
const RECENT_TICKS = 4096; // kept to merge live ticks into a history answer
const MAX_CHART_BARS = 2000;
const OFFLINE_AFTER_MS = 10000; // reconnecting this long shows "offline"; see offlineAfterMs
const SPARK_INTERVAL = '1s'; // history bars that backfill sparklines: one point per second, as live ticks make
const SPARK_FETCHES = 3; // backfill requests in flight at once, leaving connections for the stream and the chart
const RESORT_MS = 1000; // a board sorted by change % re-sorts at most this often
const HISTORY_RETRY_MS = 3000;
const BAR_SPACING = 8; // pixels per bar when a chart is first shown

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- state

const state = {
  conn: 'connecting', // connecting | live | reconnecting | offline
  downSince: performance.now(),
  lastTickAt: 0, // Date.now() of the newest tick received
  lastSeq: 0,
  haveSnapshot: false,
  ticksSeen: 0,
  gaps: 0,
  resyncs: 0,
  snapshots: 0,
  conflated: 0, // ticks the server announced it skipped
  duplicates: 0,
  lossAllowance: 0, // ticks after a conflation notice whose sequence may jump
  frames: 0,

  symbols: [], // universe order, from the snapshot
  rows: new Map(), // symbol -> row
  selected: null,
  interval: DEFAULT_INTERVAL,
  view: DEFAULT_VIEW,
  filter: '',
  sortKey: null, // null (universe order) | 'sym' | 'pct'
  sortDir: 1,
  lastSort: 0,
};

// Recent ticks of every symbol, newest last, as a ring.
const recent = { buf: new Array(RECENT_TICKS), next: 0, size: 0 };

const dirty = {
  rebuild: false, // the set of symbols changed
  rows: new Set(),
  sparks: new Set(),
  order: false,
  conn: true,
  controls: true,
  chartHead: true,
};

let frameRequested = false;
function markDirty() {
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(render);
  }
}

// ---------------------------------------------------------------- formatting

const priceFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const signedFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' });
const volFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const minuteFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

const price = (v) => (v > 0 ? priceFmt.format(v) : '—');
const signed = (v) => signedFmt.format(v);
const pctText = (v) => signedFmt.format(v) + '%';
const dirClass = (v) => (v > 0 ? 'up' : v < 0 ? 'down' : '');

function ageText(ms) {
  if (ms < 10000) return (ms / 1000).toFixed(1) + ' s ago';
  if (ms < 120000) return Math.round(ms / 1000) + ' s ago';
  return Math.round(ms / 60000) + ' min ago';
}

// ---------------------------------------------------------------- rows

function newRow(sym) {
  return {
    sym, px: 0, bid: 0, ask: 0, open: 0, high: 0, low: 0, chg: 0, pct: 0, vol: 0, seq: 0,
    flash: 0, flashGen: 0,
    spark: [], sparkSec: 0, sparkDrawnAt: 0, sparkEpoch: 0,
    el: null, shown: {},
  };
}

function applyQuote(r, q) {
  r.px = q.px; r.bid = q.bid; r.ask = q.ask;
  r.open = q.open; r.high = q.high; r.low = q.low;
  r.chg = q.chg; r.pct = q.chg_pct; r.vol = q.vol; r.seq = q.seq;
  r.flash = 0;
  r.spark = q.seq > 0 && q.px > 0 ? [q.px] : [];
  r.sparkSec = q.seq > 0 ? Math.floor(q.ts / 1e9) : 0;
  r.sparkEpoch++;
  dirty.rows.add(r);
  dirty.sparks.add(r);
}

function applyTick(r, t) {
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
  sparkAdd(r, Math.floor(t.ts / 1e9), t.px);
  dirty.rows.add(r);
  dirty.sparks.add(r);
}

// sparkAdd puts the price of second sec into r's sparkline: the last point
// while sec is its second, a new point for a later second; earlier seconds
// are already drawn.
function sparkAdd(r, sec, px) {
  if (r.spark.length && sec === r.sparkSec) {
    r.spark[r.spark.length - 1] = px;
  } else if (!r.spark.length || sec > r.sparkSec) {
    r.spark.push(px);
    if (r.spark.length > SPARK_POINTS) r.spark.shift();
    r.sparkSec = sec;
  }
}

// ---------------------------------------------------------------- sparkline backfill

// Once the board is known, each sparkline is filled once from the symbol's
// one-second bars, so a freshly opened board shows the last minute and a
// half rather than only what arrives after it.
const backfill = {
  queue: [], // symbols waiting for their history
  retry: [], // symbols whose request failed, asked again when the stream next opens
  inflight: 0,
  done: new Set(), // symbols whose sparkline has been backfilled (or has nothing to backfill)
};

function queueBackfill() {
  const waiting = new Set([...backfill.queue, ...backfill.retry]);
  for (const sym of state.symbols) {
    if (!backfill.done.has(sym) && !waiting.has(sym)) backfill.queue.push(sym);
  }
  pumpBackfill();
}

// pumpBackfill starts requests, at most SPARK_FETCHES at a time, while the stream is live.
function pumpBackfill() {
  while (backfill.inflight < SPARK_FETCHES && backfill.queue.length && state.conn === 'live') {
    backfillSpark(backfill.queue.shift());
  }
}

function retryBackfill() {
  backfill.queue.push(...backfill.retry);
  backfill.retry = [];
  pumpBackfill();
}

async function backfillSpark(sym) {
  const r = state.rows.get(sym);
  if (!r) return;
  const epoch = r.sparkEpoch;
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
  if (state.rows.get(sym) !== r) {
    // The symbol left the board meanwhile: nothing to fill.
  } else if (!body || res.status >= 500) {
    backfill.retry.push(sym);
  } else if (r.sparkEpoch !== epoch) {
    backfill.queue.push(sym); // a snapshot restarted the sparkline meanwhile: ask again
  } else {
    if (res.ok) mergeSparkHistory(r, body); // a symbol the server refuses keeps its live sparkline
    backfill.done.add(sym);
  }
  pumpBackfill();
}

// mergeSparkHistory rebuilds r's sparkline from the closes of history's bars
// and then the symbol's ticks newer than history.seq, which the bars lack.
function mergeSparkHistory(r, history) {
  if (!history.bars.length) return;
  const oldest = recent.buf[(recent.next - recent.size + RECENT_TICKS) % RECENT_TICKS];
  if (recent.size === RECENT_TICKS && oldest.seq > history.seq + 1) return; // ticks since the answer fell out of the ring
  r.spark = [];
  r.sparkSec = 0;
  for (const b of history.bars.slice(-SPARK_POINTS)) sparkAdd(r, b.t, b.c);
  for (let i = 0; i < recent.size; i++) {
    const t = recent.buf[(recent.next - recent.size + i + RECENT_TICKS) % RECENT_TICKS];
    if (t.sym === r.sym && t.seq > history.seq) sparkAdd(r, Math.floor(t.ts / 1e9), t.px);
  }
  dirty.sparks.add(r);
  markDirty();
}

// ---------------------------------------------------------------- stream

let source = null;
let retryTimer = 0;
let retryDelay = 2000;

function connect() {
  clearTimeout(retryTimer);
  if (source) source.close();
  // A browser's own reconnect sends Last-Event-ID; a new EventSource after a
  // fatal error resumes through the query parameter instead.
  const url = state.lastSeq > 0 ? '/events?lastEventId=' + state.lastSeq : '/events';
  const es = new EventSource(url);
  source = es;
  es.addEventListener('open', () => {
    if (es !== source) return;
    retryDelay = 2000;
    setConn('live');
    if (chartModel.wantLoad) loadHistory();
    retryBackfill();
  });
  es.addEventListener('error', () => {
    if (es !== source) return;
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (an answer other than a 200 event stream): retry ourselves.
      retryTimer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    }
    setConn('reconnecting');
  });
  es.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
  es.addEventListener('tick', (e) => onTick(JSON.parse(e.data)));
  es.addEventListener('conflated', (e) => onConflated(JSON.parse(e.data)));
}

function setConn(next) {
  if (next === 'reconnecting' && (state.conn === 'reconnecting' || state.conn === 'offline')) return;
  if (next !== 'live' && state.conn === 'live') state.downSince = performance.now();
  if (next === 'reconnecting' && !navigator.onLine) next = 'offline';
  state.conn = next;
  dirty.conn = true;
  markDirty();
}

function onSnapshot(s) {
  state.snapshots++;
  const first = !state.haveSnapshot;
  const regressed = !first && s.seq < state.lastSeq; // a restarted server counts afresh
  const names = s.quotes.map((q) => q.sym);
  const sameSymbols = names.length === state.symbols.length && names.every((n, i) => n === state.symbols[i]);
  if (s.resync || regressed) state.resyncs++;

  if (first || s.resync || regressed || !sameSymbols) {
    if (!sameSymbols) {
      state.symbols = names;
      const rows = new Map();
      for (const n of names) rows.set(n, state.rows.get(n) || newRow(n));
      state.rows = rows;
      dirty.rebuild = true;
    }
    for (const q of s.quotes) applyQuote(state.rows.get(q.sym), q);
    state.lastSeq = s.seq;
    state.lossAllowance = 0;
  } else {
    // The same stream resumed: keep what is newer.
    for (const q of s.quotes) {
      const r = state.rows.get(q.sym);
      if (q.seq > r.seq) applyQuote(r, q);
    }
    state.lastSeq = Math.max(state.lastSeq, s.seq);
  }
  state.haveSnapshot = true;
  dirty.order = true;

  if (first) {
    const wanted = readURL().symbol;
    select(state.rows.has(wanted) ? wanted : state.symbols[0], { focus: false });
  } else {
    if (!state.rows.has(state.selected)) select(state.symbols[0], { focus: false });
    else reloadChart(); // ticks may have been skipped: take the server's bars
  }
  queueBackfill(); // after the chart's request, which must not wait behind these
  markDirty();
}

function onTick(t) {
  if (state.haveSnapshot) {
    if (t.seq <= state.lastSeq) {
      state.duplicates++;
      return;
    }
    if (t.seq !== state.lastSeq + 1 && state.lossAllowance === 0) state.gaps++;
  }
  if (state.lossAllowance > 0) state.lossAllowance--;
  state.lastSeq = t.seq;
  state.ticksSeen++;
  state.lastTickAt = Date.now();

  recent.buf[recent.next] = t;
  recent.next = (recent.next + 1) % RECENT_TICKS;
  recent.size = Math.min(recent.size + 1, RECENT_TICKS);

  const r = state.rows.get(t.sym);
  if (r) applyTick(r, t);
  if (t.sym === chartModel.sym) chartTick(t);
  if (t.sym === state.selected) dirty.chartHead = true;
  if (state.sortKey === 'pct') maybeResort();
  markDirty();
}

function onConflated(c) {
  // The server skipped ticks for this page; the latest of each symbol follow,
  // with jumps in sequence that are announced, not lost.
  state.conflated += c.dropped;
  state.lossAllowance = state.symbols.length + 1;
  reloadChart();
}

// ---------------------------------------------------------------- selection and URL

function readURL() {
  const p = new URLSearchParams(location.search);
  return {
    symbol: (p.get('symbol') || '').toUpperCase(),
    interval: INTERVALS[p.get('interval')] ? p.get('interval') : DEFAULT_INTERVAL,
    view: p.get('view') === 'line' ? 'line' : DEFAULT_VIEW,
  };
}

function writeURL() {
  const p = new URLSearchParams();
  if (state.selected) p.set('symbol', state.selected);
  if (state.interval !== DEFAULT_INTERVAL) p.set('interval', state.interval);
  if (state.view !== DEFAULT_VIEW) p.set('view', state.view);
  const search = '?' + p.toString();
  if (search !== location.search) history.replaceState(null, '', location.pathname + search);
}

function select(sym, { focus } = { focus: false }) {
  if (!sym) return;
  const changed = sym !== state.selected;
  state.selected = sym;
  writeURL();
  dirty.controls = true;
  dirty.chartHead = true;
  pendingFocus = focus ? sym : pendingFocus;
  for (const r of state.rows.values()) dirty.rows.add(r);
  if (changed) reloadChart(true);
  markDirty();
}

function chooseInterval(name) {
  if (!INTERVALS[name] || name === state.interval) return;
  state.interval = name;
  writeURL();
  dirty.controls = true;
  reloadChart(true);
  markDirty();
}

function chooseView(view) {
  if (view === state.view) return;
  state.view = view;
  writeURL();
  dirty.controls = true;
  chartModel.viewChanged = true;
  markDirty();
}

function chooseSort(key) {
  if (state.sortKey === key) {
    state.sortDir = -state.sortDir;
  } else {
    state.sortKey = key;
    state.sortDir = key === 'pct' ? -1 : 1; // biggest gainers first
  }
  dirty.order = true;
  dirty.controls = true;
  markDirty();
}

function maybeResort() {
  if (performance.now() - state.lastSort >= RESORT_MS) dirty.order = true;
}

// ---------------------------------------------------------------- chart model

const chartModel = {
  sym: null,
  iv: INTERVALS[DEFAULT_INTERVAL],
  bars: [], // {t,o,h,l,c,v}, oldest first
  loaded: false,
  wantLoad: false,
  inflight: false,
  gen: 0,
  reset: false, // the whole series must be set again
  fit: false, // show the newest bars after the next reset
  pending: [], // bars changed since the last frame, oldest first
  viewChanged: true,
  retryTimer: 0,
};

function reloadChart(newKey = false) {
  const c = chartModel;
  c.gen++;
  c.sym = state.selected;
  c.iv = INTERVALS[state.interval];
  if (newKey) {
    c.bars = [];
    c.loaded = false;
    c.reset = true;
    c.fit = true;
    c.pending = [];
  }
  c.wantLoad = true;
  c.inflight = false;
  clearTimeout(c.retryTimer);
  if (newKey) setChartStatus('Loading history…');
  loadHistory();
}

async function loadHistory() {
  const c = chartModel;
  if (!c.wantLoad || c.inflight || !c.sym || state.conn !== 'live') return;
  const gen = c.gen;
  const sym = c.sym;
  const name = state.interval;
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
    setChartStatus('History unavailable (' + problem + '); retrying');
    c.retryTimer = setTimeout(loadHistory, HISTORY_RETRY_MS);
    return;
  }
  c.wantLoad = false;
  c.bars = body.bars.slice(-MAX_CHART_BARS);
  c.loaded = true;
  c.reset = true;
  c.pending = [];
  // Ticks the server had not folded into these bars are in the recent ring.
  for (let i = 0; i < recent.size; i++) {
    const t = recent.buf[(recent.next - recent.size + i + RECENT_TICKS) % RECENT_TICKS];
    if (t.sym === sym && t.seq > body.seq) chartTick(t);
  }
  c.pending = [];
  setChartStatus(c.bars.length ? '' : 'Waiting for the first trade…');
  markDirty();
}

function chartTick(t) {
  const c = chartModel;
  if (!c.loaded) return;
  const time = Math.floor(Math.floor(t.ts / 1e9) / c.iv) * c.iv; // the server's UTC-aligned bar start
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
    if (c.bars.length === 1) setChartStatus('');
  } else {
    return; // older than the newest bar: closed bars stay as the server made them
  }
  if (c.reset) return;
  const p = c.pending;
  if (p.length && p[p.length - 1] === bar) return;
  p.push(bar);
  if (p.length > 200) {
    c.reset = true;
    c.pending = [];
  }
}

let chartStatusText = '';
function setChartStatus(text) {
  if (text !== chartStatusText) {
    chartStatusText = text;
    dirty.chartHead = true;
    markDirty();
  }
}

// ---------------------------------------------------------------- chart view

let chart = null;
let candleSeries = null;
let lineSeries = null;
let volumeSeries = null;
let legendBar = null; // bar under the crosshair, or null for the newest

const chartColors = {
  up: '#3fd68b',
  down: '#ff7070',
  upVol: 'rgba(63, 214, 139, 0.35)',
  downVol: 'rgba(255, 112, 112, 0.35)',
};

function ensureChart() {
  if (chart || !LWC) return;
  chart = LWC.createChart($('chart'), {
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
      dirty.chartHead = true;
      markDirty();
    }
  });
}

const candlePoint = (b) => ({ time: b.t, open: b.o, high: b.h, low: b.l, close: b.c });
const linePoint = (b) => ({ time: b.t, value: b.c });
const volumePoint = (b) => ({ time: b.t, value: b.v, color: b.c >= b.o ? chartColors.upVol : chartColors.downVol });

function renderChart() {
  ensureChart();
  if (!chart) return;
  const c = chartModel;
  if (c.viewChanged) {
    c.viewChanged = false;
    candleSeries.applyOptions({ visible: state.view === 'candles' });
    lineSeries.applyOptions({ visible: state.view === 'line' });
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
      const fits = Math.max(20, Math.floor($('chart').clientWidth / BAR_SPACING));
      if (n > fits) {
        ts.setVisibleLogicalRange({ from: n - fits, to: n + 4 });
      } else {
        ts.applyOptions({ barSpacing: BAR_SPACING });
        ts.scrollToRealTime();
      }
    }
    dirty.chartHead = true;
    return;
  }
  if (c.pending.length) {
    for (const b of c.pending) {
      candleSeries.update(candlePoint(b));
      lineSeries.update(linePoint(b));
      volumeSeries.update(volumePoint(b));
    }
    c.pending = [];
    dirty.chartHead = true;
  }
}

function renderChartHead() {
  const r = state.rows.get(state.selected);
  $('chart-symbol').textContent = state.selected || '—';
  $('chart').setAttribute('aria-label', state.selected ? state.view + ' chart of ' + state.selected + ', ' + state.interval + ' bars' : 'Price chart');
  const last = $('chart-last');
  const change = $('chart-change');
  if (r) {
    last.textContent = price(r.px);
    change.textContent = r.px > 0 ? signed(r.chg) + '  (' + pctText(r.pct) + ')' : '';
    change.className = 'chart-change num ' + dirClass(r.chg);
  }
  const b = legendBar || chartModel.bars[chartModel.bars.length - 1];
  $('chart-legend').textContent = b
    ? timeFmt.format(new Date(b.t * 1000)) + '  O ' + priceFmt.format(b.o) + '  H ' + priceFmt.format(b.h) +
      '  L ' + priceFmt.format(b.l) + '  C ' + priceFmt.format(b.c) + '  V ' + volFmt.format(b.v)
    : '';
  $('chart-status').textContent = chartStatusText;
}

// ---------------------------------------------------------------- board view

const tbody = $('rows');
let sparkWidth = 80;
let sparkHeight = 22;
let pendingFocus = null;
let shownOrder = [];

function cell(tr, cls) {
  const td = document.createElement('td');
  td.className = cls;
  tr.appendChild(td);
  return td;
}

function buildRows() {
  tbody.textContent = '';
  shownOrder = [];
  for (const sym of state.symbols) {
    const r = state.rows.get(sym);
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
    dirty.rows.add(r);
    dirty.sparks.add(r);
  }
  measureSparks();
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
  setText(r, 'pct', e.pct, r.px > 0 ? pctText(r.pct) : '');
  setText(r, 'bid', e.bid, price(r.bid));
  setText(r, 'ask', e.ask, price(r.ask));
  setClass(r, 'chgc', e.chg, 'c-chg ' + dirClass(r.chg));
  setClass(r, 'pctc', e.pct, 'c-pct ' + dirClass(r.pct));
  if (r.flash) {
    r.flashGen ^= 1;
    e.last.className = 'c-last flash-' + (r.flash > 0 ? 'up' : 'down') + '-' + r.flashGen;
    r.flash = 0;
  }
  const selected = r.sym === state.selected;
  if (r.shown.selected !== selected) {
    r.shown.selected = selected;
    if (selected) e.tr.setAttribute('aria-current', 'true');
    else e.tr.removeAttribute('aria-current');
  }
}

function measureSparks() {
  const first = state.symbols.length && state.rows.get(state.symbols[0]).el;
  if (!first) return;
  const box = first.canvas.getBoundingClientRect();
  if (box.width > 0) {
    sparkWidth = Math.round(box.width);
    sparkHeight = Math.round(box.height);
  }
  for (const r of state.rows.values()) dirty.sparks.add(r);
  markDirty();
}

function drawSpark(r) {
  const canvas = r.el.canvas;
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(sparkWidth * dpr);
  const h = Math.round(sparkHeight * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, w, h);
  const pts = r.spark;
  if (pts.length < 2) return;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of pts) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (r.open > 0) {
    lo = Math.min(lo, r.open);
    hi = Math.max(hi, r.open);
  }
  const span = hi - lo || 1;
  const pad = 2 * dpr;
  // Few points spread over part of the width, growing leftwards to the full window.
  const step = (w - 2 * pad) / (Math.max(pts.length, SPARK_MIN_SPAN) - 1);
  const x0 = w - pad - (pts.length - 1) * step;
  const y = (v) => h - pad - ((v - lo) / span) * (h - 2 * pad);
  if (r.open > 0) {
    ctx.strokeStyle = 'rgba(163, 177, 194, 0.35)';
    ctx.lineWidth = dpr;
    ctx.setLineDash([2 * dpr, 2 * dpr]);
    ctx.beginPath();
    ctx.moveTo(pad, y(r.open));
    ctx.lineTo(w - pad, y(r.open));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.strokeStyle = pts[pts.length - 1] >= (r.open || pts[0]) ? chartColors.up : chartColors.down;
  ctx.lineWidth = 1.5 * dpr;
  ctx.lineJoin = 'round';
  ctx.beginPath();
  pts.forEach((v, i) => (i ? ctx.lineTo(x0 + i * step, y(v)) : ctx.moveTo(x0, y(v))));
  ctx.stroke();
}

function sortedSymbols() {
  const syms = state.symbols.filter((s) => !state.filter || s.includes(state.filter));
  const dir = state.sortDir;
  if (state.sortKey === 'sym') syms.sort((a, b) => dir * a.localeCompare(b));
  if (state.sortKey === 'pct') {
    syms.sort((a, b) => dir * (state.rows.get(a).pct - state.rows.get(b).pct) || a.localeCompare(b));
  }
  return syms;
}

function renderOrder() {
  state.lastSort = performance.now();
  const syms = sortedSymbols();
  const visible = new Set(syms);
  for (const r of state.rows.values()) {
    const hide = !visible.has(r.sym);
    if (r.el && r.el.tr.hidden !== hide) r.el.tr.hidden = hide;
  }
  const order = syms.map((s) => state.rows.get(s).el.tr);
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
  $('board-empty').hidden = syms.length > 0;
  $('board-count').textContent = syms.length === state.symbols.length ? String(syms.length) : syms.length + ' of ' + state.symbols.length;
  updateRoving();
}

// Exactly one visible row is in the tab order: the focused one, else the selected one, else the first.
function updateRoving() {
  const active = document.activeElement;
  let target = tbody.contains(active) && active.tagName === 'TR' && !active.hidden ? active : null;
  if (!target) {
    const sel = state.rows.get(state.selected);
    target = sel && sel.el && !sel.el.tr.hidden ? sel.el.tr : shownOrder[0] || null;
  }
  for (const tr of tbody.children) {
    const want = tr === target ? 0 : -1;
    if (tr.tabIndex !== want) tr.tabIndex = want;
  }
}

function renderControls() {
  for (const b of document.querySelectorAll('[data-interval]')) b.setAttribute('aria-pressed', String(b.dataset.interval === state.interval));
  for (const b of document.querySelectorAll('[data-view]')) b.setAttribute('aria-pressed', String(b.dataset.view === state.view));
  for (const b of document.querySelectorAll('[data-sort]')) {
    const sorted = state.sortKey === b.dataset.sort;
    b.parentElement.setAttribute('aria-sort', sorted ? (state.sortDir > 0 ? 'ascending' : 'descending') : 'none');
  }
}

function renderConn() {
  const el = $('conn');
  if (el.dataset.state !== state.conn) el.dataset.state = state.conn;
  const label = $('conn-label');
  if (label.textContent !== state.conn) label.textContent = state.conn;
  const age = state.lastTickAt ? 'last tick ' + ageText(Math.max(0, Date.now() - state.lastTickAt)) : '';
  const ageEl = $('conn-age');
  if (ageEl.textContent !== age) ageEl.textContent = age;
}

// ---------------------------------------------------------------- frame

function render(now) {
  frameRequested = false;
  state.frames++;
  if (dirty.rebuild) {
    dirty.rebuild = false;
    buildRows();
    dirty.order = true;
  }
  if (dirty.conn) {
    dirty.conn = false;
    renderConn();
  }
  if (dirty.controls) {
    dirty.controls = false;
    renderControls();
  }
  for (const r of dirty.rows) renderRow(r);
  dirty.rows.clear();
  for (const r of dirty.sparks) {
    if (!r.el) {
      dirty.sparks.delete(r);
    } else if (now - r.sparkDrawnAt >= SPARK_REDRAW_MS) {
      r.sparkDrawnAt = now;
      drawSpark(r);
      dirty.sparks.delete(r);
    }
  }
  if (dirty.order) {
    dirty.order = false;
    renderOrder();
  }
  if (pendingFocus) {
    const r = state.rows.get(pendingFocus);
    pendingFocus = null;
    if (r && r.el && !r.el.tr.hidden) {
      r.el.tr.tabIndex = 0;
      r.el.tr.focus();
      updateRoving();
    }
  }
  renderChart();
  if (dirty.chartHead) {
    dirty.chartHead = false;
    renderChartHead();
  }
  if (dirty.sparks.size) markDirty(); // throttled sparklines draw in a later frame
}

// ---------------------------------------------------------------- input

function visibleRows() {
  return shownOrder.filter((tr) => !tr.hidden);
}

function focusRow(tr) {
  if (!tr) return;
  for (const other of tbody.children) other.tabIndex = other === tr ? 0 : -1;
  tr.focus();
}

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

const filterInput = $('filter');
filterInput.addEventListener('input', () => {
  state.filter = filterInput.value.trim().toUpperCase();
  dirty.order = true;
  markDirty();
});
filterInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') {
    const first = sortedSymbols()[0];
    if (first) select(first, { focus: true });
    e.preventDefault();
  } else if (e.key === 'Escape') {
    filterInput.value = '';
    state.filter = '';
    dirty.order = true;
    markDirty();
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

for (const b of document.querySelectorAll('[data-interval]')) b.addEventListener('click', () => chooseInterval(b.dataset.interval));
for (const b of document.querySelectorAll('[data-view]')) b.addEventListener('click', () => chooseView(b.dataset.view));
for (const b of document.querySelectorAll('[data-sort]')) b.addEventListener('click', () => chooseSort(b.dataset.sort));

window.addEventListener('resize', measureSparks);
window.addEventListener('online', () => {
  if (source && source.readyState === EventSource.CLOSED) connect();
  if (state.conn === 'offline') {
    state.conn = 'reconnecting';
    dirty.conn = true;
    markDirty();
  }
});
window.addEventListener('offline', () => {
  if (state.conn !== 'live') setConn('offline');
});

// offlineAfterMs is how long the page reconnects before it shows offline:
// OFFLINE_AFTER_MS, unless the document's data-offline-after attribute gives
// a positive number of milliseconds (the page tests shorten it that way).
function offlineAfterMs() {
  const ms = Number(document.documentElement.dataset.offlineAfter);
  return ms > 0 ? ms : OFFLINE_AFTER_MS;
}

// The connection indicator shows the age of the last tick and turns from
// reconnecting to offline after a while.
setInterval(() => {
  if (state.conn === 'reconnecting' && performance.now() - state.downSince > offlineAfterMs()) state.conn = 'offline';
  if (state.sortKey === 'pct') maybeResort();
  dirty.conn = true;
  markDirty();
}, 250);

// ---------------------------------------------------------------- start

{
  const u = readURL();
  state.interval = u.interval;
  state.view = u.view;
  chartModel.iv = INTERVALS[u.interval];
  if (!LWC) setChartStatus('The chart library did not load.');
}

// A read-only view of the stream's health, for tests and the console.
Object.defineProperty(window, 'tickerd', {
  value: Object.freeze({
    get state() { return state.conn; },
    get lastSeq() { return state.lastSeq; },
    get ticksSeen() { return state.ticksSeen; },
    get gaps() { return state.gaps; },
    get resyncs() { return state.resyncs; },
    get snapshots() { return state.snapshots; },
    get conflated() { return state.conflated; },
    get duplicates() { return state.duplicates; },
    get frames() { return state.frames; },
    get symbols() { return state.symbols.slice(); },
    get selected() { return state.selected; },
    get interval() { return state.interval; },
    get view() { return state.view; },
    get chartLoaded() { return chartModel.loaded; },
    get chartBars() { return chartModel.bars.map((b) => ({ ...b })); },
    get lastTickAgeMs() { return state.lastTickAt ? Date.now() - state.lastTickAt : null; },
    get sparks() { return Object.fromEntries([...state.rows].map(([sym, r]) => [sym, r.spark.slice()])); },
    get sparksBackfilled() { return backfill.done.size; },
  }),
});

connect();
markDirty();
