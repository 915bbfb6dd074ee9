// The web consumer in a real browser: headless Chromium (Debian's) driven by playwright-core
// opens the page a relay serves with -web, and the tab consumes, answers and produces next
// to command-line nodes. Started by web_consumer_test.sh, which runs the relay and the
// broker and passes them in the environment:
//   PEERMQ      the peermq binary          WEB_URL   the relay's "web: URL" line
//   BROKER      the broker's address       RELAY     the relay's address
//   RELAY_SPEC  what -relay= takes for the CLI nodes (ADDR@IP:PORT)
//   WORK        a scratch directory (the browser profile lives there)
// Every child process it starts is killed when it ends, also on failure. Prints "ok: " and
// "FAIL: " lines; exits 1 if anything failed.
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { chromiumOptions, processes, until as untilWithin } from './harness.mjs';

const env = name => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run web_consumer_test.sh`);
  return v;
};
const peermq = env('PEERMQ');
const webUrl = env('WEB_URL');
const broker = env('BROKER');
const relay = env('RELAY');
const relaySpec = env('RELAY_SPEC');
const work = env('WORK');
const kMarker = 'PEERMQ-PAYLOAD-MARKER-6d1f';  // must never cross the WebSocket in clear
const kWait = 60_000;  // every wait of the test is bounded by this

let passed = 0;
let failed = 0;
const check = (what, ok, detail = '') => {
  if (ok) { passed++; console.log(`ok: ${what}`); } else { failed++; console.log(`FAIL: ${what}${detail ? ` (${detail})` : ''}`); }
  return ok;
};

// ---------------------------------------------------------------- child processes
const { run, finished: finishedWithin, killAll } = processes(peermq);
const finished = (proc, ms = kWait) => finishedWithin(proc, ms);
function produce(name, command, count, payload, extra = [], to = broker) {
  return run(name, ['producer', `-broker=${to}`, `-relay=${relaySpec}`, `-command=${command}`,
    `-count=${count}`, `-payload=${payload}`, '-timeout=120', '-quiet', ...extra]);
}
const answersLine = p => (p.out.match(/^answers: \d+\/\d+$/m) || [''])[0];

// ---------------------------------------------------------------- the browser
const until = (what, predicate, ms = kWait) => untilWithin(what, predicate, ms, 50);

// base32 (RFC 4648, lowercase, no padding) to bytes: an address's first 32 bytes are its key.
function addressKey(address) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0, value = 0;
  const out = [];
  for (const c of address) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out.slice(0, 32));
}

const frames = [];  // every WebSocket frame the page sent or received
const consoleLines = [];  // what the pages logged, shown when something failed
function watch(page) {
  page.on('console', m => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', e => consoleLines.push(`page error: ${e.message}`));
  page.on('websocket', ws => {
    ws.on('framesent', f => frames.push(Buffer.from(f.payload)));
    ws.on('framereceived', f => frames.push(Buffer.from(f.payload)));
  });
}
const text = (page, id) => page.locator(`#${id}`).textContent();
const processed = async page => Number(await text(page, 'processed'));

// A browser with a profile of its own (its IndexedDB: its key) under WORK.
const launch = profile => chromium.launchPersistentContext(`${work}/${profile}`, chromiumOptions());

