// recent-ticks.js: the newest ticks of every symbol, kept so that a history
// answer can be brought up to date with the ticks that arrived after the
// server wrote it.

const CAPACITY = 4096;

const ring = new Array(CAPACITY); // oldest to newest from next - size
let next = 0;
let size = 0;

// rememberTick keeps t, dropping the oldest tick once the ring is full.
export function rememberTick(t) {
  ring[next] = t;
  next = (next + 1) % CAPACITY;
  size = Math.min(size + 1, CAPACITY);
}

// ticksAfter returns the remembered ticks of sym with a sequence above seq,
// oldest first.
export function ticksAfter(sym, seq) {
  const found = [];
  for (let i = 0; i < size; i++) {
    const t = ring[(next - size + i + CAPACITY) % CAPACITY];
    if (t.sym === sym && t.seq > seq) found.push(t);
  }
  return found;
}

// holdsEveryTickAfter reports whether no tick after seq has fallen out of
// the ring yet.
export function holdsEveryTickAfter(seq) {
  const oldest = ring[(next - size + CAPACITY) % CAPACITY];
  return !(size === CAPACITY && oldest.seq > seq + 1);
}
