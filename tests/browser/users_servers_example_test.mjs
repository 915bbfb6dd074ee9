// examples/users_servers/run.sh end to end, as its README tells a user to run it: the
// script starts the broker (with -web), the CLI consumer and both producers and prints the
// page's URL; the page, opened in headless Chromium, takes part: both producers get
// answers from the CLI consumer (numbers) and from the page (the payload back).
//   node users_servers_example_test.mjs BUILD_DIR WORK
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';
import { chromiumOptions, until as untilWithin } from './harness.mjs';

const [build, work] = process.argv.slice(2);
const root = new URL('../..', import.meta.url).pathname;
const script = spawn('bash', [`${root}/examples/users_servers/run.sh`, build, '127.0.0.1:0'],
  { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
let out = '';
script.stdout.on('data', d => { out += d; });
script.stderr.on('data', d => { out += d; });
const stop = () => { try { process.kill(-script.pid, 'SIGTERM'); } catch { /* gone */ } };
process.on('exit', stop);

const until = (what, predicate) =>
  untilWithin(what, predicate, 60_000, 50).catch(e => { throw new Error(`${e.message}; run.sh printed:\n${out}`); });

let failed = 0;
const check = (what, ok) => { console.log(`${ok ? 'ok' : 'FAIL'}: ${what}`); if (!ok) failed++; };

const browser = await chromium.launchPersistentContext(`${work}/profile`, chromiumOptions());
try {
  const url = (await until('the page URL', () => out.match(/^open the web consumer: (\S+)$/m)))[1];
  check('run.sh prints the URL of the web consumer', url.includes('?broker=') && url.includes('commands=num_users,num_servers'));
  await until('answers from the CLI consumer', () => /producer-1: num_users = 1500/.test(out) && /producer-2: num_servers = 12/.test(out));
  check('both producers get answers from the CLI consumer', true);
  const page = await browser.newPage();
  await page.goto(url);
  await until('the page to answer', async () => Number(await page.locator('#processed').textContent()) >= 2);
  check('the page answers messages of the example', true);
  await until('answers from the page', () => /producer-1: num_users = num_users\?/.test(out) && /producer-2: num_servers = num_servers\?/.test(out));
  check('both producers get answers from the page too', true);
} catch (e) {
  check(e.message, false);
} finally {
  await browser.close();
  stop();
}
process.exit(failed === 0 ? 0 : 1);
