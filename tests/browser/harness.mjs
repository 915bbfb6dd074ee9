// What the browser tests and the browser benchmark share: peermq child processes that die
// with the script, bounded waits, and how Debian's chromium is launched headless here.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

// Child processes of `binary`, each in a process group of its own, all killed when the
// script exits (also on SIGINT, SIGTERM, SIGHUP).
export function processes(binary) {
  const children = new Set();
  const killAll = () => {
    for (const p of children) { try { process.kill(-p.child.pid, 'SIGKILL'); } catch { /* gone */ } }
  };
  process.on('exit', killAll);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => { killAll(); process.exit(1); });
  // { name, child, out, err, exited }: out and err grow as the process prints.
  const run = (name, args) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const proc = { name, child, out: '', err: '', exited: once(child, 'exit') };
    child.stdout.on('data', d => { proc.out += d; });
    child.stderr.on('data', d => { proc.err += d; });
    children.add(proc);
    proc.exited.then(() => children.delete(proc));
    return proc;
  };
  // Its exit code; killed, and an error, if it has not ended within `ms`.
  const finished = async (proc, ms) => {
    let timer;
    const r = await Promise.race([proc.exited, new Promise(res => { timer = setTimeout(res, ms, 'timeout'); })]);
    clearTimeout(timer);
    if (r === 'timeout') {
      try { process.kill(-proc.child.pid, 'SIGKILL'); } catch { /* gone */ }
      throw new Error(`${proc.name} did not finish in ${ms / 1000} s; it printed:\n${proc.out}\n${proc.err}`);
    }
    return proc.child.exitCode;
  };
  return { run, finished, killAll };
}

// Polls `predicate` (sync or async) until it returns something truthy, which it returns;
// an error naming `what` after `ms`.
export async function until(what, predicate, ms, step = 20) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise(r => setTimeout(r, step));
  }
}

// launchPersistentContext's options for Debian's chromium, headless, as root, on a machine
// without a network: no sandbox, no GPU, none of Chromium's own background connections.
export function chromiumOptions() {
  return {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  };
}
