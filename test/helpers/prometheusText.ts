/**
 * Prometheus text exposition parsed by the Prometheus project's own Python client
 * (`prometheus_client.parser`): a scrape that parses here parses for Prometheus. The package
 * (pinned) is pip-installed on first use into `.tools/prometheus-client`, as the tests
 * install the Temporal binaries.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

const PACKAGE = 'prometheus-client==0.26.0';
const DIR = path.resolve(__dirname, '../../.tools/prometheus-client');

export interface MetricFamily {
  name: string;
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)} for s in f.samples]})
print(json.dumps(out))
`;

function ensureInstalled(): void {
  if (existsSync(path.join(DIR, 'prometheus_client'))) return;
  const tmp = `${DIR}.tmp-${process.pid}`;
  const r = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '--target', tmp, PACKAGE], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pip install ${PACKAGE} failed: ${r.stderr || r.error?.message}`);
  rmSync(DIR, { recursive: true, force: true });
  renameSync(tmp, DIR);
}

/** The families of a scrape, as Prometheus's parser reads them; throws with the parser's message if it does not parse. */
export function parsePrometheusText(text: string): MetricFamily[] {
  ensureInstalled();
  const r = spawnSync('python3', ['-c', PARSE], { input: text, encoding: 'utf8', env: { ...process.env, PYTHONPATH: DIR } });
  if (r.status !== 0) throw new Error(`the Prometheus parser refused the scrape: ${r.stderr.trim().split('\n').at(-1)}`);
  return JSON.parse(r.stdout) as MetricFamily[];
}
