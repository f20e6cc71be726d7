// ws-scenario.mjs speaks to tickerd's WebSocket edge, GET /ws, through ws,
// the WebSocket client most Node programs use, and prints everything it
// sends and receives as JSON lines, for cmd/tickerd's
// TestNodeWebSocketClient to check:
//
//	{"conn":"main","t":12.5,"msg":{"type":"tick",...}}   a message, verbatim
//	{"conn":"main","t":13.1,"sent":{"op":"subscribe",...}}
//	{"conn":"main","t":20.4,"closed":1000}
//	{"step":"reconnect","t":21.0,"lastEventId":812,"watcherSeq":850}
//
// t is milliseconds since the script started. A message is printed as the
// server sent it, so that its numbers (a tick's ts in nanoseconds is past
// what a JavaScript number holds exactly) compare byte for byte.
//
// The scenario, on a tickerd that simulates AAPL, MSFT, NVDA and TSLA:
// connect with ?symbols=AAPL; subscribe to msft and NVDA; unsubscribe from
// AAPL; subscribe to NOPE (an unknown symbol: an error, the connection
// stays); cap at maxfreq 2 for 1.5 s, then lift the cap; close, let a
// second connection see ten ticks go by, and reconnect with ?lastEventId=
// the last seq the first one saw.
//
// Usage: node clients/node/ws-scenario.mjs ws://127.0.0.1:8080
//
// It waits for each answer for at most 10 s; past that, or when a
// connection fails, it names the step on stderr and exits 1.
import WebSocket from 'ws';

const base = process.argv[2];
if (!base || !/^wss?:\/\//.test(base)) {
  console.error('usage: node ws-scenario.mjs ws://host:port');
  process.exit(2);
}

const started = performance.now();
const now = () => Math.round((performance.now() - started) * 10) / 10;
const print = (line) => process.stdout.write(line + '\n');

let step = 'start';
function mark(name, fields = {}) {
  step = name;
  print(JSON.stringify({ step: name, t: now(), ...fields }));
}

// Conn is one WebSocket to tickerd, with every message it received.
class Conn {
  constructor(name, query) {
    this.name = name;
    this.msgs = []; // parsed messages, in order
    this.waiters = new Set();
    this.closed = null; // the close code, once closed
    this.ws = new WebSocket(`${base}/ws${query}`);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.on('error', (err) => {
        print(JSON.stringify({ conn: name, t: now(), error: err.message }));
        reject(new Error(`${name}: ${err.message}`));
      });
    });
    this.ws.on('message', (data, isBinary) => {
      const text = data.toString('utf8');
      print(`{"conn":${JSON.stringify(name)},"t":${now()},"msg":${isBinary ? JSON.stringify(text) : text}}`);
      this.msgs.push(JSON.parse(text));
      this.wake();
    });
    this.ws.on('close', (code) => {
      this.closed = code;
      print(JSON.stringify({ conn: name, t: now(), closed: code }));
      this.wake();
    });
  }

  wake() {
    for (const w of this.waiters) w();
  }

  // until resolves with what cond returns once it returns something other
  // than undefined, checked at every message.
  until(what, cond) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        const v = cond(this.msgs);
        if (v !== undefined) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(v);
        } else if (this.closed !== null) {
          this.waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`${this.name}: closed with ${this.closed} while waiting for ${what}`));
        }
      };
      timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.name}: no ${what} within 10s`));
      }, 10_000);
      this.waiters.add(check);
      check();
    });
  }

  // next waits for the first message of type after index from, and
  // returns its index.
  next(type, from) {
    return this.until(`${type} message`, (msgs) => {
      const i = msgs.findIndex((m, j) => j >= from && m.type === type);
      return i >= 0 ? i : undefined;
    });
  }

  // ticks waits until n ticks have come after index from (and, with sym,
  // n of that symbol).
  ticks(n, from, sym) {
    return this.until(`${n} ${sym ?? ''} ticks`, (msgs) => {
      const got = msgs.slice(from).filter((m) => m.type === 'tick' && (!sym || m.sym === sym)).length;
      return got >= n ? true : undefined;
    });
  }

  // send sends op and returns the index its answer will follow.
  send(op) {
    print(JSON.stringify({ conn: this.name, t: now(), sent: op }));
    this.ws.send(JSON.stringify(op));
    return this.msgs.length;
  }

  lastTickSeq() {
    return this.msgs.findLast((m) => m.type === 'tick')?.seq;
  }

  close() {
    if (this.closed !== null) return Promise.resolve();
    const done = new Promise((resolve) => this.ws.once('close', resolve));
    this.ws.close(1000);
    return done;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function scenario() {
  mark('connect');
  const main = new Conn('main', '?symbols=AAPL');
  await main.opened;
  let at = await main.next('subscription', 0);
  await main.ticks(5, at);

  mark('subscribe');
  at = await main.next('subscription', main.send({ op: 'subscribe', symbols: ['msft', 'NVDA'] }));
  await main.ticks(3, at, 'MSFT');
  await main.ticks(3, at, 'NVDA');

  mark('unsubscribe');
  at = await main.next('subscription', main.send({ op: 'unsubscribe', symbols: ['AAPL'] }));
  await main.ticks(20, at);

  mark('unknown');
  at = await main.next('error', main.send({ op: 'subscribe', symbols: ['NOPE'] }));
  await main.ticks(5, at);

  mark('maxfreq');
  at = await main.next('subscription', main.send({ op: 'maxfreq', n: 2 }));
  await sleep(1500); // the window whose ticks the test counts
  at = await main.next('subscription', main.send({ op: 'maxfreq', n: 0 }));
  await main.ticks(10, at);

  mark('disconnect');
  await main.close();
  // The last tick main saw before its close completed: ticks keep coming
  // until the server's close frame.
  const lastEventId = main.lastTickSeq();
  const watcher = new Conn('watcher', '?symbols=MSFT,NVDA');
  await watcher.opened;
  await watcher.ticks(10, 0);
  const watcherSeq = watcher.lastTickSeq();

  mark('reconnect', { lastEventId, watcherSeq });
  const resumed = new Conn('resumed', `?symbols=MSFT,NVDA&lastEventId=${lastEventId}`);
  await resumed.opened;
  await resumed.next('subscription', 0);
  await resumed.until('5 live ticks past the watcher', (msgs) =>
    msgs.filter((m) => m.type === 'tick' && m.seq > watcherSeq).length >= 5 ? true : undefined);

  mark('done');
  await Promise.all([watcher.close(), resumed.close()]);
}

scenario().then(
  () => process.exit(0),
  (err) => {
    console.error(`ws-scenario: step ${step}: ${err.message}`);
    process.exit(1);
  },
);
