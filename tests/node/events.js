// dockerode getEvents against the daemon at DOCKER_HOST (tests/e2e/B3_node.bats).
// Prints one line per event the test asserts on, as "<Type> <Action> <name>".
'use strict';
const Docker = require('dockerode');

const docker = new Docker(); // DOCKER_HOST=unix://...

function collect(stream, until) {
  // events arrive as newline-delimited JSON, possibly split across chunks
  return new Promise((resolve, reject) => {
    let buf = '';
    const out = [];
    stream.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        const ev = JSON.parse(line);
        out.push(ev);
        if (until && until(ev)) {
          stream.destroy();
          resolve(out);
        }
      }
    });
    stream.on('end', () => resolve(out));
    stream.on('error', reject);
  });
}

const fmt = (ev) => `${ev.Type} ${ev.Action} ${ev.Actor.Attributes.name || ''}`.trim();

async function main() {
  const name = process.argv[2] || 'node-ev';
  const since = Math.floor(Date.now() / 1000) - 1;

  // live: subscribe, then make the events happen
  const live = await docker.getEvents({ filters: { container: [name] } });
  const done = collect(live, (ev) => ev.Action === 'destroy');
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 7'], name });
  await c.start();
  const w = await c.wait();
  await c.remove();
  const events = await done;
  for (const ev of events) console.log('live ' + fmt(ev) + (ev.Action === 'die' ? ` exitCode=${ev.Actor.Attributes.exitCode}` : ''));
  console.log(`wait StatusCode=${w.StatusCode}`);

  // replay: since/until return the past events and end the stream
  const past = await docker.getEvents({ since, until: Math.ceil(Date.now() / 1000) + 1, filters: { container: [name], event: ['die'] } });
  for (const ev of await collect(past)) console.log('past ' + fmt(ev) + ` status=${ev.status} from=${ev.from}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