async function main() {
  const context = await launch('profile');
  try {
    const url = `${webUrl}?broker=${broker}&commands=num_users,num_servers&log=${process.env.PAGE_LOG || "info"}`;
    let page = await context.newPage();
    watch(page);
    await page.goto(url);
    const address = await until('the page to show its address', async () => (await text(page, 'address')).trim());
    check('the page shows its own address', /^[a-z2-7]{56}$/.test(address), address);
    check('... which is not the broker\'s or the relay\'s', address !== broker && address !== relay);

    // 1. num_users and num_servers from CLI producers, with nobody but the page consuming.
    const n = 50;
    const users = produce('users', 'num_users', n, `${kMarker} users`);
    const servers = produce('servers', 'num_servers', n, `${kMarker} servers`);
    check('a num_users producer gets every answer from the page', (await finished(users)) === 0 && answersLine(users) === `answers: ${n}/${n}`, answersLine(users) || users.err);
    check('a num_servers producer gets every answer from the page', (await finished(servers)) === 0 && answersLine(servers) === `answers: ${n}/${n}`, answersLine(servers) || servers.err);
    await until('the page to count its answers', async () => (await processed(page)) >= 2 * n);
    check(`the page answered each of the ${2 * n} messages once`, (await processed(page)) === 2 * n, String(await processed(page)));

    // 2. A CLI consumer and the page share one command's messages.
    const cli = run('cli-consumer', ['consumer', `-broker=${broker}`, `-relay=${relaySpec}`, '-command=num_users', '-name=cli']);
    await until('the CLI consumer to say hello to the broker', () => /connected to broker/.test(cli.err));
    const before = await processed(page);
    const m = 400;
    const shared = produce('shared', 'num_users', m, `${kMarker} shared`, ['-inflight=16']);
    check('a producer of messages shared by the page and a CLI consumer gets every answer', (await finished(shared)) === 0 && answersLine(shared) === `answers: ${m}/${m}`, answersLine(shared) || shared.err);
    const byPage = (await processed(page)) - before;
    const byCli = (cli.out.match(/^message /mg) || []).length;
    check('the page took a share', byPage > 0, `page ${byPage}, cli ${byCli}`);
    check('the CLI consumer took a share', byCli > 0, `page ${byPage}, cli ${byCli}`);
    check('together they answered each message once', byPage + byCli === m, `page ${byPage} + cli ${byCli} of ${m}`);

    // 3. Closing the tab mid-stream loses nothing: what it held goes to the CLI consumer.
    const k = 400;
    const cliBefore = (cli.out.match(/^message /mg) || []).length;
    const pageBefore = await processed(page);
    const stream = produce('stream', 'num_users', k, `${kMarker} stream`, ['-inflight=16', '-delay=5']);
    await until('the page to answer some of the stream', async () => (await processed(page)) >= pageBefore + 10);
    const pageShare = (await processed(page)) - pageBefore;
    await page.close();
    check('with the tab closed mid-stream, the producer still gets every answer', (await finished(stream, 120_000)) === 0 && answersLine(stream) === `answers: ${k}/${k}`, answersLine(stream) || stream.err);
    const cliShare = (cli.out.match(/^message /mg) || []).length - cliBefore;
    check('the CLI consumer took over the rest', cliShare >= k - pageShare - 16, `page ${pageShare}, cli ${cliShare} of ${k}`);

    // 4. A reload keeps the address (the key is in IndexedDB).
    page = await context.newPage();
    watch(page);
    await page.goto(url);
    const again = await until('the reopened page to show its address', async () => (await text(page, 'address')).trim());
    check('a reopened page has the same address', again === address, `${again} vs ${address}`);
    await page.reload();
    const reloaded = await until('the reloaded page to show its address', async () => (await text(page, 'address')).trim());
    check('a reloaded page has the same address', reloaded === address, `${reloaded} vs ${address}`);

    // 5. The producer form: the page publishes and shows the answer (only the page consumes
    //    num_servers, so it answers its own message).
    await page.fill('#publish-command', 'num_servers');
    await page.fill('#publish-payload', `${kMarker} form`);
    await page.click('#publish-send');
    const formAnswer = await until('the form\'s answer', async () => {
      const t = (await text(page, 'publish-answer')).trim();
      return t && t !== '…' ? t : '';
    });
    check('the producer form shows the answer', formAnswer === `${kMarker} form`, formAnswer);

    // 6. Allow-lists as for any node: a broker whose list names the page's address serves
    //    it; a tab with another key gets the refusal a CLI consumer gets.
    writeFileSync(`${work}/allow`, `${address} consume=num_users\n* produce=num_users\n`);
    const strict = run('strict-broker', ['broker', `-key=${work}/strict.key`, '-listen=127.0.0.1:0',
      `-data=${work}/strict-data`, `-relay=${relaySpec}`, `-allow=${work}/allow`]);
    const strictAddress = (await until('the strict broker\'s address', () => strict.out.match(/^address: (\S+)$/m)))[1];
    const strictUrl = `${webUrl}?broker=${strictAddress}&commands=num_users`;
    await page.goto(strictUrl);
    const allowed = produce('allowed', 'num_users', 5, `${kMarker} allowed`, [], strictAddress);
    check('a broker whose allow-list names the page\'s address has it answer', (await finished(allowed)) === 0 && answersLine(allowed) === 'answers: 5/5', answersLine(allowed) || allowed.err);
    const cliRefused = run('refused-cli', ['consumer', `-broker=${strictAddress}`, `-relay=${relaySpec}`, '-command=num_users']);
    await finished(cliRefused);
    const cliWords = (cliRefused.err.match(/the broker refused this consumer: .*/) || [''])[0];
    check('a CLI consumer not on the list is refused', cliWords !== '', cliRefused.err);
    const stranger = await launch('stranger-profile');
    const other = await stranger.newPage();
    watch(other);
    await other.goto(strictUrl);
    const otherAddress = await until('the other tab\'s address', async () => (await text(other, 'address')).trim());
    const refusal = await until('the other tab\'s refusal', async () => (await text(other, 'error')).trim());
    check('a tab with another key is a node of its own', otherAddress !== address, otherAddress);
    check('a tab not on the list gets the refusal a CLI consumer gets', refusal === cliWords, `page: ${refusal} / cli: ${cliWords}`);
    await stranger.close();

    // 7. One host, no relay: a broker with -web serves the page and is its relay; when the
    //    WebSocket drops (the broker restarts on the same port), the page reconnects by itself.
    const single = ['broker', `-key=${work}/single.key`, '-listen=127.0.0.1:0', `-data=${work}/single-data`];
    let solo = run('web-broker', [...single, '-web=127.0.0.1:0']);
    const soloWeb = (await until('the web broker\'s web: line', () => solo.out.match(/^web: (http:\/\/127\.0\.0\.1:(\d+)\/)$/m)));
    const soloAddress = solo.out.match(/^address: (\S+)$/m)[1];
    const direct = await context.newPage();
    watch(direct);
    await direct.goto(`${soloWeb[1]}?broker=${soloAddress}&commands=num_users`);
    const localProducer = (name, count) => run(name, ['producer', `-broker=${soloAddress}`,
      '-command=num_users', `-count=${count}`, `-payload=${kMarker} single`, '-timeout=120', '-quiet']);
    const directAddress = await until('the page of the web broker to show its address', async () => (await text(direct, 'address')).trim());
    const first = localProducer('single-1', 10);
    check('a broker with -web alone serves the page, which answers its messages', (await finished(first)) === 0 && answersLine(first) === 'answers: 10/10', answersLine(first) || first.err);
    process.kill(-solo.child.pid, 'SIGTERM');
    await finished(solo);
    const dropped = await until('the page to see its WebSocket drop', async () => (await text(direct, 'state')) === 'disconnected');
    check('the page shows the dropped connection', dropped);
    solo = run('web-broker-again', [...single, `-web=127.0.0.1:${soloWeb[2]}`]);
    await until('the restarted broker\'s web: line', () => /^web: /m.test(solo.out));
    const second = localProducer('single-2', 10);
    check('after the restart the page reconnects by itself and answers again', (await finished(second, 120_000)) === 0 && answersLine(second) === 'answers: 10/10', answersLine(second) || second.err);
    check('... as the same node', (await text(direct, 'address')).trim() === directAddress);
    await direct.close();

    // 8. Nothing readable crossed the WebSocket.
    check('the page sent and received WebSocket frames', frames.length > 0, String(frames.length));
    const secrets = [
      ['the payload marker', Buffer.from(kMarker)],
      ['the page\'s address', Buffer.from(address)], ['the page\'s key', addressKey(address)],
      ['the broker\'s address', Buffer.from(broker)], ['the broker\'s key', addressKey(broker)],
    ];
    for (const [what, bytes] of secrets) {
      const seen = frames.filter(f => f.includes(bytes)).length;
      check(`no WebSocket frame carries ${what} in clear`, seen === 0, `${seen} of ${frames.length} frames do`);
    }
  } finally {
    await context.close();
    killAll();
  }
}

const showConsole = () => console.log(`--- the pages' console (last 60 lines)\n${consoleLines.slice(-60).join('\n')}`);
main().then(() => {
  if (failed > 0) showConsole();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}, e => {
  console.log(`FAIL: ${e.message}`);
  showConsole();
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
