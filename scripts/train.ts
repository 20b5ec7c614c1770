/**
 * `npm run train -- <model|spec file> [--by ID] [--json]`: starts one training run on
 * the running Temporal server and worker, waits, and prints the registered version.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { findSpec } from '../src/spec/load';
import { connectClient } from '../src/temporal/connection';
import { defaultActor, startTraining } from '../src/client/startTraining';
import { trainingJson, trainingText } from '../src/client/trainingReport';

const USAGE = 'usage: npm run train -- <model|spec file> [--by ID] [--json]';

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ allowPositionals: true, options: { by: { type: 'string' }, json: { type: 'boolean', default: false } } });
  } catch (err) {
    // An unknown flag or a flag missing its value is a usage error like a missing model.
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = args;
  if (positionals.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const loaded = findSpec(positionals[0], config.home);
  const by = values.by ?? defaultActor();
  let client;
  try {
    client = await connectClient(config, `perennial-train:${by}`, { connectTimeoutMs: 3000 });
  } catch (err) {
    console.error(`cannot reach Temporal at ${config.temporalAddress}: ${(err as Error).message}\nstart it with: npm start (or npm run temporal and npm run worker)`);
    return 4;
  }
  try {
    const handle = await startTraining(client, config, loaded, by);
    if (!values.json) console.error(`started ${handle.workflowId}; waiting for a worker on task queue "${config.taskQueue}"...`);
    const result = await handle.result();
    const runId = handle.firstExecutionRunId;
    console.log(values.json ? JSON.stringify(trainingJson(result, handle.workflowId, runId, config)) : trainingText(result, handle.workflowId, runId, config));
    return 0;
  } finally {
    await client.connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
