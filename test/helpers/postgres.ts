import { after } from 'node:test';
import pg from 'pg';
import { startLocalPostgres, type LocalPostgres } from '../../src/cluster/postgres';
import { freePort } from '../../src/util/net';

let shared: Promise<LocalPostgres> | undefined;
let databases = 0;
// At the file's top level: registered inside a test, it would run when that test ends.
after(async () => (await shared?.catch(() => undefined))?.stop({ remove: true }));

/**
 * A real PostgreSQL server for this test file, started on first use on a free loopback port
 * and stopped (its files removed) when the file's tests are done.
 */
export function testPostgres(): Promise<LocalPostgres> {
  if (!shared) {
    shared = freePort().then((port) => startLocalPostgres({ port }));
  }
  return shared;
}

/** A new, empty database on the file's server: each test gets its own registry. */
export async function freshDatabase(): Promise<string> {
  const server = await testPostgres();
  const name = `t${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}
