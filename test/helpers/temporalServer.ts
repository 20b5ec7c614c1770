import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/util/net';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { loadConfig, type Config } from '../../src/config';
import { startDevServer, type RunningDevServer } from '../../src/temporal/devServer';
import { connectClient, connectWorker } from '../../src/temporal/connection';
import { createLogger } from '../../src/logging';
import { buildModelServer, type ModelServer } from '../../src/serving/app';
import { createWorker } from '../../src/worker/createWorker';
import { WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker/workflowBundle';

export { freePort };

export function tempHome(prefix = 'perennial-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A real Temporal dev server on free loopback ports, with its own state folder. */
export interface TestStack {
  home: string;
  config: Config;
  env: NodeJS.ProcessEnv;
  server: RunningDevServer;
  client: Client;
  workerConnection: NativeConnection;
  stop(): Promise<void>;
}

export async function startTestStack(): Promise<TestStack> {
  const home = tempHome();
  const env: NodeJS.ProcessEnv = {
    PERENNIAL_HOME: home,
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    PERENNIAL_UI_PORT: String(await freePort()),
    PERENNIAL_TASK_QUEUE: `test-${path.basename(home)}`,
    PERENNIAL_SERVER_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    // Keep the user's own envconfig profile out of tests.
    TEMPORAL_CONFIG_FILE: path.join(home, 'no-such-temporal.toml'),
  };
  const config = loadConfig(env);
  const server = await startDevServer({ home, address: config.temporalAddress, uiPort: config.uiPort, namespace: config.namespace });
  const client = await connectClient(config, 'test');
  const workerConnection = await connectWorker(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'error', 'perennial-test'));
  return {
    home,
    config,
    env,
    server,
    client,
    workerConnection,
    async stop() {
      await client.connection.close();
      await workerConnection.close();
      await server.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: quietLogger });
  return bundle;
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/** A test stack with a worker running perennial's workflows and a real model server over HTTP. */
export interface ServingStack extends TestStack {
  modelServer: ModelServer;
}

export async function startServingStack(): Promise<ServingStack> {
  const stack = await startTestStack();
  const modelServer = await buildModelServer({ home: stack.home, pollMs: 100 });
  await modelServer.app.listen({ host: '127.0.0.1', port: stack.config.server.port });
  await modelServer.presence.advertise(stack.config.server.url);
  const worker = await createWorker({ config: stack.config, connection: stack.workerConnection, workflowBundle: await workflowBundle() });
  const running = worker.run();
  return {
    ...stack,
    modelServer,
    async stop() {
      worker.shutdown();
      await running;
      await modelServer.close();
      await stack.stop();
    },
  };
}
