// shared-stream.js: one stream per browser, not one per tab. Every tab of
// the page asks for the Web Lock LOCK; the tab that holds it leads: it
// opens the stream, for what every tab wants, and passes each event on to
// the other tabs over the BroadcastChannel CHANNEL. The others follow:
// they say what they want (the rows on their screen, their selected
// symbol) every HELLO_EVERY_MS, get a snapshot of the leader's quotes when
// they join, and then its events in order. When the leader closes, the
// lock passes to a follower, which opens the stream where its own events
// stopped: the resume point is the same sequence number in every tab, so
// no tick is lost or repeated. Over HTTP/1.1 a browser opens at most six
// connections to an origin; one stream for all tabs leaves the rest for
// history requests. Without Web Locks (a page served over plain HTTP to
// another host is not a secure context) each tab streams for itself.

const LOCK = 'tickerd-stream';
const CHANNEL = 'tickerd-stream';
const HELLO_EVERY_MS = 1000;
const WANT_TTL_MS = 10000; // a follower not heard from this long is gone (a background tab's timers run late)
const PUBLISH_FOR_MS = 60000; // events go to the channel this long after the last follower was heard
const SAY_AFTER_MS = 250; // a follower says what it wants once that has held still this long

const tab = Math.random().toString(36).slice(2) + Date.now().toString(36);
let channel = null;
let role = 'alone'; // leader | follower | alone (no locks: this tab streams for itself)
let hooks = null;
let own = { all: true }; // what this tab wants
let needSnapshot = true; // a follower waiting for its first snapshot
let sayTimer = 0;
const followers = new Map(); // tab -> { want, at }; the leader's
let lastHeard = -Infinity; // when the leader last heard a follower
let othersSeen = false; // a message of another tab has arrived
let outbox = [];
let flushing = false;
const flusher = new MessageChannel(); // a task soon after this one, even in a background tab

// start joins the tabs of the page. hooks:
//   lead()             this tab now holds the stream: open it
//   event(type, body)  an event the leader received (a follower's)
//   state(s)           the leader's stream state {state, transport, fallback}
//   snapshot()         the leader's snapshot for a joining tab, or null before it has one
//   wants(sub, {now})  what every tab wants together changed (the leader's); now: without waiting
//   announceState()    a follower said hello: publish the stream's state
export function start(h) {
  hooks = h;
  if (!navigator.locks || typeof BroadcastChannel !== 'function') {
    wantsChanged();
    hooks.lead();
    return;
  }
  role = 'follower';
  channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (e) => receive(e.data);
  flusher.port1.onmessage = flush;
  navigator.locks.request(LOCK, () => {
    role = 'leader';
    needSnapshot = false;
    followers.clear();
    // The tabs it followed with are there: pass events on before they say
    // hello. A tab that has heard no other has no one to pass them to.
    if (othersSeen) lastHeard = performance.now();
    wantsChanged(); // this tab's wants, before the stream opens with them
    hooks.lead();
    post({ kind: 'leader' }); // followers say hello, and what they want, at once
    return new Promise(() => {}); // held until the tab closes
  });
  setInterval(() => {
    if (role === 'follower') hello();
    else if (role === 'leader') prune();
  }, HELLO_EVERY_MS);
  hello();
  window.addEventListener('pagehide', () => {
    if (role === 'follower') post({ kind: 'bye', tab });
  });
}

// role is leader, follower or alone.
export function currentRole() {
  return role;
}

// followerCount is how many other tabs the leader streams for.
export function followerCount() {
  return followers.size;
}

// want says what this tab wants: {all: true} or {symbols: [...]}, with
// bars: the intervals whose bar events it wants.
// A follower waits until its wants hold still, so that the leader, which
// may be a background tab whose timers the browser slows down, can take
// them at once.
export function want(sub) {
  own = sub;
  if (!hooks) return; // start sends it
  if (role === 'follower') {
    clearTimeout(sayTimer);
    sayTimer = setTimeout(hello, SAY_AFTER_MS);
  } else {
    wantsChanged();
  }
}

// gotSnapshot tells a follower it needs no snapshot from the leader any more.
export function gotSnapshot() {
  needSnapshot = false;
}

// publish passes an event on to the followers, in order, batched per task.
// Without a follower heard from for PUBLISH_FOR_MS there is no one to
// pass them to; a follower whose hellos are late still gets every event.
export function publish(type, body) {
  if (role !== 'leader' || (followers.size === 0 && performance.now() - lastHeard > PUBLISH_FOR_MS)) return;
  outbox.push({ type, body });
  if (!flushing) {
    flushing = true;
    flusher.port2.postMessage(null);
  }
}

// publishState tells the followers the stream's state.
export function publishState(s) {
  if (role === 'leader') post({ kind: 'state', ...s });
}

function flush() {
  flushing = false;
  if (!outbox.length) return;
  const list = outbox;
  outbox = [];
  post({ kind: 'events', list });
}

function post(m) {
  try {
    channel.postMessage(m);
  } catch {
    // The channel is closed: the tab is going away.
  }
}

function hello() {
  post({ kind: 'hello', tab, want: own, need: needSnapshot });
}

function receive(m) {
  if (!m || typeof m !== 'object') return;
  othersSeen = true;
  if (role === 'leader') {
    switch (m.kind) {
      case 'hello': {
        const before = followers.get(m.tab);
        lastHeard = performance.now();
        followers.set(m.tab, { want: m.want, at: lastHeard });
        if (!before || JSON.stringify(before.want) !== JSON.stringify(m.want)) wantsChanged({ now: true });
        hooks.announceState();
        if (m.need) {
          const s = hooks.snapshot();
          if (s) {
            flush(); // the events the snapshot includes go first
            post({ kind: 'snapshot', to: m.tab, body: s });
          }
        }
        break;
      }
      case 'bye':
        if (followers.delete(m.tab)) wantsChanged({ now: true });
        break;
    }
    return;
  }
  if (role !== 'follower') return;
  switch (m.kind) {
    case 'leader':
      hello();
      break;
    case 'state':
      hooks.state(m);
      break;
    case 'snapshot':
      if (m.to === tab) hooks.event('snapshot', m.body);
      break;
    case 'events':
      for (const e of m.list) hooks.event(e.type, e.body);
      break;
  }
}

function prune() {
  const now = performance.now();
  let gone = false;
  for (const [id, f] of followers) {
    if (now - f.at > WANT_TTL_MS) {
      followers.delete(id);
      gone = true;
    }
  }
  if (gone) wantsChanged({ now: true });
}

// wantsChanged tells the leader's stream what every tab wants together:
// every symbol when one tab wants every symbol, else the union of their
// symbols, this tab's first; and the union of the bar intervals they
// want. With now, the change is one a follower has already waited for.
function wantsChanged({ now } = { now: false }) {
  if (role === 'follower') return;
  const all = [own, ...[...followers.values()].map((f) => f.want)];
  const bars = new Set();
  for (const w of all) for (const b of (w && w.bars) || []) bars.add(b);
  if (all.some((w) => !w || w.all)) {
    hooks.wants({ all: true, bars: [...bars] }, { now });
    return;
  }
  const union = new Set();
  for (const w of all) for (const s of w.symbols || []) union.add(s);
  hooks.wants({ symbols: [...union], bars: [...bars] }, { now });
}
