import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort } from '../../src/util/net';

test('freePort picks distinct ports below the ephemeral range that a server can then listen on', async () => {
  let ephemeralStart = 49_152; // elsewhere than Linux: the IANA range
  try {
    ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux
  }
  // Ports the OS hands to sockets bound to port 0 (e.g. a Temporal dev server's internal
  // services) come from the ephemeral range: a port picked below it cannot be taken that way.
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  for (const port of ports) {
    assert.ok(port >= 1024 && port < ephemeralStart, `${port} is below ${ephemeralStart}`);
  }
  assert.equal(new Set(ports).size, ports.length, 'never the same port twice in one process');
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(ports[0], '127.0.0.1', resolve);
  });
  await new Promise((resolve) => srv.close(resolve));
});
