/**
 * `npm run cluster` itself: PostgreSQL, the Temporal server v1.30.8 on it, the Web UI and
 * an S3 server come up natively, `cluster.env` says how to reach them, Ctrl-C stops them
 * all (and removes the file), and a second start finds the data of the first.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { openArtifactStore } from '../../src/artifacts/open';
import { readJsonArtifact } from '../../src/artifacts/read';
import { withRegistry } from '../../src/registry/open';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/searchAttributes';
import { tempHome } from '../helpers/temporalServer';

const ROOT = path.resolve(__dirname, '../..');
const home = tempHome('perennial-cluster-');
let child: ChildProcess | undefined;

after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await new Promise((r) => child!.once('exit', r));
  }
  rmSync(home, { recursive: true, force: true });
  // As root, PostgreSQL's data lives where the postgres user can reach it (scripts/cluster.ts).
  rmSync(path.join('/var/lib/postgresql', `perennial-${createHash('sha256').update(home).digest('hex').slice(0, 12)}`), { recursive: true, force: true });
});

function startCluster(): { child: ChildProcess; output: () => string } {
  const c = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/cluster.ts')], {
    cwd: ROOT,
    env: { ...process.env, PERENNIAL_HOME: home, LOG_LEVEL: 'info', TEMPORAL_CONFIG_FILE: path.join(home, 'none.toml') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  c.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child = c;
  return { child: c, output: () => output };
}

/** The settings cluster.env exports, once it is written (the cluster is healthy then). */
async function settings(c: { child: ChildProcess; output: () => string }): Promise<Record<string, string>> {
  const file = path.join(home, 'cluster.env');
  // The first start builds the Go servers (minutes); later ones take seconds.
  const deadline = Date.now() + 15 * 60_000;
  while (!existsSync(file)) {
    if (c.child.exitCode !== null) throw new Error(`npm run cluster exited ${c.child.exitCode}:\n${c.output()}`);
    if (Date.now() > deadline) throw new Error(`no cluster.env after 15 minutes:\n${c.output()}`);
    await sleep(250);
  }
  await sleep(100);
  assert.equal(statSync(file).mode & 0o077, 0, 'cluster.env holds a password: only its owner reads it');
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('export '))
      .map((l) => {
        const [, k, v] = /^export ([A-Z0-9_]+)=(.*)$/.exec(l)!;
        return [k, v.replace(/^'(.*)'$/, '$1')];
      }),
  );
}

function portOpen(address: string): Promise<boolean> {
  const [host, port] = address.replace(/^\w+:\/\//, '').split(/[:/]/);
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function stop(c: { child: ChildProcess; output: () => string }): Promise<void> {
  c.child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => c.child.once('exit', r));
  assert.equal(code, 0, c.output());
}

test('npm run cluster: every part up on free ports, its settings written, all stopped on Ctrl-C, the data kept for the next start', async () => {
  const first = startCluster();
  const env = await settings(first);
  assert.deepEqual(Object.keys(env).sort(), [
    'AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY', 'PERENNIAL_ARTIFACTS_URL', 'PERENNIAL_REGISTRY_URL', 'PERENNIAL_UI_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE',
  ]);
  assert.match(env.PERENNIAL_REGISTRY_URL, /^postgres:\/\/perennial:[^@]+@127\.0\.0\.1:\d+\/perennial$/);
  assert.equal(env.PERENNIAL_ARTIFACTS_URL, 's3://perennial/artifacts');
  assert.match(first.output(), /export TEMPORAL_ADDRESS=127\.0\.0\.1:\d+/, 'the settings are printed too');
  const password = new URL(env.PERENNIAL_REGISTRY_URL).password;
  assert.ok(password.length >= 16 && !first.output().includes(password), 'but not the database password');
  assert.ok(!first.output().includes(env.AWS_SECRET_ACCESS_KEY), 'nor the S3 secret');

  // Temporal v1.30.8 on PostgreSQL, with the namespace and perennial's search attributes.
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  try {
    const info = await connection.workflowService.getSystemInfo({});
    assert.ok(info.capabilities, 'the server answers');
    await connection.workflowService.describeNamespace({ namespace: env.TEMPORAL_NAMESPACE });
    const attributes = await connection.operatorService.listSearchAttributes({ namespace: env.TEMPORAL_NAMESPACE });
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) assert.ok(name in attributes.customAttributes, `${name} is registered`);
  } finally {
    await connection.close();
  }
  const ui = await fetch(env.PERENNIAL_UI_URL);
  assert.equal(ui.status, 200);
  assert.match(await ui.text(), /<html/i);
  assert.equal(await withRegistry({ home, registryUrl: env.PERENNIAL_REGISTRY_URL }, (r) => r.next('cluster-check', 'starts')), 1);
  Object.assign(process.env, { AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL, AWS_REGION: env.AWS_REGION, AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY });
  const stored = await openArtifactStore({ home, artifactsUrl: env.PERENNIAL_ARTIFACTS_URL }).putJson('checks', { kept: true });

  await stop(first);
  assert.ok(!existsSync(path.join(home, 'cluster.env')), 'a stopped cluster leaves no settings that point at nothing');
  for (const address of [env.TEMPORAL_ADDRESS, env.PERENNIAL_UI_URL, env.AWS_ENDPOINT_URL, env.PERENNIAL_REGISTRY_URL.replace(/^.*@/, '')]) {
    assert.equal(await portOpen(address), false, `${address} is closed`);
  }

  const second = startCluster();
  const again = await settings(second);
  assert.equal(await withRegistry({ home, registryUrl: again.PERENNIAL_REGISTRY_URL }, (r) => r.next('cluster-check', 'starts')), 2, 'the registry kept its rows');
  process.env.AWS_ENDPOINT_URL = again.AWS_ENDPOINT_URL;
  assert.deepEqual(await readJsonArtifact(stored.uri), { kept: true }, 'the bucket kept its objects');
  await stop(second);
});
