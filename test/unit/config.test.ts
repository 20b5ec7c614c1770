import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, workflowUrl } from '../../src/config';
import { tempHome } from '../helpers/temporalServer';

/** An environment with no envconfig profile file, so the user's own never leaks in. */
function env(vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { TEMPORAL_CONFIG_FILE: path.join(tempHome(), 'none.toml'), ...vars };
}

test('defaults: the local embedded setup', () => {
  const c = loadConfig(env());
  assert.equal(c.temporalAddress, '127.0.0.1:7233');
  assert.equal(c.addressIsExplicit, false);
  assert.equal(c.namespace, 'default');
  assert.equal(c.uiPort, 8233);
  assert.equal(c.uiUrl, 'http://127.0.0.1:8233');
  assert.equal(c.taskQueue, 'perennial');
  assert.equal(c.home, path.resolve('.perennial'));
  assert.equal(workflowUrl(c, 'train/m/1', 'r1'), 'http://127.0.0.1:8233/namespaces/default/workflows/train%2Fm%2F1/r1/history');
});

test('a bad value names the key and the expected form; all bad keys at once', () => {
  assert.throws(
    () => loadConfig(env({ PERENNIAL_UI_PORT: 'eighty', TEMPORAL_ADDRESS: 'no-port', LOG_LEVEL: 'loud', PERENNIAL_UI_URL: 'not a url' })),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      assert.match(text, /PERENNIAL_UI_PORT: .*number/);
      assert.match(text, /TEMPORAL_ADDRESS: expected host:port/);
      assert.match(text, /LOG_LEVEL: .*"info"/);
      assert.match(text, /PERENNIAL_UI_URL: expected an http\(s\) URL/);
      assert.equal(err.problems.length, 4);
      return true;
    },
  );
});

test('an optional config file, with the environment winning over it', () => {
  const dir = tempHome();
  const file = path.join(dir, 'perennial.config.json');
  writeFileSync(file, JSON.stringify({ PERENNIAL_TASK_QUEUE: 'from-file', PERENNIAL_UI_PORT: 9000, TEMPORAL_NAMESPACE: 'file-ns' }));
  const c = loadConfig(env({ PERENNIAL_CONFIG: file, PERENNIAL_UI_PORT: '9100' }));
  assert.equal(c.taskQueue, 'from-file');
  assert.equal(c.namespace, 'file-ns');
  assert.equal(c.uiPort, 9100);

  writeFileSync(file, JSON.stringify({ PERENNIAL_TASKQUEUE: 'typo' }));
  assert.throws(() => loadConfig(env({ PERENNIAL_CONFIG: file })), /PERENNIAL_TASKQUEUE: unknown setting/);
  assert.throws(() => loadConfig(env({ PERENNIAL_CONFIG: path.join(dir, 'missing.json') })), /PERENNIAL_CONFIG: file .* does not exist/);
});

test('an envconfig profile supplies address, namespace and API key; TEMPORAL_ADDRESS wins over it', () => {
  const dir = tempHome();
  const toml = path.join(dir, 'temporal.toml');
  writeFileSync(toml, ['[profile.default]', 'address = "cloud.example:7233"', 'namespace = "ml.acct"', 'api_key = "secret"', ''].join('\n'));
  const fromProfile = loadConfig({ TEMPORAL_CONFIG_FILE: toml });
  assert.equal(fromProfile.temporalAddress, 'cloud.example:7233');
  assert.equal(fromProfile.addressIsExplicit, true);
  assert.equal(fromProfile.namespace, 'ml.acct');
  assert.equal(fromProfile.connection.apiKey, 'secret');

  const envWins = loadConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_ADDRESS: '127.0.0.1:7999' });
  assert.equal(envWins.temporalAddress, '127.0.0.1:7999');
  assert.equal(envWins.connection.apiKey, 'secret');
});

test('PERENNIAL_REGISTRY_URL: unset means the SQLite files in PERENNIAL_HOME; a PostgreSQL URL is taken; anything else is refused', () => {
  assert.equal(loadConfig(env()).registryUrl, null);
  assert.equal(loadConfig(env({ PERENNIAL_REGISTRY_URL: 'postgres://u:p@db.internal:5432/perennial' })).registryUrl, 'postgres://u:p@db.internal:5432/perennial');
  assert.equal(loadConfig(env({ PERENNIAL_REGISTRY_URL: 'postgresql://db/perennial' })).registryUrl, 'postgresql://db/perennial');
  for (const bad of ['mysql://db/perennial', 'postgres://db', 'sqlite:///tmp/r.sqlite', 'not a url']) {
    assert.throws(() => loadConfig(env({ PERENNIAL_REGISTRY_URL: bad })), /PERENNIAL_REGISTRY_URL: expected postgres:\/\/user:password@host:port\/database/, bad);
  }
});

test('PERENNIAL_ARTIFACTS_URL: unset means $PERENNIAL_HOME/artifacts; a file: folder or an s3 bucket is taken; anything else is refused', () => {
  assert.equal(loadConfig(env()).artifactsUrl, null);
  assert.equal(loadConfig(env({ PERENNIAL_ARTIFACTS_URL: 's3://ml-artifacts/perennial/' })).artifactsUrl, 's3://ml-artifacts/perennial');
  assert.equal(loadConfig(env({ PERENNIAL_ARTIFACTS_URL: 's3://ml-artifacts' })).artifactsUrl, 's3://ml-artifacts');
  assert.equal(loadConfig(env({ PERENNIAL_ARTIFACTS_URL: 'file:///srv/perennial/artifacts' })).artifactsUrl, 'file:///srv/perennial/artifacts');
  for (const bad of ['s3://UPPER/x', 's3://b', 's3://bucket/../escape', 'gs://bucket/x', 'file://remote-host/x', '/srv/artifacts', 'https://bucket.s3.amazonaws.com/x']) {
    assert.throws(() => loadConfig(env({ PERENNIAL_ARTIFACTS_URL: bad })), /PERENNIAL_ARTIFACTS_URL: expected file:\/\/\/absolute\/folder or s3:\/\/bucket\/prefix/, bad);
  }
});
