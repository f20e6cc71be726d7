// transport-sse.js: the page's stream over Server-Sent Events, GET /events.
// The browser reconnects by itself after a drop and resumes with
// Last-Event-ID; after an answer it gives up on (anything but a 200 event
// stream) the page opens a new EventSource, which resumes through the
// lastEventId query parameter.

// openSSE streams every symbol to link (see connection.js) until closed.
export function openSSE(link) {
  let source = null;
  let retryTimer = 0;

  function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    const after = link.resumeAfter();
    const es = new EventSource(after > 0 ? '/events?lastEventId=' + after : '/events');
    source = es;
    es.addEventListener('open', () => {
      if (es === source) link.up();
    });
    es.addEventListener('error', () => {
      if (es !== source) return;
      link.down(); // which may close this transport for another
      if (es === source && es.readyState === EventSource.CLOSED) retryTimer = setTimeout(connect, link.nextRetry());
    });
    es.addEventListener('snapshot', (e) => link.snapshot(JSON.parse(e.data)));
    es.addEventListener('tick', (e) => link.tick(JSON.parse(e.data)));
    es.addEventListener('conflated', (e) => link.conflated(JSON.parse(e.data)));
    for (const kind of ['status', 'bands']) es.addEventListener(kind, (e) => link.market(kind, JSON.parse(e.data)));
  }

  connect();
  return {
    reconnect() {
      if (source && source.readyState === EventSource.CLOSED) connect();
    },
    close() {
      clearTimeout(retryTimer);
      source.close();
      source = null;
    },
  };
}
