// universe.js: the symbols the server lists at /api/symbols, with their
// latest prices, read once when the page opens, so that a board larger
// than its screen knows every row before it subscribes to those it shows.

// listUniverse returns the quotes of /api/symbols, in the universe's
// order, or null when the server does not list them (it is down, or
// refuses the page: the stream then says why, and its snapshot is the
// board). It asks for the compact form, a column per field, which a
// server that does not know it answers with a list of quotes; a row on
// screen gets its whole quote from the stream's snapshot.
export async function listUniverse() {
  try {
    const res = await fetch('/api/symbols?form=compact', { cache: 'no-store' });
    if (!res.ok) return null;
    const body = await res.json();
    if (Array.isArray(body.sym)) return fromColumns(body);
    return Array.isArray(body.quotes) ? body.quotes.filter((q) => q && typeof q.sym === 'string') : null;
  } catch {
    return null;
  }
}

// fromColumns turns the compact form's columns into quotes, with the
// session's open where the change gives it.
function fromColumns(c) {
  const col = (name, i) => (Array.isArray(c[name]) && typeof c[name][i] === 'number' ? c[name][i] : 0);
  return c.sym.filter((s) => typeof s === 'string').map((sym, i) => {
    const px = col('px', i);
    const chg = col('chg', i);
    return { seq: 0, sym, px, chg, chg_pct: col('chg_pct', i), vol: col('vol', i), open: px > 0 ? Math.round((px - chg) * 100) / 100 : 0 };
  });
}
