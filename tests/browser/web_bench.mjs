// The browser half of scripts/web_bench.sh (issue 13's benchmark): headless Chromium (Debian's)
// driven by playwright-core opens the page a relay serves with -web as a consumer of one
// command, and CLI producers send it messages. web_bench.sh runs the relay, the broker and
// the CLI consumer's rows and passes the rest in the environment:
//   PEERMQ     the peermq binary            WEB_URL  the relay's "web: URL" line
//   BROKER     the broker's address         WORK     a scratch directory (browser profiles)
//   COMMAND    the command consumed         RUNS     measured runs per figure
//   COUNT      messages per measured run    WARMUP   messages of the unmeasured first run
//   LEVELS     in-flight levels, comma-separated (1,256)
//   PRODUCER_FLAGS  extra producer flags, space-separated (the same the CLI rows get)
//   PROFILE    1: also one extra profiled run per level (CDP Profiler, WebSocket frames);
//              its figures are printed as "profile ..." lines and kept out of the medians
// Prints one line per measurement, for web_bench.sh to take medians of:
//   tab-address ADDR (the tab's node)
//   tab INFLIGHT RATE P50_US P99_US SECONDS ANSWERED_BY_TAB
//   load cold|warm ADDRESS_MS FIRST_ANSWER_MS
// Every child process it starts is killed when it ends, also on failure; every wait is
// bounded. Exits non-zero only if something did not work (never because of a timing).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { chromiumOptions, processes, until as untilWithin } from './harness.mjs';

// playwright-core from tests/browser/node_modules (scripts/setup.sh), or NODE_MODULES's.
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(process.env.NODE_MODULES || path.join(here, 'node_modules'), 'x.js'));
const { chromium } = require('playwright-core');

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`${name} is not set: run scripts/web_bench.sh`);
  return v;
};
const peermq = env('PEERMQ');
const webUrl = env('WEB_URL');
const broker = env('BROKER');
const work = env('WORK');
const command = env('COMMAND', 'bench');
const runs = Number(env('RUNS', '3'));
const count = Number(env('COUNT', '20000'));
const warmup = Number(env('WARMUP', '2000'));
const levels = env('LEVELS', '1,256').split(',').map(Number);
const producerFlags = (process.env.PRODUCER_FLAGS || '').split(' ').filter(Boolean);
const profile = process.env.PROFILE === '1';
const kWait = 60_000;  // waits for the page
const kRunWait = 600_000;  // a producer run (a slow tab at 1 in flight takes long)

// ---------------------------------------------------------------- child processes
const { run, finished, killAll } = processes(peermq);
const producerArgs = (n, inflight) => ['producer', `-broker=${broker}`, `-command=${command}`,
  `-count=${n}`, `-inflight=${inflight}`, '-size=100', '-quiet', ...producerFlags];

const until = (what, predicate, ms = kWait) => untilWithin(what, predicate, ms);

// ---------------------------------------------------------------- the browser
const consoleLines = [];
const launch = profileDir => chromium.launchPersistentContext(`${work}/${profileDir}`, chromiumOptions());
async function newPage(context) {
  const page = await context.newPage();
  page.on('console', m => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', e => consoleLines.push(`page error: ${e.message}`));
  return page;
}
const url = `${webUrl}?broker=${broker}&commands=${command}`;
const text = (page, id) => page.locator(`#${id}`).textContent();
const processed = async page => Number(await text(page, 'processed'));

// One producer run against the open page: "rate p50 p99 seconds answeredByTab".
async function measure(page, n, inflight) {
  const before = await processed(page);
  const start = performance.now();
  const p = run(`producer-${inflight}`, producerArgs(n, inflight));
  const status = await finished(p, kRunWait);
  const seconds = (performance.now() - start) / 1000;
  if (status !== 0 || !p.out.includes(`answers: ${n}/${n}`)) {
    throw new Error(`the producer (${inflight} in flight) failed: status ${status}\n${p.out}\n${p.err}`);
  }
  // The page counts an answer after handing it to the wasm: it may trail the producer a bit.
  await until('the page to count its answers', async () => (await processed(page)) >= before + n, 10_000).catch(() => {});
  const byTab = (await processed(page)) - before;
  const lat = p.out.match(/latency: p50=(\d+)us p99=(\d+)us/) || [0, 'nan', 'nan'];
  return { rate: n / seconds, p50: lat[1], p99: lat[2], seconds, byTab };
}

// Rows 1: messages/s answered by one tab.
async function throughput() {
  const context = await launch('profile-rate');
  try {
    const page = await newPage(context);
    await page.goto(url);
    console.log(`tab-address ${(await until('the page to show its address', async () => (await text(page, 'address')).trim()))}`);
    for (const inflight of levels) {
      await measure(page, warmup, inflight);  // the consumer's session is up, the JIT warm
      for (let i = 0; i < runs; i++) {
        const r = await measure(page, count, inflight);
        console.log(`tab ${inflight} ${r.rate.toFixed(1)} ${r.p50} ${r.p99} ${r.seconds.toFixed(3)} ${r.byTab}`);
      }
      if (profile) await profiled(context, page, inflight);
    }
    // pagehide: the node says bye, so the broker hands the next messages to no one else.
    await page.close({ runBeforeUnload: true });
    await new Promise(r => setTimeout(r, 300));
  } finally {
    await context.close();
  }
}

// One more run under Chromium's sampling profiler, with the WebSocket frames counted: where
// the tab's time goes. Not in the medians (the profiler and the frame events slow it).
async function profiled(context, page, inflight) {
  const n = Math.min(count, 5000);
  const frames = { sent: 0, received: 0, sentBytes: 0, receivedBytes: 0 };
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketFrameSent', e => { frames.sent++; frames.sentBytes += Buffer.from(e.response.payloadData, 'base64').length; });
  cdp.on('Network.webSocketFrameReceived', e => { frames.received++; frames.receivedBytes += Buffer.from(e.response.payloadData, 'base64').length; });
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  const r = await measure(page, n, inflight);
  const { profile: prof } = await cdp.send('Profiler.stop');
  await cdp.send('Network.disable');
  await cdp.detach();
  // Self time by bucket and by function, from the samples' time deltas.
  const byId = new Map(prof.nodes.map(node => [node.id, node]));
  const self = new Map();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) || 0) + (prof.timeDeltas[i] || 0)));
  const buckets = new Map();
  const functions = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const f = byId.get(id).callFrame;
    const name = f.functionName || '(anonymous)';
    const file = f.url ? f.url.split('/').pop() : '';
    const bucket = f.url.endsWith('.wasm') || /^\$?wasm-function|^\$/.test(name) ? 'wasm'
      : name.startsWith('(') ? name : `js ${file || '(native)'}`;
    buckets.set(bucket, (buckets.get(bucket) || 0) + us);
    const key = `${name} ${file}`.trim();
    functions.set(key, (functions.get(key) || 0) + us);
    total += us;
  }
  const pct = us => `${(100 * us / total).toFixed(1)}%`;
  console.log(`profile ${inflight} run: ${n} messages in ${r.seconds.toFixed(3)} s (${r.rate.toFixed(0)}/s under the profiler), p50 ${r.p50} us`);
  console.log(`profile ${inflight} frames: sent ${frames.sent} (${(frames.sent / n).toFixed(2)}/message, ${(frames.sentBytes / Math.max(frames.sent, 1)).toFixed(0)} B each), received ${frames.received} (${(frames.received / n).toFixed(2)}/message, ${(frames.receivedBytes / Math.max(frames.received, 1)).toFixed(0)} B each)`);
  console.log(`profile ${inflight} main thread: ${(total / 1000).toFixed(0)} ms sampled, ${(total / n).toFixed(1)} us/message; ` +
    [...buckets].sort((a, b) => b[1] - a[1]).map(([k, us]) => `${k} ${pct(us)} (${(us / n).toFixed(1)} us/msg)`).join(', '));
  console.log(`profile ${inflight} top functions (self): ` +
    [...functions].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, us]) => `${k} ${pct(us)}`).join('; '));
}

