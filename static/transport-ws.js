// transport-ws.js: the page's stream over a WebSocket, GET /ws, of every
// symbol (?symbols=*). After a drop the page reconnects with the last
// sequence number it applied on the URL, and the server replays the ticks
// after it, or sends a resync snapshot when they are gone.

const TRY_AGAIN_LATER = 1013; // the server is over its limits

// openWebSocket streams every symbol to link (see connection.js) until
// closed.
export function openWebSocket(link) {
  let socket = null;
  let retryTimer = 0;

  function connect() {
    clearTimeout(retryTimer);
    const after = link.resumeAfter();
    const query = '?symbols=*' + (after > 0 ? '&lastEventId=' + after : '');
    const ws = new WebSocket(socketURL('/ws' + query));
    socket = ws;
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
      case 'snapshot':
        link.snapshot(body);
        break;
      case 'tick':
        link.tick(body);
        break;
      case 'conflated':
        link.conflated(body);
        break;
      case 'status':
      case 'bands':
        link.market(type, body);
        break;
      case 'error':
        console.warn('tickerd: the server refused a subscription:', body.error, body.symbols || '');
        break;
    }
  }

  connect();
  return {
    reconnect() {
      if (!socket) connect();
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
