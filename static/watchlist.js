// watchlist.js: the symbols a person pinned and which of the board's two
// views they look at, the watchlist or the whole market, both kept in the
// browser's localStorage so that a reload, and every other tab of the
// page, shows the same. A newcomer, with nothing pinned, sees the market.

const PINS_KEY = 'tickerd.watchlist';
const VIEW_KEY = 'tickerd.view';

const pins = new Set(read(PINS_KEY, []).filter((s) => typeof s === 'string'));
let view = read(VIEW_KEY, '') === 'watchlist' && pins.size ? 'watchlist' : 'market';
const listeners = [];

function read(key, otherwise) {
  try {
    const v = JSON.parse(localStorage.getItem(key));
    return v === null ? otherwise : v;
  } catch {
    return otherwise; // storage off, or a value the page did not write
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage is off or full: the watchlist lasts as long as the tab.
  }
}

// onChange calls f when the pins or the view change, here or in another tab.
export function onChange(f) {
  listeners.push(f);
}

function changed() {
  for (const f of listeners) f();
}

// isPinned reports whether sym is on the watchlist.
export function isPinned(sym) {
  return pins.has(sym);
}

// pinned are the watchlist's symbols, in the order they were pinned.
export function pinned() {
  return [...pins];
}

// togglePin pins sym, or unpins it when it is pinned.
export function togglePin(sym) {
  if (pins.has(sym)) pins.delete(sym);
  else pins.add(sym);
  write(PINS_KEY, [...pins]);
  changed();
}

// currentView is 'watchlist' or 'market'.
export function currentView() {
  return view;
}

// chooseView shows the watchlist or the market.
export function chooseView(next) {
  if (next !== 'watchlist' && next !== 'market') return;
  view = next;
  write(VIEW_KEY, view);
  changed();
}

// Another tab pinned, unpinned or switched views: follow it.
window.addEventListener('storage', (e) => {
  if (e.key === PINS_KEY) {
    pins.clear();
    for (const s of read(PINS_KEY, [])) if (typeof s === 'string') pins.add(s);
    changed();
  }
});