// Rows 2: page load to the address shown and to the first answered message, with that
// message queued before the page opens. cold: a new profile (no HTTP cache, a key to make);
// warm: the same profile again (cached assets, the key from IndexedDB).
const kWatch = () => {
  // An init script: timestamps (on the clock the driver reads too) of the first time
  // #address has text and #processed reads 1, from a MutationObserver (no polling delay).
  window.__bench = {};
  const mark = () => {
    const now = performance.timeOrigin + performance.now();
    const a = document.getElementById('address');
    const p = document.getElementById('processed');
    if (a && a.textContent.trim() && !window.__bench.address) window.__bench.address = now;
    if (p && p.textContent === '1' && !window.__bench.first) window.__bench.first = now;
  };
  new MutationObserver(mark).observe(document, { subtree: true, childList: true, characterData: true });
};
async function queueOne(i, kind) {
  const p = run(`queued-${kind}-${i}`, [...producerArgs(1, 1).filter(a => !a.startsWith('-quiet')), '-quiet',
    '-payload=first', '-log=info']);
  await until('the queued message\'s producer to connect', () => /connected to broker/.test(p.err) || p.child.exitCode !== null);
  await new Promise(r => setTimeout(r, 300));  // its message reaches the broker and is stored
  return p;
}
async function loadOnce(page, i, kind) {
  const producer = await queueOne(i, kind);
  const start = performance.timeOrigin + performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  const marks = await until('the page to answer the queued message',
    () => page.evaluate(() => (window.__bench?.first ? window.__bench : null)), kWait);
  if ((await finished(producer, kWait)) !== 0) throw new Error(`the queued message's producer failed: ${producer.err}`);
  console.log(`load ${kind} ${(marks.address - start).toFixed(1)} ${(marks.first - start).toFixed(1)}`);
}
async function pageLoad() {
  for (let i = 0; i < runs; i++) {
    const context = await launch(`profile-load-${i}`);
    try {
      await context.addInitScript(kWatch);
      let page = await newPage(context);
      await loadOnce(page, i, 'cold');
      await page.close({ runBeforeUnload: true });  // pagehide: the node says bye
      page = await newPage(context);
      await loadOnce(page, i, 'warm');
      // Closed with pagehide too: a consumer that left without a bye would be handed the next
      // run's message and hold it for the broker's visibility timeout (30 s).
      await page.close({ runBeforeUnload: true });
      await new Promise(r => setTimeout(r, 300));
    } finally {
      await context.close();
    }
  }
}

const what = process.argv[2] || 'all';
try {
  if (what === 'all' || what === 'rate') await throughput();
  if (what === 'all' || what === 'load') await pageLoad();
  killAll();
  process.exit(0);
} catch (e) {
  console.error(`web_bench.mjs: ${e.message}`);
  console.error(`--- the pages' console (last 40 lines)\n${consoleLines.slice(-40).join('\n')}`);
  killAll();
  process.exit(1);
}
