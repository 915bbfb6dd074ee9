// The page: a consumer of the commands in ?commands= and a small producer form, on one
// peermq node that lives in this tab (peermq.js). Everything protocol is in the wasm
// cores; this file only shows what happens.
//
//   /?broker=ADDR&commands=num_users,num_servers[&log=debug]
import { Node, setLogLevel } from './peermq.js';

const kShownMessages = 200;  // the list keeps the newest ones only

const params = new URLSearchParams(location.search);
const broker = params.get('broker') || '';
const commands = (params.get('commands') || '').split(',').map(s => s.trim()).filter(Boolean);

const $ = id => document.getElementById(id);

function show(line) {
  const list = $('messages');
  const item = document.createElement('li');
  item.textContent = `${new Date().toISOString().slice(11, 23)} ${line}`;
  list.prepend(item);
  while (list.children.length > kShownMessages) list.lastElementChild.remove();
}

function fail(what) {
  $('error').hidden = false;
  $('error').textContent = what;
}

async function main() {
  $('broker').textContent = broker || '(none: add ?broker=ADDR to the URL)';
  $('commands').textContent = commands.length ? commands.join(', ') : '(none: add ?commands=a,b)';
  if (params.get('log')) await setLogLevel(params.get('log'));
  const node = await Node.open();
  $('address').textContent = node.address;
  node.on('state', s => { $('state').textContent = s; });
  if (!broker) {
    $('publish-send').disabled = true;
    return;
  }
  addEventListener('pagehide', () => node.close());  // says bye: the broker requeues at once
  if (commands.length) {
    const consumer = node.consume(broker, commands);
    consumer.on('message', m => show(`${m.command} from ${m.producer}: ${m.text}`));
    consumer.on('refused', fail);
    consumer.on('answer', (m, answer) => {
      $('processed').textContent = String(consumer.processed);
      show(`answered ${m.command}: ${typeof answer === 'string' ? answer : new TextDecoder().decode(answer)}`);
    });
  }
  // The form publishes from a second node of this tab (a fresh key, kept in memory): one
  // node is a consumer or a producer, not both (peermq.js).
  let producer = null;
  addEventListener('pagehide', () => producer?.then(p => p.close()));
  $('publish').addEventListener('submit', async event => {
    event.preventDefault();
    producer ??= Node.open({ keyStore: 'memory' });
    const command = $('publish-command').value.trim();
    const payload = $('publish-payload').value;
    $('publish-answer').textContent = '…';
    try {
      const answer = await (await producer).publish(broker, command, payload);
      $('publish-answer').textContent = answer.text;
      show(`${command} answered: ${answer.text}`);
    } catch (e) {
      $('publish-answer').textContent = '';
      fail(`${command}: ${e.message || e}`);
    }
  });
}

main().catch(e => fail(e.message || String(e)));
