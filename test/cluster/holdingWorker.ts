/**
 * `npm run worker` with one difference, for the fault tests: for each `activity:model` in
 * PERENNIAL_TEST_HOLD, that activity's first attempt does its real work, then heartbeats
 * `held` and never returns, so a test can SIGKILL the worker at a known point — after the
 * step's side effects, before Temporal hears it finished. Everything else runs as usual.
 */
import { Context } from '@temporalio/activity';
import { activityDeps, createActivities } from '../../activities';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logging';
import { connectWorker } from '../../src/temporal/connection';
import { createWorker } from '../../src/worker/createWorker';

const holds = new Set((process.env.PERENNIAL_TEST_HOLD ?? '').split(',').filter(Boolean));

/** The model an activity's input is about. */
const modelOf = (input: unknown) => {
  const i = input as { spec?: { name?: string }; model?: string };
  return i.spec?.name ?? i.model;
};

function holding<A extends unknown[], R>(type: string, real: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const result = await real(...args);
    const ctx = Context.current();
    if (ctx.info.attempt === 1 && holds.has(`${type}:${modelOf(args[0])}`)) {
      for (;;) {
        ctx.heartbeat('held');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    return result;
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const real = createActivities(activityDeps(config)) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const activities = Object.fromEntries(Object.entries(real).map(([type, fn]) => [type, holding(type, fn)]));
  const connection = await connectWorker(config, createLogger(config.logLevel));
  const worker = await createWorker({ config, connection, activities });
  await worker.run();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
