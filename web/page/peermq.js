// peermq in a browser tab: a real node (its own key and address, Noise end to end) whose
// protocol is all in peermq_web.wasm, the C++ cores of src/ compiled with emscripten. This
// module only moves bytes between the wasm and a WebSocket, keeps the key in IndexedDB and
// turns callbacks into promises and events.
//
//   import { Node } from './peermq.js';
//   const node = await Node.open();          // { server, keyStore: 'indexeddb' | 'memory' }
//   node.address; node.on('state', (s) => ...);   // 'connecting' | 'connected' | 'disconnected'
//   const c = node.consume(broker, ['num_users'], async (msg) => answer, { name });
//   c.on('message', (msg) => ...); c.on('answer', (msg, answer) => ...); c.processed; c.stop();
//   c.on('refused', (sentence) => ...);   // the broker's access list does not allow us
//   const { payload, text } = await node.publish(broker, 'num_users', 'payload');
//   node.close();
//
// One client per node: a node that consumes does not publish (open a second node with
// keyStore: 'memory' for that; it gets an address of its own).
import createPeermq from './peermq_web.js';

let modulePromise;
const wasm = () => (modulePromise ??= createPeermq());
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytesOf = (v) => (typeof v === 'string' ? encoder.encode(v) : new Uint8Array(v));

// How much the wasm cores log to the console: 'error' .. 'trace', as -log=LEVEL takes it.
export async function setLogLevel(level) {
  if (!(await wasm()).setLogLevel(level)) throw new Error(`no log level ${level}: error, warn, info, debug or trace`);
}

class Emitter {
  #handlers = new Map();
  on(event, handler) {
    if (!this.#handlers.has(event)) this.#handlers.set(event, []);
    this.#handlers.get(event).push(handler);
    return this;
  }
  emit(event, ...args) {
    for (const h of this.#handlers.get(event) ?? []) h(...args);
  }
}

// The seed (64 hex digits) kept in IndexedDB database 'peermq', so a reload keeps the address.
async function storedSeed(m) {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('peermq', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('keys');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const request = (mode, f) => new Promise((resolve, reject) => {
    const r = f(db.transaction('keys', mode).objectStore('keys'));
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  let seed = await request('readonly', (s) => s.get('seed'));
  if (typeof seed !== 'string' || m.addressOfSeed(seed) === '') {
    seed = m.generateSeed();
    await request('readwrite', (s) => s.put(seed, 'seed'));
  }
  db.close();
  return seed;
}

export class Consumer extends Emitter {
  processed = 0;
  #core;
  constructor(core) {
    super();
    this.#core = core;
  }
  // From the wasm: a delivery to answer (or reject) once.
  async deliver(handler, tag, command, view, producer, deliveryCount) {
    const payload = view.slice();
    const msg = { command, payload, text: decoder.decode(payload), producer, deliveryCount };
    this.emit('message', msg);
    let answer;
    try {
      answer = handler ? await handler(msg) : payload;
    } catch (e) {
      this.#core.reject(tag, false, String(e?.message ?? e));
      return;
    }
    if (this.#core.answer(tag, bytesOf(answer ?? '')) === '') {
      this.processed++;
      this.emit('answer', msg, answer);
    }
  }
  stop() {
    this.#core.stopConsumer();
  }
}

export class Node extends Emitter {
  #m; #core; #url; #ws = null; #closed = false; #backoff = 250; #opened;
  #producer = null; #pending = new Map(); #waiting = [];

  static async open({ server = location.origin, keyStore = 'indexeddb' } = {}) {
    const m = await wasm();
    const info = await (await fetch(new URL('/peermq.json', server))).json();
    const seed = keyStore === 'memory' ? m.generateSeed() : await storedSeed(m);
    const node = new Node(m, seed, info, server);
    await node.#opened;
    return node;
  }

  constructor(m, seed, info, server) {
    super();
    this.#m = m;
    this.#url = new URL(info.websocket ?? '/peermq', server);
    this.#url.protocol = this.#url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#core = new m.WebNode(seed, info.address, (view) => {
      if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(view.slice());
    });
    this.#core.onState((s) => this.emit('state', s));
    this.#opened = new Promise((resolve) => this.#connect(resolve));
  }

  get address() {
    return this.#core.address();
  }

  // The WebSocket to the serving node, again and again with backoff (to 30 s) when it drops.
  #connect(onFirstOpen) {
    const ws = new WebSocket(this.#url);
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      this.#backoff = 250;
      const why = this.#core.opened();
      if (why) console.warn(`peermq: ${why}`);
      onFirstOpen?.();
      onFirstOpen = null;
    };
    ws.onmessage = (e) => this.#core.receive(new Uint8Array(e.data));
    ws.onclose = () => {
      this.#core.closed();
      if (this.#closed) return;
      setTimeout(() => this.#connect(onFirstOpen), this.#backoff);
      this.#backoff = Math.min(this.#backoff * 2, 30000);
    };
  }

  consume(broker, commands, handler, { name = 'browser' } = {}) {
    const consumer = new Consumer(this.#core);
    const why = this.#core.consume(broker, commands, name,
      (...delivery) => consumer.deliver(handler, ...delivery),
      (refusal) => consumer.emit('refused', refusal));
    if (why) throw new Error(why);
    return consumer;
  }

  publish(broker, command, payload) {
    if (!this.#producer) {
      const why = this.#core.produce(broker, (kind, id, view, text) => this.#onEvent(kind, id, view, text));
      if (why) return Promise.reject(new Error(why));
      this.#producer = broker;
    } else if (this.#producer !== broker) {
      return Promise.reject(new Error(`this node publishes to ${this.#producer}`));
    }
    return new Promise((resolve, reject) => this.#send({ command, bytes: bytesOf(payload), resolve, reject }));
  }

  #send(p) {
    const r = this.#core.publish(p.command, p.bytes);
    if (r.id !== undefined) this.#pending.set(r.id, p);
    else if (r.retry) this.#waiting.push(p);
    else p.reject(new Error(r.error));
  }

  #onEvent(kind, id, view, text) {
    if (kind === 'wake') {
      for (const p of this.#waiting.splice(0)) this.#send(p);
      return;
    }
    if (kind === 'refused') {
      for (const p of [...this.#pending.values(), ...this.#waiting.splice(0)]) p.reject(new Error(text));
      this.#pending.clear();
      return;
    }
    const p = this.#pending.get(id);
    if (!p || (kind !== 'answer' && kind !== 'failed')) return;
    this.#pending.delete(id);
    if (kind === 'answer') {
      const payload = view.slice();
      p.resolve({ payload, text: decoder.decode(payload) });
    } else {
      p.reject(new Error(text || 'the message failed'));
    }
  }

  close() {
    this.#closed = true;
    this.#core.close();
    this.#ws?.close();
  }
}
