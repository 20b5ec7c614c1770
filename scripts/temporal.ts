/**
 * `npm run temporal`: runs the local Temporal dev server (state in $PERENNIAL_HOME/temporal.sqlite)
 * until Ctrl-C / SIGTERM. If a server already answers at the address, says so and exits 0.
 */
import { DEFAULT_TEMPORAL_ADDRESS, loadConfig } from '../src/config';
import { isServerUp, startDevServer } from '../src/temporal/devServer';
import { firstStopSignal } from '../src/util/stopSignals';

async function main(): Promise<number> {
  const config = loadConfig();
  const address = config.temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS;

  if (await isServerUp(address)) {
    console.log(`A Temporal server is already running at ${address}; not starting another.`);
    console.log(`Web UI (if it is perennial's dev server): ${config.uiUrl}`);
    return 0;
  }

  const server = await startDevServer({
    home: config.home,
    address,
    uiPort: config.uiPort,
    namespace: config.namespace,
    log: (msg) => console.log(`[temporal] ${msg}`),
  });

  console.log(`Temporal server: ${server.address} (namespace ${config.namespace})`);
  console.log(`Web UI:          ${server.uiUrl}`);
  if (config.uiUrl !== server.uiUrl) console.log(`Web UI (configured PERENNIAL_UI_URL): ${config.uiUrl}`);
  console.log(`State:           ${config.home}/temporal.sqlite`);
  console.log(`Log:             ${server.logFile}`);
  console.log('Press Ctrl-C to stop.');

  const event = await Promise.race([
    firstStopSignal(() => console.log('already stopping the Temporal server...')),
    server.exited,
  ]);
  if (typeof event !== 'string') {
    console.error(`The Temporal server exited unexpectedly (${event.signal ?? `code ${event.code}`}); see ${server.logFile}`);
    return 1;
  }
  const signal = event;
  console.log(`${signal}: stopping the Temporal server (pid ${server.pid})...`);
  await server.stop();
  console.log('Temporal server stopped.');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
