import { rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startLocalPostgres, type LocalPostgres } from '../../src/cluster/postgres';
import { startLocalS3, type LocalS3 } from '../../src/cluster/s3';
import { startClusterTemporal, type ClusterTemporal } from '../../src/cluster/temporal';
import { freePort } from '../../src/util/net';
import { tempHome } from '../helpers/temporalServer';

/**
 * What `npm run cluster` runs, started part by part so a test can stop and restart each:
 * PostgreSQL (registry, prediction log and Temporal's databases), the Temporal server
 * v1.30.8 on it, and an S3 server. `env` is what every machine shares (cluster.env).
 */
export interface Fleet {
  env: NodeJS.ProcessEnv;
  postgres: LocalPostgres;
  temporal: ClusterTemporal;
  s3: LocalS3;
  client: Client;
  /** Stops and starts the Temporal server on the same database and port. */
  restartTemporal(): Promise<void>;
  /** Stops and starts PostgreSQL on the same data and port. */
  restartPostgres(): Promise<void>;
  stop(): Promise<void>;
}

const PASSWORD = 'fleet-secret';

export async function startFleet(namespace = 'default'): Promise<Fleet> {
  const dir = tempHome('perennial-fleet-');
  const pgPort = await freePort();
  const temporalPort = await freePort();
  const postgres = await startLocalPostgres({ port: pgPort, password: PASSWORD });
  const temporalOptions = { dir: path.join(dir, 'temporal'), postgres: { host: '127.0.0.1', port: pgPort, user: 'perennial', password: PASSWORD }, namespace, port: temporalPort };
  let temporal: ClusterTemporal | undefined;
  let s3: LocalS3 | undefined;
  let client: Client;
  try {
    temporal = await startClusterTemporal(temporalOptions);
    s3 = await startLocalS3({ port: await freePort(), dataDir: path.join(dir, 's3'), bucket: 'perennial' });
    client = new Client({ connection: await Connection.connect({ address: temporal.address }), namespace });
  } catch (err) {
    // Nothing started for a fleet that failed to start is left running.
    await s3?.stop();
    await temporal?.stop();
    await postgres.stop({ remove: true });
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const fleet: Fleet = {
    env: {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: namespace,
      PERENNIAL_REGISTRY_URL: postgres.url,
      PERENNIAL_ARTIFACTS_URL: 's3://perennial/artifacts',
      TEMPORAL_CONFIG_FILE: path.join(dir, 'no-such-temporal.toml'),
      ...s3.env,
    },
    postgres,
    temporal,
    s3,
    client,
    async restartTemporal() {
      await fleet.temporal.stop();
      fleet.temporal = await startClusterTemporal(temporalOptions);
    },
    async restartPostgres() {
      await fleet.postgres.stop();
      fleet.postgres = await startLocalPostgres({ port: pgPort, dataDir: fleet.postgres.dataDir, password: PASSWORD });
    },
    async stop() {
      await client.connection.close();
      await fleet.temporal.stop();
      await fleet.s3.stop();
      await fleet.postgres.stop();
      rmSync(path.dirname(fleet.postgres.dataDir), { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}

/** A worker's connection to the fleet's Temporal server. */
export function workerConnection(fleet: Fleet): Promise<NativeConnection> {
  return NativeConnection.connect({ address: fleet.temporal.address });
}
