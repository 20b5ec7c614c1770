import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { findSpec, parseSpec, SpecError } from '../../src/spec/load';
import { flightsSpecRaw } from '../helpers/specs';
import { freePort, tempHome } from '../helpers/temporalServer';

test('the shipped flight-delays spec is valid: 12 features, holdout after training', () => {
  const { spec, specHash } = findSpec('flight-delays', tempHome());
  assert.equal(spec.features.length, 12);
  assert.equal(spec.data.holdout.start, spec.data.training.end);
  assert.match(specHash, /^[0-9a-f]{64}$/);
  assert.equal(findSpec('flight-delays', tempHome()).specHash, specHash, 'the hash is stable');
});

test('an invalid spec is rejected with every problem listed', () => {
  const raw = flightsSpecRaw() as any;
  raw.name = 'Flight Delays!';
  raw.data.holdout = { start: '2001-01-10', end: '2001-01-20' };
  raw.features.push({ name: 'seat', kind: 'numeric', transform: { from: 'column', column: 'seat_number' } });
  raw.features.push({ name: 'hour', kind: 'numeric', transform: { from: 'lookup', table: 'byAirline', stat: 'lateRate' } });
  raw.trainer.params.learningRate = -1;
  assert.throws(
    () => parseSpec(raw),
    (err: unknown) => {
      assert.ok(err instanceof SpecError);
      const text = err.problems.join('\n');
      assert.match(text, /^name: expected a lower-case name/m);
      assert.match(text, /trainer\.params\.learningRate: /);
      assert.match(text, /data\.holdout: holdout must start at or after the end of the training window/);
      assert.match(text, /features\.12\.transform\.column: column "seat_number" is not declared/);
      assert.match(text, /features\.13\.name: duplicate feature name "hour"/);
      assert.match(text, /features\.13\.transform\.table: lookup table "byAirline" is not defined/);
      assert.equal(err.problems.length, 6);
      return true;
    },
  );
});

