// transport-sse.js: the page's stream over Server-Sent Events, GET /events.
// The browser reconnects by itself after a drop and resumes with
// Last-Event-ID; after an answer it gives up on (anything but a 200 event
// stream) the page opens a new EventSource, which resumes through the
// lastEventId query parameter. An EventSource cannot change what it asks
// for: a new subscription opens a new stream, without a resume point, so
// that it starts with a snapshot of every symbol it names; one that only
// asks for other bar intervals resumes where the stream before stopped.

// openSSE streams link's subscription (see connection.js) until closed.
export function openSSE(link) {
  let source = null;
  let retryTimer = 0;

  function connect({ fresh } = { fresh: false }) {
    clearTimeout(retryTimer);
    if (source) source.close();
    const after = fresh ? 0 : link.resumeAfter();
    const query = [];
    const sub = link.subscription();
    if (!sub.all) query.push('symbols=' + sub.symbols.map(encodeURIComponent).join(','));
    if (sub.bars.length) query.push('bars=' + sub.bars.join(','));
    if (after > 0) query.push('lastEventId=' + after);
    const es = new EventSource(query.length ? '/events?' + query.join('&') : '/events');
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
    es.addEventListener('bar', (e) => link.bar(JSON.parse(e.data)));
  }

  connect();
  return {
    reconnect() {
      if (source && source.readyState === EventSource.CLOSED) connect();
    },
    // follow opens the stream again for link's new subscription: from a
    // snapshot when its symbols changed, else from the resume point.
    follow(changed) {
      connect({ fresh: changed.symbols });
    },
    close() {
      clearTimeout(retryTimer);
      source.close();
      source = null;
    },
  };
}
