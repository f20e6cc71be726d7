// transport-ws.js: the page's stream over a WebSocket, GET /ws, of every
// symbol (?symbols=*) or of the symbols link names. After a drop the page
// reconnects with the last sequence number it applied on the URL, and the
// server replays the ticks after it, or sends a resync snapshot when they
// are gone. A new subscription goes over the open socket as unsubscribe
// and subscribe messages, the bar intervals it wants on a subscribe; the
// server answers the added symbols with a snapshot of their quotes.

const TRY_AGAIN_LATER = 1013; // the server is over its limits
const MESSAGE_BYTES = 3000; // under the server's 4 KiB limit on a client message

// openWebSocket streams link's subscription (see connection.js) until
// closed.
export function openWebSocket(link) {
  let socket = null;
  let retryTimer = 0;
  let asked = null; // the subscription the open socket has: {all} or {symbols}

  function connect() {
    clearTimeout(retryTimer);
    const after = link.resumeAfter();
    const sub = link.subscription();
    const names = sub.all ? '*' : sub.symbols.map(encodeURIComponent).join(',');
    const query = (names ? '?symbols=' + names : '?') + (sub.bars.length ? '&bars=' + sub.bars.join(',') : '') +
      (after > 0 ? '&lastEventId=' + after : '');
    const ws = new WebSocket(socketURL('/ws' + query));
    socket = ws;
    asked = sub;
    ws.addEventListener('open', () => {
      if (ws === socket) link.up();
    });
    ws.addEventListener('message', (e) => {
      if (ws === socket) receive(JSON.parse(e.data));
    });
    ws.addEventListener('close', (e) => {
      if (ws !== socket) return;
      socket = null;
      // Every close is worth another attempt: a shutdown (1001), an expired
      // token (1008, a new cookie may be there), limits (1013), a slow or
      // silent page (4000, 4001). Over the limits the page waits a step
      // longer.
      let delay = link.nextRetry();
      if (e.code === TRY_AGAIN_LATER) delay = link.nextRetry();
      retryTimer = setTimeout(connect, delay);
      link.down();
    });
  }

  // receive hands a server message to link without its type, so that the
  // page sees the same events as over SSE.
  function receive({ type, ...body }) {
    switch (type) {
      case 'subscription':
        break; // the server's acknowledgement of what the page sent
      case 'error':
        console.warn('tickerd: the server refused a subscription:', body.error, body.symbols || '');
        break;
      default:
        link.event(type, body);
    }
  }

  // send puts op for names on the socket, in messages under
  // MESSAGE_BYTES; bars, when given, go on the last one.
  function send(op, names, bars) {
    let batch = [];
    let bytes = 0;
    for (const n of names) {
      if (batch.length && bytes + n.length + 3 > MESSAGE_BYTES) {
        socket.send(JSON.stringify({ op, symbols: batch }));
        batch = [];
        bytes = 0;
      }
      batch.push(n);
      bytes += n.length + 3;
    }
    if (batch.length) socket.send(JSON.stringify(bars ? { op, symbols: batch, bars } : { op, symbols: batch }));
  }

  connect();
  return {
    reconnect() {
      if (!socket) connect();
    },
    // follow changes the open socket's subscription to link's; a socket
    // still connecting, or one between every symbol and some, starts again.
    // New bar intervals go on a subscribe: of the added symbols, or of one
    // the socket has (which adds nothing), or of every symbol.
    follow() {
      const sub = link.subscription();
      if (!socket) return; // the next connect asks for it
      const barsChanged = sub.bars.join() !== asked.bars.join();
      if (socket.readyState === WebSocket.OPEN && sub.all && asked.all) {
        if (barsChanged) send('subscribe', ['*'], sub.bars);
        asked = sub;
        return;
      }
      if (socket.readyState !== WebSocket.OPEN || sub.all || asked.all) {
        const ws = socket;
        socket = null;
        ws.close();
        connect();
        return;
      }
      const had = new Set(asked.symbols);
      const now = new Set(sub.symbols);
      const gone = asked.symbols.filter((s) => !now.has(s));
      const added = sub.symbols.filter((s) => !had.has(s));
      if (gone.length) send('unsubscribe', gone);
      if (added.length) send('subscribe', added, barsChanged ? sub.bars : null);
      else if (barsChanged) send('subscribe', sub.symbols.slice(0, 1), sub.bars);
      asked = sub;
    },
    close() {
      clearTimeout(retryTimer);
      const ws = socket;
      socket = null;
      if (ws) ws.close();
    },
  };
}

// socketURL is path on the page's own origin, as a ws: or wss: URL.
function socketURL(path) {
  const u = new URL(path, location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}
