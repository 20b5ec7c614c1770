import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigSchema, DEFAULT_TEMPORAL_ADDRESS, loadConfig } from '../../src/config';

// Docker cannot run containers on this machine, so the compose file is checked by
// reading it: its services, ports and environment must agree with the configuration.
const ROOT = path.resolve(__dirname, '../..');
const compose = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image?: string; build?: unknown; ports?: string[]; environment?: Record<string, string>; depends_on?: unknown }>;
};

/** Compose's `${VAR:-default}` with the variables unset. */
function withDefaults(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

test('services: Temporal on PostgreSQL, the official Web UI, and the perennial worker', () => {
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ['postgresql', 'temporal', 'temporal-ui', 'worker']);
  assert.match(s.postgresql.image ?? '', /^postgres:\d+/);
  assert.match(s.temporal.image ?? '', /^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
  assert.equal(s.temporal.environment?.DB, 'postgres12');
  assert.equal(s.temporal.environment?.POSTGRES_SEEDS, 'postgresql');
  assert.match(s['temporal-ui'].image ?? '', /^temporalio\/ui:\d+\.\d+\.\d+$/);
  assert.ok(s.worker.build, 'the worker is built from this repository');
});

test('host ports match the local default: gRPC 7233, the Web UI on PERENNIAL_UI_PORT (8080 inside)', () => {
  const defaults = loadConfig({ TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
  const grpcPort = DEFAULT_TEMPORAL_ADDRESS.split(':')[1];
  assert.deepEqual(compose.services.temporal.ports, [`127.0.0.1:${grpcPort}:7233`]);
  const [ui] = compose.services['temporal-ui'].ports ?? [];
  assert.match(ui, /\$\{PERENNIAL_UI_PORT:-\d+\}:8080$/, 'the UI host port is PERENNIAL_UI_PORT');
  assert.equal(withDefaults(ui), `127.0.0.1:${defaults.uiPort}:8080`);
  assert.equal(compose.services['temporal-ui'].environment?.TEMPORAL_ADDRESS, `temporal:7233`);
});

test("the worker's environment uses perennial's setting names and passes validation", () => {
  const env = compose.services.worker.environment ?? {};
  const known = Object.keys(ConfigSchema.shape);
  for (const key of Object.keys(env)) assert.ok(known.includes(key), `${key} is a perennial setting`);
  const config = loadConfig({ ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, withDefaults(v)])), TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' });
  assert.equal(config.temporalAddress, 'temporal:7233');
  assert.equal(config.taskQueue, 'perennial');
  assert.equal(config.uiUrl, `http://127.0.0.1:${loadConfig({ TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' }).uiPort}`);
});
