/**
 * docker-compose.yml's `temporal-schema` step, really run: docker/temporal-schema.sh with the
 * pinned Temporal SQL tool (under the name the admin-tools image gives it) against a real
 * PostgreSQL, twice (a restart only migrates), and once with a wrong password (it fails,
 * saying why).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startLocalPostgres, type LocalPostgres } from '../../src/cluster/postgres';
import { ensureGoTool, GO_TOOLS } from '../../src/cluster/goTools';
import { temporalSchemaDir } from '../../src/cluster/temporal';
import { freePort } from '../../src/util/net';

const ROOT = path.resolve(__dirname, '../..');
const PASSWORD = 'compose-secret';
let postgres: LocalPostgres;
let bin: string;
let schemaDir: string;

before(async () => {
  postgres = await startLocalPostgres({ port: await freePort(), password: PASSWORD });
  bin = mkdtempSync(path.join(os.tmpdir(), 'perennial-admin-tools-'));
  symlinkSync(await ensureGoTool(GO_TOOLS.temporalSql), path.join(bin, 'temporal-sql-tool'));
  schemaDir = await temporalSchemaDir();
});

after(async () => {
  await postgres?.stop({ remove: true });
  rmSync(bin, { recursive: true, force: true });
});

function runSchemaScript(password: string): { code: number | null; output: string } {
  const r = spawnSync('sh', [path.join(ROOT, 'docker', 'temporal-schema.sh')], {
    env: { PATH: `${bin}:${process.env.PATH}`, POSTGRES_SEEDS: '127.0.0.1', DB_PORT: String(postgres.port), POSTGRES_USER: 'perennial', SQL_PASSWORD: password, TEMPORAL_SCHEMA_DIR: schemaDir },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The newest `vX.Y` folder of a versioned schema. */
function newestVersion(folder: string): string {
  const versions = readdirSync(path.join(schemaDir, folder, 'versioned')).map((v) => v.replace(/^v/, ''));
  return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1)!;
}

async function schemaVersion(database: string): Promise<string> {
  const url = new URL(postgres.url);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query<{ curr_version: string }>('SELECT curr_version FROM schema_version')).rows[0].curr_version;
  } finally {
    await client.end();
  }
}

test("docker/temporal-schema.sh makes both of Temporal's databases at the newest schema, again without harm, and fails on a wrong password", async () => {
  const first = runSchemaScript(PASSWORD);
  assert.equal(first.code, 0, first.output);
  assert.match(first.output, /Temporal schema ready/);
  assert.equal(await schemaVersion('temporal'), newestVersion('temporal'));
  assert.equal(await schemaVersion('temporal_visibility'), newestVersion('visibility'));

  const again = runSchemaScript(PASSWORD);
  assert.equal(again.code, 0, again.output);
  assert.equal(await schemaVersion('temporal'), newestVersion('temporal'));

  const wrong = runSchemaScript('not-the-password');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.output, /password authentication failed/);
  assert.doesNotMatch(wrong.output, /Temporal schema ready/);
});
