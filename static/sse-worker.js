// sse-worker.js: the page's EventSource, in a dedicated worker. At
// thousands of events a second, receiving each one is work the page's
// main thread would do between its frames; here it is done beside them,
// and the events go to the page in batches, in their order, every
// BATCH_MS or so: their kinds, and their bodies as one JSON array. Told
// {op:'open', id, url} it opens the stream at url (closing the one
// before), told {op:'close'} it closes it; it says {kind:'open'|'error',
// id, closed} of the stream id, and {kind:'events', id, kinds, json}.

const BATCH_MS = 16;
const KINDS = ['snapshot', 'tick', 'conflated', 'status', 'bands', 'bar'];

let source = null;
let current = 0; // id of the open stream
let kinds = [];
let bodies = [];
let timer = 0;

self.onmessage = (e) => {
  const m = e.data;
  if (m.op === 'open') open(m.id, m.url);
  else if (m.op === 'close') close();
};

function open(id, url) {
  close();
  current = id;
  const es = new EventSource(url);
  source = es;
  es.addEventListener('open', () => {
    if (es !== source) return;
    flush();
    self.postMessage({ kind: 'open', id });
  });
  es.addEventListener('error', () => {
    if (es !== source) return;
    flush();
    self.postMessage({ kind: 'error', id, closed: es.readyState === EventSource.CLOSED });
  });
  for (const kind of KINDS) {
    es.addEventListener(kind, (ev) => {
      if (es !== source) return;
      kinds.push(kind);
      bodies.push(ev.data);
      if (!timer) timer = setTimeout(flush, BATCH_MS);
    });
  }
}

function close() {
  flush();
  if (source) source.close();
  source = null;
}

function flush() {
  clearTimeout(timer);
  timer = 0;
  if (!kinds.length) return;
  self.postMessage({ kind: 'events', id: current, kinds, json: '[' + bodies.join(',') + ']' });
  kinds = [];
  bodies = [];
}
