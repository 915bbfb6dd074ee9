// The wasm build's cores, run under Node.js: the Noise test vectors byte for byte, the
// address of a fixed seed as the native build gives it, and two wasm hosts wired to each
// other in JS exchanging messages over a real session.
//
//   node tests/web/wasm_test.mjs WEB_DIR DATA_DIR   (WEB_DIR: BUILD/web, with peermq_web.js)
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';

const [webDir, dataDir] = process.argv.slice(2);
// emscripten 3.1.6's ES module output still says __dirname and require() under node.
globalThis.__dirname = webDir;
globalThis.require = createRequire(import.meta.url);
const { default: createPeermq } = await import(pathToFileURL(`${webDir}/peermq_web.js`).href);
const wasm = await createPeermq({
  // emscripten 3.1.6 would fetch() a file path under node 18+: hand it the bytes instead.
  wasmBinary: readFileSync(`${webDir}/peermq_web.wasm`),
  // libsodium's randombytes finds crypto.getRandomValues on `window`/`self` in a browser;
  // node has it on globalThis only.
  getRandomValue: () => webcrypto.getRandomValues(new Uint32Array(1))[0],
});

let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'FAIL'}: ${what}`);
  if (!ok) failed++;
};

// ---- the Noise vectors ------------------------------------------------------------------
const { vectors } = JSON.parse(readFileSync(`${dataDir}/noise_25519_chachapoly_blake2b.json`, 'utf8'));
for (const v of vectors) {
  const got = wasm.runNoiseVector(v);
  const want = v.messages.map((m) => m.ciphertext);
  check(!got.error && JSON.stringify(got) === JSON.stringify(want),
        `${v.name}: ${want.length} messages reproduced byte for byte${got.error ? ` (${got.error})` : ''}`);
}
check(vectors.length === 15, 'the vector file holds the 15 fundamental patterns');

// ---- identity ---------------------------------------------------------------------------
// RFC 8032's first test seed; tests/crypto/identity_test.cpp checks the native build
// gives this same address text.
const rfcSeed = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const rfcAddress = '25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenhqtdm';
check(wasm.addressOfSeed(rfcSeed) === rfcAddress,
      `the RFC 8032 seed gives the native address (${wasm.addressOfSeed(rfcSeed)})`);
const s1 = wasm.generateSeed();
const s2 = wasm.generateSeed();
check(/^[0-9a-f]{64}$/.test(s1) && s1 !== s2, 'generated seeds are 32 random bytes');
check(wasm.addressOfSeed('00') === '', 'a short seed has no address');

// ---- two hosts over one wire ------------------------------------------------------------
// Each host's only peer sits at the other end of its "socket" (Endpoint::web(0)); the wire
// delivers on a later turn, as a network does.
const hosts = [];
const wire = (to) => (view) => {
  const copy = view.slice();
  setImmediate(() => hosts[to].receive(copy));
};
hosts.push(new wasm.WebNode(wasm.generateSeed(), '', wire(1)));
hosts.push(new wasm.WebNode(wasm.generateSeed(), '', wire(0)));
const [a, b] = hosts;
check(a.addPeer(b.address()) === '' && b.addPeer(a.address()) === '', 'each host knows the other');
check(a.opened() === '' && b.opened() === '', 'both hosts start');

const received = { a: [], b: [] };
a.onMessage((from, view) => received.a.push([from, new TextDecoder().decode(view)]));
b.onMessage((from, view) => {
  const text = new TextDecoder().decode(view);
  received.b.push([from, text]);
  b.send(from, new TextEncoder().encode(`re: ${text}`));
});
const count = 50;
for (let i = 0; i < count; i++) a.send(b.address(), new TextEncoder().encode(`message ${i}`));
const until = async (cond, ms) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 5));
  return cond();
};
await until(() => received.a.length === count, 10000);
check(received.b.length === count && received.b.every(([from, t], i) => from === a.address() && t === `message ${i}`),
      `B got A's ${count} messages, in order, from A's address (${received.b.length})`);
check(received.a.length === count && received.a.every(([, t], i) => t === `re: message ${i}`),
      `A got B's ${count} answers (${received.a.length})`);
check(a.send('not-an-address', new Uint8Array(1)) !== '', 'send to a malformed address is refused');
a.close();
b.close();
a.delete();
b.delete();

console.log(failed === 0 ? 'all passed' : `${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
