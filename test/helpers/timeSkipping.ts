import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { timeSkippingServerOptions } from '../../src/temporal/binaries';
import { installRuntimeLogger } from '../../src/temporal/runtime';
import { createLogger } from '../../src/logging';
import { loadConfig, type Config } from '../../src/config';
import { buildModelServer, type ModelServer } from '../../src/serving/app';
import { freePort, tempHome } from './temporalServer';

/** The time-skipping test server, a config pointing at it, and a real model server. */
export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  config: Config;
  modelServer: ModelServer;
  stop(): Promise<void>;
}

export async function startTimeSkippingStack(taskQueue: string, homePrefix?: string): Promise<TimeSkippingStack> {
  installRuntimeLogger(createLogger(process.env.TEST_LOG_LEVEL ?? 'error', 'perennial-test'));
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
