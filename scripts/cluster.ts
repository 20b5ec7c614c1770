/**
 * `npm run cluster`: what docker-compose.yml describes, run natively where Docker cannot
 * run — PostgreSQL (the registry, the prediction log and Temporal's own databases), the
 * Temporal server v1.30.8 on it, its Web UI, and an S3-compatible object store — each on a
 * free loopback port, in the foreground until Ctrl-C. Once all of it is healthy it writes
 * the settings that use it to `$PERENNIAL_HOME/cluster.env` (and prints them): source that
 * file on every machine (worker, model server, CLI), each with its own PERENNIAL_HOME.
 * Data survives restarts: PostgreSQL's cluster and the S3 objects are kept (ports change).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, ConfigError } from '../src/config';
import { startLocalPostgres } from '../src/cluster/postgres';
import { startLocalS3 } from '../src/cluster/s3';
import { startClusterTemporal } from '../src/cluster/temporal';
import { startTemporalUi } from '../src/cluster/ui';
import { redact } from '../src/postgres/pool';
import { createLogger } from '../src/logging';
import { freePort } from '../src/util/net';
import { firstStopSignal } from '../src/util/stopSignals';

const BUCKET = 'perennial';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'perennial-cluster');
  const log = (m: string) => logger.info(m);
  const dir = path.join(config.home, 'cluster');
  mkdirSync(dir, { recursive: true });
  const envFile = path.join(config.home, 'cluster.env');
  rmSync(envFile, { force: true });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    rmSync(envFile, { force: true });
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => logger.error({ err }, 'stopping a part of the cluster failed'));
  };
  const stopped = firstStopSignal(() => logger.warn('already stopping'));
  try {
    const password = secret(path.join(dir, 'postgres.password'));
    const postgres = await startLocalPostgres({
      port: await freePort(),
      // initdb and postgres run as the postgres user when we are root: its files must be where that user can reach.
      dataDir: process.getuid?.() === 0 ? path.join('/var/lib/postgresql', `perennial-${createHash('sha256').update(config.home).digest('hex').slice(0, 12)}`, 'data') : path.join(dir, 'postgres', 'data'),
      password,
    });
    stops.push(() => postgres.stop());
    log(`PostgreSQL on 127.0.0.1:${postgres.port} (data ${postgres.dataDir})`);
    const temporal = await startClusterTemporal({
      dir: path.join(dir, 'temporal'),
      postgres: { host: '127.0.0.1', port: postgres.port, user: 'perennial', password },
      namespace: config.namespace,
      port: await freePort(),
      log,
    });
    stops.push(() => temporal.stop());
    const ui = await startTemporalUi({ dir: path.join(dir, 'ui'), temporalAddress: temporal.address, port: await freePort(), log });
    stops.push(() => ui.stop());
    const s3 = await startLocalS3({ port: await freePort(), dataDir: path.join(dir, 's3'), bucket: BUCKET, log });
    stops.push(() => s3.stop());
    log(`S3 at ${s3.endpoint} (bucket ${BUCKET}, objects in ${s3.dataDir})`);

    const settings: Record<string, string> = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: config.namespace,
      PERENNIAL_UI_URL: ui.url,
      PERENNIAL_REGISTRY_URL: postgres.url,
      PERENNIAL_ARTIFACTS_URL: `s3://${BUCKET}/artifacts`,
      ...s3.env,
    };
    const lines = Object.entries(settings).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
    writeFileSync(envFile, `# perennial cluster started ${new Date().toISOString()} by npm run cluster (removed when it stops)\n${lines.join('\n')}\n`, { mode: 0o600 });
    // Printed without secrets: terminals and CI logs are read by more people than the file (mode 0600).
    const shown = Object.entries({ ...settings, PERENNIAL_REGISTRY_URL: redact(postgres.url), AWS_SECRET_ACCESS_KEY: '***' }).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
    console.log(`\nThe cluster is up. Its settings are in ${envFile} (secrets shown as ***):\n\n${shown.join('\n')}\n`);
    console.log(`On each machine (each with its own PERENNIAL_HOME):  . ${envFile} && npm run worker   (or npm run serve, npx perennial …)`);
    console.log(`Web UI: ${ui.url}   Ctrl-C stops the cluster (its data is kept for the next start).\n`);

    const died = await Promise.race([
      stopped.then(() => null),
      postgres.exited.then(() => 'PostgreSQL'),
      temporal.exited.then(() => 'the Temporal server'),
      ui.exited.then(() => 'the Web UI'),
      s3.exited.then(() => 'the S3 server'),
    ]);
    if (died) {
      logger.error(`${died} exited: stopping the cluster`);
      process.exitCode = 1;
    }
  } finally {
    await stopAll();
  }
}

/** A password made once and kept (mode 0600): the database keeps the one it was created with. */
function secret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = randomBytes(18).toString('base64url');
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_.:/@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