test('the train script rejects an invalid spec before any workflow starts', async () => {
  const dir = tempHome();
  const file = path.join(dir, 'bad.yaml');
  const raw = flightsSpecRaw() as any;
  raw.target.column = 'arrival_delay';
  writeFileSync(file, YAML.stringify(raw));
  const root = path.resolve(__dirname, '../..');
  // Nothing listens at this address: a run that got as far as Temporal would fail differently.
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/train.ts', file], {
    cwd: root,
    env: { ...process.env, PERENNIAL_HOME: dir, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` },
    encoding: 'utf8',
  });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /invalid model spec .*bad\.yaml/);
  assert.match(run.stderr, /target\.column: column "arrival_delay" is not declared in data\.columns/);
});

test('an unknown model name says which specs exist and where user specs go', () => {
  const home = tempHome();
  assert.throws(() => findSpec('no-such-model', home), (err: unknown) => {
    assert.ok(err instanceof SpecError);
    assert.match(err.message, /no spec named "no-such-model" \(known: flight-delays; user specs go in .*specs\)/);
    return true;
  });
});

test('a model is found by the name in its spec, whatever its file is called; the user\'s copy overrides the shipped spec', () => {
  const home = tempHome();
  const specs = path.join(home, 'specs');
  mkdirSync(specs, { recursive: true });
  const other = { ...flightsSpecRaw(), name: 'late-arrivals' };
  writeFileSync(path.join(specs, 'arrivals-v2.yaml'), YAML.stringify(other));
  const found = findSpec('late-arrivals', home);
  assert.equal(found.spec.name, 'late-arrivals');
  assert.equal(found.file, path.join(specs, 'arrivals-v2.yaml'));

  // A user's copy of a shipped model, under another file name, wins over the shipped spec.
  writeFileSync(path.join(specs, 'my-flights.yaml'), YAML.stringify({ ...flightsSpecRaw(), approval: { approvers: ['me'], timeout: '24h' } }));
  const mine = findSpec('flight-delays', home);
  assert.equal(mine.file, path.join(specs, 'my-flights.yaml'));
  assert.deepEqual(mine.spec.approval.approvers, ['me']);

  // A broken file that names nothing does not hide the others.
  writeFileSync(path.join(specs, 'scratch.yaml'), 'name: [unfinished');
  assert.equal(findSpec('late-arrivals', home).spec.name, 'late-arrivals');
});

test('two of the user\'s spec files naming one model, or a broken file called after it: a SpecError saying so', () => {
  const home = tempHome();
  const specs = path.join(home, 'specs');
  mkdirSync(specs, { recursive: true });
  writeFileSync(path.join(specs, 'a.yaml'), YAML.stringify({ ...flightsSpecRaw(), name: 'twice' }));
  writeFileSync(path.join(specs, 'b.yaml'), YAML.stringify({ ...flightsSpecRaw(), name: 'twice' }));
  assert.throws(() => findSpec('twice', home), (err: unknown) => {
    assert.ok(err instanceof SpecError);
    assert.match(err.message, /2 spec files name the model "twice": .*a\.yaml, .*b\.yaml; pass the path of the one you mean/);
    return true;
  });
  writeFileSync(path.join(specs, 'broken.yaml'), YAML.stringify({ ...flightsSpecRaw(), name: 'broken', target: { column: 'nope' } }));
  assert.throws(() => findSpec('broken', home), (err: unknown) => {
    assert.ok(err instanceof SpecError);
    assert.match(err.message, /invalid model spec .*broken\.yaml/);
    return true;
  });
});

test('a spec of the wrong shape altogether gets a SpecError, never a crash', () => {
  for (const raw of [{}, null, 'flight-delays', { data: 5 }, { name: 'x', data: { columns: 3 }, features: 'all' }]) {
    assert.throws(() => parseSpec(raw), SpecError);
  }
});

test('the train script exits 4 when Temporal is unreachable', async () => {
  const dir = tempHome();
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/train.ts', 'flight-delays'], {
    cwd: path.resolve(__dirname, '../..'),
    env: { ...process.env, PERENNIAL_HOME: dir, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, TEMPORAL_CONFIG_FILE: path.join(dir, 'none.toml') },
    encoding: 'utf8',
  });
  assert.equal(run.status, 4, run.stderr);
  assert.match(run.stderr, /cannot reach Temporal at 127\.0\.0\.1:\d+/);
});

test('the train script exits 2 on a usage error: no model, an unknown flag, a flag without its value', () => {
  for (const args of [[], ['flight-delays', '--nope'], ['flight-delays', '--by']]) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/train.ts', ...args], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' });
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /usage: npm run train -- <model\|spec file>/);
  }
});

test('monitoring and retrain policies are validated: unknown excluded features, bad durations, bad cron', () => {
  const raw = flightsSpecRaw() as any;
  raw.monitoring.drift.exclude = ['hour', 'weather'];
  raw.monitoring.interval = 'hourly';
  raw.retrain.schedule = { cron: 'every monday' };
  raw.retrain.budget = { max: 0, per: '7d' };
  const err = (() => {
    try {
      parseSpec(raw, '<test>', process.cwd());
    } catch (e) {
      return e as SpecError;
    }
    return undefined;
  })();
  assert.ok(err instanceof SpecError);
  const text = err.problems.join('\n');
  assert.match(text, /monitoring\.drift\.exclude\.1: "weather" is not a feature of this spec/);
  assert.match(text, /monitoring\.interval: expected a duration/);
  assert.match(text, /retrain\.schedule/);
  assert.match(text, /retrain\.budget\.max/);
  const ok = parseSpec(flightsSpecRaw(), '<shipped>', process.cwd()).spec;
  assert.deepEqual(ok.monitoring?.drift.exclude, ['hour', 'minute_of_day', 'day_of_week']);
  assert.equal(ok.retrain?.onDrift?.consecutiveBreaches, 3);
});

test('windows name real days and times: 2001-02-30 and 24:00 are refused, not rolled over by Date.parse', () => {
  const withTraining = (start: string, end: string) => {
    const raw = flightsSpecRaw() as any;
    raw.data.training = { start, end };
    raw.data.holdout = { start: end, end: '2001-03-31' };
    return raw;
  };
  for (const [start, end] of [['2001-02-30', '2001-03-10'], ['2001-01-01', '2001-02-29'], ['2001-01-01T24:00', '2001-03-10'], ['2001-01-01', '2001-03-01T10:60'], ['2001-13-01', '2001-03-10']]) {
    assert.throws(
      () => parseSpec(withTraining(start, end)),
      (err: unknown) => err instanceof SpecError && err.problems.some((p) => /^data\.training\.(start|end): not a real calendar date and time of day/.test(p)),
      `${start} – ${end}`,
    );
  }
  // Leap days that exist, and the last minute of a day, are fine.
  assert.equal(parseSpec(withTraining('2000-02-29', '2001-03-01T23:59:59')).spec.data.training.start, '2000-02-29');
});

test('an unknown key anywhere is refused with its path and the nearest known key; a wrong operator lists the allowed ones', () => {
  const raw = flightsSpecRaw() as any;
  raw.evaluation.gate = raw.evaluation.gates; // once silently dropped: every gate was off
  delete raw.evaluation.gates;
  raw.monitorng = raw.monitoring;
  raw.trainer.params.learning_rate = 0.3;
  raw.target.positiveWhen = { greater: 15 };
  assert.throws(
    () => parseSpec(raw),
    (err: unknown) => {
      assert.ok(err instanceof SpecError);
      const text = err.problems.join('\n');
      assert.match(text, /evaluation\.gate: unknown key \(did you mean `gates`\?\)/);
      assert.match(text, /monitorng: unknown key \(did you mean `monitoring`\?\)/);
      assert.match(text, /trainer\.params\.learning_rate: unknown key \(did you mean `learningRate`\?\)/);
      assert.match(text, /target\.positiveWhen: expected exactly one operator: gt, gte, lt, lte .* equals .* in/);
      return true;
    },
  );
});

test('perennial validate: offline, exit 0 for a valid spec, 2 with every problem for an invalid one', () => {
  const dir = tempHome();
  const good = path.join(dir, 'good.yaml');
  writeFileSync(good, YAML.stringify(flightsSpecRaw()));
  const bad = path.join(dir, 'bad.yaml');
  const raw = flightsSpecRaw() as any;
  raw.monitorng = raw.monitoring;
  raw.approval.approvers = [];
  writeFileSync(bad, YAML.stringify(raw));
  // Nothing listens here: validate must not need Temporal.
  const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', PERENNIAL_HOME: dir };
  const cli = path.resolve(__dirname, '../../scripts/perennial.js');
  const ok = spawnSync(process.execPath, [cli, 'validate', good, '--json'], { env, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).model, 'flight-delays');
  const no = spawnSync(process.execPath, [cli, 'validate', bad, '--json'], { env, encoding: 'utf8' });
  assert.equal(no.status, 2, no.stdout);
  const problems = JSON.parse(no.stdout).problems as string[];
  assert.ok(problems.some((p) => /monitorng: unknown key \(did you mean `monitoring`\?\)/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /approval\.approvers/.test(p)), problems.join('\n'));
  // An answer far larger than a pipe's buffer arrives whole: the CLI exits only once stdout has it.
  const many = flightsSpecRaw() as any;
  for (let i = 0; i < 3000; i++) many[`unknown_key_number_${i}`] = i;
  const big = path.join(dir, 'big.yaml');
  writeFileSync(big, YAML.stringify(many));
  const long = spawnSync(process.execPath, [cli, 'validate', big, '--json'], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(long.status, 2);
  assert.ok(long.stdout.length > 128 * 1024, `${long.stdout.length} bytes`);
  assert.equal((JSON.parse(long.stdout).problems as string[]).length, 3000);
});
