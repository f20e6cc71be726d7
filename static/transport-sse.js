// transport-sse.js: the page's stream over Server-Sent Events, GET /events.
// The browser reconnects by itself after a drop and resumes with
// Last-Event-ID; after an answer it gives up on (anything but a 200 event
// stream) the page opens a new EventSource, which resumes through the
// lastEventId query parameter. An EventSource cannot change what it asks
// for: a new subscription opens a new stream, without a resume point, so
// that it starts with a snapshot of every symbol it names; one that only
// asks for other bar intervals resumes where the stream before stopped.
//
// The EventSource is the page's own until the stream gets busy: past
// BUSY_EVENTS_PER_S events in a second, receiving each one is a large
// part of the work of the page's thread, between its frames. The page
// then opens the stream again, from where it is, in a worker
// (sse-worker.js), which receives the events beside the page and hands
// them over in batches, in order.

const BUSY_EVENTS_PER_S = 1000;
const SLICE_MS = 8; // the longest the page hands the worker's events on in one task

// openSSE streams link's subscription (see connection.js) until closed.
export function openSSE(link) {
  let receiver = null; // the open EventSource, direct or in the worker: { close() }
  let worker = null; // once the stream got busy
  let id = 0; // of the stream asked for last; what a receiver says of others is stale
  let gaveUp = false; // the stream asked for last is closed for good: a new one must be opened
  let closed = false;
  let retryTimer = 0;
  let counted = 0; // events since countFrom
  let countFrom = performance.now();

  // on are what a receiver of stream n says.
  const on = (n) => ({
    open() {
      if (closed || n !== id) return;
      gaveUp = false;
      link.up();
    },
    error(closedForGood) {
      if (closed || n !== id) return;
      gaveUp = closedForGood;
      link.down(); // which may close this transport for another
      if (!closed && n === id && closedForGood) retryTimer = setTimeout(connect, link.nextRetry());
    },
    // event hands one event to link; false once the stream is stale.
    event(kind, body) {
      if (closed || n !== id) return false;
      link.event(kind, body);
      if (!worker) countEvent();
      return true;
    },
  });

  // countEvent moves the stream into the worker once it is busy.
  function countEvent() {
    counted++;
    const now = performance.now();
    if (now - countFrom < 1000) return;
    const busy = (counted * 1000) / (now - countFrom) > BUSY_EVENTS_PER_S;
    counted = 0;
    countFrom = now;
    if (busy && !worker) {
      worker = new Worker(new URL('./sse-worker.js', import.meta.url));
      queueMicrotask(connect); // after the event in hand, from the newest event applied
    }
  }

  function connect({ fresh } = { fresh: false }) {
    if (closed) return;
    clearTimeout(retryTimer);
    const after = fresh ? 0 : link.resumeAfter();
    const query = [];
    const sub = link.subscription();
    if (!sub.all) query.push('symbols=' + sub.symbols.map(encodeURIComponent).join(','));
    if (sub.bars.length) query.push('bars=' + sub.bars.join(','));
    if (after > 0) query.push('lastEventId=' + after);
    const url = query.length ? '/events?' + query.join('&') : '/events';
    if (receiver) receiver.close();
    id++;
    gaveUp = false;
    receiver = worker ? receiveInWorker(worker, id, url, on(id)) : receive(url, on(id));
  }

  connect();
  return {
    reconnect() {
      if (gaveUp) connect();
    },
    // follow opens the stream again for link's new subscription: from a
    // snapshot when its symbols changed, else from the resume point.
    follow(changed) {
      connect({ fresh: changed.symbols });
    },
    // inWorker reports whether the stream is received in the worker.
    get inWorker() {
      return !!worker;
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      if (receiver) receiver.close();
      receiver = null;
      if (worker) worker.terminate();
    },
  };
}

const KINDS = ['snapshot', 'tick', 'conflated', 'status', 'bands', 'bar'];

// receive opens an EventSource at url on the page's thread.
function receive(url, on) {
  const es = new EventSource(url);
  es.addEventListener('open', () => on.open());
  es.addEventListener('error', () => on.error(es.readyState === EventSource.CLOSED));
  for (const kind of KINDS) es.addEventListener(kind, (e) => on.event(kind, JSON.parse(e.data)));
  return { close: () => es.close() };
}

// receiveInWorker opens the EventSource at url in worker, as stream n.
// What the worker says is handled in order, in tasks of at most
// SLICE_MS, so that a frame can come between them even when a batch is
// large (the worker's thread was held up, and thousands of events came
// at once).
function receiveInWorker(worker, n, url, on) {
  const queue = []; // what the worker said, not yet handled: {kind, ...}
  let at = 0; // the next event of queue[0], when it is a batch
  let scheduled = false;
  const next = new MessageChannel(); // a task soon after this one
  next.port1.onmessage = drain;

  worker.onmessage = (e) => {
    if (e.data.id !== n) return;
    queue.push(e.data);
    if (!scheduled) {
      scheduled = true;
      next.port2.postMessage(null);
    }
  };

  function drain() {
    scheduled = false;
    const until = performance.now() + SLICE_MS;
    while (queue.length) {
      const m = queue[0];
      if (m.kind === 'events') {
        if (!m.bodies) m.bodies = JSON.parse(m.json);
        for (; at < m.kinds.length; at++) {
          if (!on.event(m.kinds[at], m.bodies[at])) {
            queue.length = 0; // a stream the page has left
            return;
          }
          if ((at & 255) === 255 && performance.now() > until) {
            at++;
            scheduled = true;
            next.port2.postMessage(null);
            return;
          }
        }
      } else if (m.kind === 'open') {
        on.open();
      } else if (m.kind === 'error') {
        on.error(m.closed);
      }
      queue.shift();
      at = 0;
    }
  }

  worker.postMessage({ op: 'open', id: n, url: new URL(url, location.href).href });
  return {
    close() {
      worker.postMessage({ op: 'close' });
      queue.length = 0;
      next.port1.close();
    },
  };
}
