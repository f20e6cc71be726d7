// universe.js: the symbols the server lists at /api/symbols, with their
// latest quotes, read once when the page opens, so that a board larger
// than its screen knows every row before it subscribes to those it shows.

// listUniverse returns the quotes of /api/symbols, in the universe's
// order, or null when the server does not list them (it is down, or
// refuses the page: the stream then says why, and its snapshot is the
// board).
export async function listUniverse() {
  try {
    const res = await fetch('/api/symbols', { cache: 'no-store' });
    if (!res.ok) return null;
    const body = await res.json();
    return Array.isArray(body.quotes) ? body.quotes.filter((q) => q && typeof q.sym === 'string') : null;
  } catch {
    return null;
  }
}
