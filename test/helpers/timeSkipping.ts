import { after, before } from 'node:test';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingServerOptions } from '../../src/temporal/binaries';
import { installRuntime } from '../../src/temporal/runtime';
import { createLogger } from '../../src/logging';
import { loadConfig, type Config } from '../../src/config';
import { buildModelServer, type ModelServer } from '../../src/serving/app';
import { createWorker, type PerennialWorker } from '../../src/worker/createWorker';
import { freePort, tempHome, workflowBundle } from './temporalServer';

/** The time-skipping test server, a config pointing at it, and a real model server. */
export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  config: Config;
  modelServer: ModelServer;
  stop(): Promise<void>;
}

export async function startTimeSkippingStack(taskQueue: string, homePrefix?: string): Promise<TimeSkippingStack> {
  installRuntime(createLogger(process.env.TEST_LOG_LEVEL ?? 'error', 'perennial-test'));
  const home = tempHome(homePrefix);
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: await timeSkippingServerOptions() });
  // Activities reach Temporal (e.g. to read a sender's identity) at the test server's address.
  const config = loadConfig({
    TEMPORAL_ADDRESS: env.address,
    PERENNIAL_HOME: home,
    PERENNIAL_SERVER_PORT: String(await freePort()),
    PERENNIAL_TASK_QUEUE: taskQueue,
    TEMPORAL_CONFIG_FILE: path.join(home, 'none.toml'),
  });
  const modelServer = await buildModelServer({ home, pollMs: 100 });
  await modelServer.app.listen({ host: '127.0.0.1', port: config.server.port });
  await modelServer.presence.advertise(config.server.url);
  return {
    env,
    config,
    modelServer,
    async stop() {
      await modelServer.close();
      await env.teardown();
    },
  };
}

/**
 * For one test file: the time-skipping stack and a worker running perennial's workflows on
 * it, started before the file's tests and stopped after them. The stack's fields are set
 * once `before` has run. `activities` replaces the worker's activities (fault injection).
 */
export function timeSkippingWorker(taskQueue: string, activities?: (config: Config) => object): TimeSkippingStack {
  const stack = {} as TimeSkippingStack;
  let worker: PerennialWorker | undefined;
  let running: Promise<void> | undefined;
  before(async () => {
    Object.assign(stack, await startTimeSkippingStack(taskQueue));
    const { env, config } = stack;
    worker = await createWorker({ config, connection: env.nativeConnection, workflowBundle: await workflowBundle(), ...(activities ? { activities: activities(config) } : {}) });
    running = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await running;
    await stack.stop?.();
  });
  return stack;
}
