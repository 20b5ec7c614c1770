/**
 * A stub-activity worker in its own process, so a test can SIGKILL it in the middle of a
 * monitor check: its `checkChampion` writes the check's key to PERENNIAL_TEST_HELD_CHECK,
 * then never returns. Everything else is `stubActivities`.
 */
import { writeFileSync } from 'node:fs';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logging';
import { connectWorker } from '../../src/temporal/connection';
import { createWorker } from '../../src/worker/createWorker';
import type { MonitorCheckInput } from '../../src/monitoring/check';
import { stubActivities } from './stubActivities';

async function main(): Promise<void> {
  const config = loadConfig();
  const held = process.env.PERENNIAL_TEST_HELD_CHECK!;
  const activities = {
    ...stubActivities(config),
    checkChampion: async (input: MonitorCheckInput) => {
      writeFileSync(held, input.checkKey);
      return new Promise<never>(() => undefined);
    },
  };
  const connection = await connectWorker(config, createLogger(config.logLevel));
  const worker = await createWorker({ config, connection, activities });
  await worker.run();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
