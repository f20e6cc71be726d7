// selection.js: what the page shows (the selected symbol, the chart's bar
// interval and its view) and the address bar's query that keeps it, e.g.
// ?symbol=AAPL&interval=1m&view=line, so a link or a reload shows the same.

// INTERVALS are the chart's bar intervals by name, in seconds.
export const INTERVALS = { '1s': 1, '5s': 5, '1m': 60, '5m': 300 };
export const DEFAULT_INTERVAL = '5s';
export const DEFAULT_VIEW = 'candles';

// readURL reads the selection from the address bar's query; the symbol
// applies once the board knows its symbols.
export function readURL() {
  const p = new URLSearchParams(location.search);
  return {
    symbol: (p.get('symbol') || '').toUpperCase(),
    interval: INTERVALS[p.get('interval')] ? p.get('interval') : DEFAULT_INTERVAL,
    view: p.get('view') === 'line' ? 'line' : DEFAULT_VIEW,
  };
}

const opened = readURL();

// selection is what the page shows now.
export const selection = {
  symbol: null,
  interval: opened.interval,
  view: opened.view, // candles | line
};

// writeURL puts the selection into the address bar's query, leaving out
// what is the default, without adding to the browser's history. What else
// the query holds stays, e.g. ?transport=ws.
export function writeURL() {
  const p = new URLSearchParams(location.search);
  keep(p, 'symbol', selection.symbol);
  keep(p, 'interval', selection.interval !== DEFAULT_INTERVAL && selection.interval);
  keep(p, 'view', selection.view !== DEFAULT_VIEW && selection.view);
  const search = '?' + p.toString();
  if (search !== location.search) history.replaceState(null, '', location.pathname + search);
}

// keep sets name to value in p, or takes it out when value is empty.
function keep(p, name, value) {
  if (value) p.set(name, value);
  else p.delete(name);
}
