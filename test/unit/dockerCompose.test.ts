import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigSchema, DEFAULT_TEMPORAL_ADDRESS, loadConfig } from '../../src/config';
import { GO_TOOLS } from '../../src/cluster/goTools';
import { DYNAMIC_CONFIG } from '../../src/cluster/temporal';
import { PYTHON_TASK_QUEUE } from '../../src/spec/specValues';

// Docker cannot run containers on this machine, so the compose file is checked by reading
// it: its services, versions, ports and environment must agree with the configuration and
// with what `npm run cluster` runs (test/cluster runs its Temporal schema script for real).
const ROOT = path.resolve(__dirname, '../..');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; dockerfile_inline?: string };
  command?: string[];
  entrypoint?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
}
const compose = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const s = compose.services;

/** Compose's `${VAR:-default}` with the variables unset. */
function withDefaults(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

const versionOf = (pkg: string) => pkg.split('@v')[1];
const envOf = (name: string) => Object.fromEntries(Object.entries(s[name].environment ?? {}).map(([k, v]) => [k, withDefaults(String(v))]));
const noProfile = { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };

test('services: the topology of npm run cluster, with workers, trainers and model servers apart', () => {
  assert.deepEqual(Object.keys(s).sort(), ['model-server', 'postgresql', 'python-worker', 's3', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'trainer', 'worker']);
  for (const name of ['worker', 'trainer', 'model-server']) assert.equal(s[name].build, '.', `${name} is built from this repository`);
  assert.deepEqual(s['model-server'].command, ['npm', 'run', 'serve']);
  assert.equal(typeof s['python-worker'].build === 'object' && s['python-worker'].build.dockerfile, 'Dockerfile.python');
});

test('the same versions as npm run cluster: Temporal server and its tools, the Web UI, the S3 server', () => {
  const temporal = versionOf(GO_TOOLS.temporalServer.pkg);
  assert.equal(versionOf(GO_TOOLS.temporalSql.pkg), temporal);
  assert.equal(s.temporal.image, `temporalio/server:${temporal}`);
  assert.equal(s['temporal-schema'].image, `temporalio/admin-tools:${temporal}`);
  assert.equal(s['temporal-namespace'].image, `temporalio/admin-tools:${temporal}`);
  assert.equal(s['temporal-ui'].image, `temporalio/ui:${versionOf(GO_TOOLS.temporalUi.pkg)}`);
  const s3Build = s.s3.build;
  assert.ok(typeof s3Build === 'object' && s3Build.dockerfile_inline?.includes(`go install ${GO_TOOLS.s3.pkg}\n`), 'the S3 server is the pinned gofakes3');
  assert.ok(Number(/^postgres:(\d+)/.exec(s.postgresql.image ?? '')?.[1]) >= 14, 'PostgreSQL 14 or newer, as the README asks');
});

test("Temporal's schema is made by the repository's script with the SQL tool, before the server starts; then the namespace", () => {
  const schema = s['temporal-schema'];
  assert.deepEqual(schema.entrypoint, ['/bin/sh', '/perennial-docker/temporal-schema.sh']);
  assert.ok(schema.volumes?.includes('./docker:/perennial-docker:ro'));
  assert.ok(existsSync(path.join(ROOT, 'docker', 'temporal-schema.sh')));
  assert.equal(schema.environment?.SQL_PASSWORD, s.temporal.environment?.POSTGRES_PWD, 'the password by environment, the same as the server uses');
  assert.equal(schema.environment?.POSTGRES_USER, s.temporal.environment?.POSTGRES_USER);
  assert.equal(s.temporal.environment?.DB, 'postgres12');
  assert.equal(s.temporal.environment?.POSTGRES_SEEDS, 'postgresql');
  assert.equal(s.temporal.depends_on?.['temporal-schema']?.condition, 'service_completed_successfully');
  // The server's dynamic config is npm run cluster's (search attributes usable as soon as they are registered).
  assert.ok(s.temporal.volumes?.includes('./docker/dynamicconfig:/etc/temporal/config/dynamicconfig:ro'));
  assert.equal(s.temporal.environment?.DYNAMIC_CONFIG_FILE_PATH, 'config/dynamicconfig/perennial.yaml');
  assert.deepEqual(YAML.parse(readFileSync(path.join(ROOT, 'docker', 'dynamicconfig', 'perennial.yaml'), 'utf8')), DYNAMIC_CONFIG);
  assert.equal(s['temporal-namespace'].depends_on?.temporal?.condition, 'service_healthy');
  for (const name of ['worker', 'trainer', 'python-worker']) {
    assert.equal(s[name].depends_on?.['temporal-namespace']?.condition, 'service_completed_successfully', `${name} starts once the namespace exists`);
  }
});

test("perennial's services share the registry, the bucket and Temporal by settings, and no disk", () => {
  const shared = envOf('worker');
  for (const name of ['worker', 'trainer', 'model-server']) {
    const env = envOf(name);
    const known = Object.keys(ConfigSchema.shape);
    for (const key of Object.keys(env)) assert.ok(known.includes(key) || /^AWS_[A-Z_]+$/.test(key), `${name}: ${key} is a perennial or standard AWS setting`);
    const config = loadConfig({ ...env, ...noProfile });
    assert.equal(config.temporalAddress, 'temporal:7233');
    assert.equal(config.taskQueue, 'perennial');
    for (const key of ['PERENNIAL_REGISTRY_URL', 'PERENNIAL_ARTIFACTS_URL', 'AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) assert.equal(env[key], shared[key], `${name}: ${key}`);
    assert.equal(s[name].volumes, undefined, `${name} keeps nothing on a shared disk`);
  }
  const registry = new URL(shared.PERENNIAL_REGISTRY_URL);
  const pg = envOf('postgresql');
  assert.equal(registry.hostname, 'postgresql');
  assert.equal(registry.pathname, `/${pg.POSTGRES_DB}`);
  assert.equal(registry.username, pg.POSTGRES_USER);
  assert.equal(decodeURIComponent(registry.password), pg.POSTGRES_PASSWORD);
  // The bucket the S3 server makes is the artifacts URL's, at the endpoint's host and port.
  const command = s.s3.command ?? [];
  assert.equal(new URL(shared.PERENNIAL_ARTIFACTS_URL).host, command[command.indexOf('-initialbucket') + 1]);
  const endpoint = new URL(shared.AWS_ENDPOINT_URL);
  assert.equal(endpoint.hostname, 's3');
  assert.equal(`:${endpoint.port}`, command[command.indexOf('-host') + 1]);
});

test('roles: the worker runs the workflows, the trainer the training steps; the Python worker the default trainer queue', () => {
  assert.equal(loadConfig({ ...envOf('worker'), ...noProfile }).workerRole, 'orchestration');
  assert.equal(loadConfig({ ...envOf('trainer'), ...noProfile }).workerRole, 'training');
  const py = envOf('python-worker');
  const worker = envOf('worker');
  assert.equal(py.PERENNIAL_PYTHON_TASK_QUEUE, PYTHON_TASK_QUEUE);
  assert.equal(py.TEMPORAL_ADDRESS, worker.TEMPORAL_ADDRESS);
  assert.equal(py.TEMPORAL_NAMESPACE, worker.TEMPORAL_NAMESPACE);
  for (const key of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) assert.equal(py[key], worker[key], `the Python worker reaches the same bucket: ${key}`);
});

test('host ports: the local default for Temporal and the Web UI, every port on loopback only', () => {
  const defaults = loadConfig(noProfile);
  const grpcPort = DEFAULT_TEMPORAL_ADDRESS.split(':')[1];
  assert.deepEqual(s.temporal.ports, [`127.0.0.1:${grpcPort}:7233`]);
  const [ui] = s['temporal-ui'].ports ?? [];
  assert.match(ui, /\$\{PERENNIAL_UI_PORT:-\d+\}:8080$/, 'the UI host port is PERENNIAL_UI_PORT');
  assert.equal(withDefaults(ui), `127.0.0.1:${defaults.uiPort}:8080`);
  assert.equal(s['temporal-ui'].environment?.TEMPORAL_ADDRESS, 'temporal:7233');
  for (const [name, service] of Object.entries(s)) for (const port of service.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port} on loopback only`);
  assert.equal(envOf('model-server').PERENNIAL_SERVER_HOST, '0.0.0.0', 'a model server listens on its container network');
});
