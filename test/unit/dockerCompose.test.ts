import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigSchema, DEFAULT_TEMPORAL_ADDRESS, loadConfig } from '../../src/config';
import { PYTHON_TASK_QUEUE } from '../../src/spec/modelSpec';

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

test('services: Temporal on PostgreSQL, the official Web UI, the perennial worker and the Python worker', () => {
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ['postgresql', 'python-worker', 'temporal', 'temporal-ui', 'worker']);
  assert.match(s.postgresql.image ?? '', /^postgres:\d+/);
  assert.match(s.temporal.image ?? '', /^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
  assert.equal(s.temporal.environment?.DB, 'postgres12');
  assert.equal(s.temporal.environment?.POSTGRES_SEEDS, 'postgresql');
  assert.match(s['temporal-ui'].image ?? '', /^temporalio\/ui:\d+\.\d+\.\d+$/);
  assert.ok(s.worker.build, 'the worker is built from this repository');
  assert.ok(s['python-worker'].build, 'the Python worker is built from this repository');
});

test("the Python worker polls the spec's default trainer queue on the same server and shares the workers' artifact volume", () => {
  const py = compose.services['python-worker'] as { environment?: Record<string, string>; volumes?: string[] };
  const worker = compose.services.worker as { environment?: Record<string, string>; volumes?: string[] };
  assert.equal(py.environment?.PERENNIAL_PYTHON_TASK_QUEUE, PYTHON_TASK_QUEUE);
  assert.equal(py.environment?.TEMPORAL_ADDRESS, worker.environment?.TEMPORAL_ADDRESS);
  assert.equal(py.environment?.TEMPORAL_NAMESPACE, worker.environment?.TEMPORAL_NAMESPACE);
  // The same mount path: the file: URIs the workers write resolve in the Python worker too.
  assert.deepEqual(py.volumes, worker.volumes);
  assert.ok(worker.volumes?.some((v) => v.endsWith(`:${worker.environment?.PERENNIAL_HOME}`)));
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
