/**
 * `npm run train -- <model|spec file> [--by ID] [--json]`: starts one training run on
 * the running Temporal server and worker, waits, and prints the registered version.
 */
import { parseArgs } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { loadConfig } from '../src/config';
import { findSpec } from '../src/spec/load';
import { connectClient } from '../src/temporal/connection';
import { trainingTaskQueue } from '../src/temporal/taskQueues';
import { defaultActor, startTraining } from '../src/client/startTraining';
import { trainingJson, trainingText } from '../src/client/trainingReport';

/** The innermost cause of a failure chain, with its type when it is an ApplicationFailure. */
function rootFailure(err: Error): { message: string; type?: string } {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return { message: e.message, type: e instanceof ApplicationFailure ? (e.type ?? undefined) : undefined };
}

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
    const trainer = loaded.spec.trainer;
    const elsewhere = trainer.type === 'gbdt' ? '' : ` and a Python worker on "${trainer.taskQueue}" (npm run worker:python)`;
    if (!values.json) console.error(`started ${handle.workflowId}; waiting for a worker on task queues "${config.taskQueue}" and "${trainingTaskQueue(config.taskQueue)}"${elsewhere}...`);
    let result;
    try {
      result = await handle.result();
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      // The activity's own error, not "Workflow execution failed".
      const cause = rootFailure(err);
      const failure = { ok: false, workflowId: handle.workflowId, runId: handle.firstExecutionRunId, error: cause.message, type: cause.type };
      if (values.json) console.log(JSON.stringify(failure));
      else console.error(`training ${handle.workflowId} failed${cause.type ? ` (${cause.type})` : ''}: ${cause.message}`);
      return 1;
    }
    const runId = handle.firstExecutionRunId;
    console.log(values.json ? JSON.stringify(trainingJson(result, handle.workflowId, runId, config)) : trainingText(result, handle.workflowId, runId, config));
    return 0;
  } finally {
    await client.connection.close();
  }
}

main().then(
  // Exit once stdout has taken everything: a piped --json answer is never cut short.
  (code) => process.stdout.write('', () => process.exit(code)),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
