/**
 * `npm test` (after the type-check): every test/**\/*.test.ts through node's test runner,
 * one file at a time, since the heavier files each run a real Temporal server and
 * training on a 2-core machine. Extra arguments name files or folders to run instead;
 * test/cluster (the fault matrix on a PostgreSQL-backed fleet) runs only when named.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function testFiles(target: string): string[] {
  if (statSync(target).isFile()) return [target];
  return readdirSync(target)
    .sort()
    .flatMap((entry) => {
      const full = path.join(target, entry);
      if (statSync(full).isDirectory()) return testFiles(full);
      return entry.endsWith('.test.ts') ? [full] : [];
    });
}

/** `npm run test:cluster` runs these (a whole fleet of processes each); `npm test` runs the rest. */
const CLUSTER_TESTS = path.join('test', 'cluster');

const targets = process.argv.slice(2);
const files = targets.length ? targets.flatMap(testFiles) : testFiles('test').filter((f) => !f.startsWith(CLUSTER_TESTS + path.sep));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
