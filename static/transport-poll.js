// transport-poll.js: the page's stream by long polling, GET /api/ticks,
// for when a proxy between the page and the server holds or cuts event
// streams. Each poll asks for the events after the seq of the answer
// before (the first one, without it, gets a snapshot) and is held until a
// tick comes or the wait runs out; a server restarted under the page
// continues from there, or answers with a resync snapshot.

const WAIT = '25s'; // how long a poll is held, within the server's -poll-max-wait (30 s unless set)
const PLAIN_POLL_MS = 1000; // between polls when the server holds none

// openPolling polls link's subscription (see connection.js) until closed,
// starting after delay milliseconds. A new subscription starts again from
// a snapshot of its symbols.
export function openPolling(link, { delay }) {
  let since = -1; // seq of the last answer; -1: none yet, resume after what the page applied; 0: a snapshot
  let wait = WAIT;
  let up = false;
  let closed = false;
  let inflight = false;
  let timer = setTimeout(poll, delay);
  let controller = null;
  let generation = 0; // counts the subscriptions followed; a poll of an older one is given up

  async function poll() {
    const gen = generation;
    inflight = true;
    controller = new AbortController();
    const after = since >= 0 ? since : link.resumeAfter();
    const query = new URLSearchParams();
    const sub = link.subscription();
    if (!sub.all) query.set('symbols', sub.symbols.join(','));
    if (sub.bars.length) query.set('bars', sub.bars.join(','));
    if (after > 0) query.set('since', after);
    query.set('wait', wait);
    let res = null;
    let body = null;
    try {
      res = await fetch('/api/ticks?' + query, { cache: 'no-store', signal: controller.signal });
      if (res.ok) body = await res.json();
    } catch (err) {
      body = null;
    }
    if (gen !== generation) return; // given up for a new subscription
    inflight = false;
    if (closed) return;
    if (res && res.status === 400 && wait !== '0s') {
      // The server holds polls for less than WAIT: ask at intervals instead.
      wait = '0s';
      timer = setTimeout(poll, 0);
      return;
    }
    if (!body) {
      up = false;
      timer = setTimeout(poll, link.nextRetry());
      link.down();
      return;
    }
    if (!up) {
      up = true;
      link.up();
    }
    // Each event goes to link without its type, as over SSE.
    for (const { type, ...event } of body.events) link.event(type, event);
    since = body.seq;
    timer = setTimeout(poll, wait === '0s' ? PLAIN_POLL_MS : 0);
  }

  return {
    reconnect() {
      if (up || closed || inflight) return;
      clearTimeout(timer);
      timer = setTimeout(poll, 0);
    },
    // follow gives up the poll in flight and asks for a snapshot of link's
    // new subscription, or, when only its bar intervals changed, for the
    // events after the last answer with them.
    follow(changed) {
      clearTimeout(timer);
      generation++;
      if (inflight) controller.abort();
      inflight = false;
      if (changed.symbols) since = 0;
      timer = setTimeout(poll, 0);
    },
    close() {
      closed = true;
      clearTimeout(timer);
      if (controller) controller.abort();
    },
  };
}
