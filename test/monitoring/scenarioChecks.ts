import { rmSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactStore } from '../../src/artifacts/store';
import type { ModelArtifact } from '../../src/ml/modelArtifact';
import { runMonitorCheck, type MonitorCheckSummary } from '../../src/monitoring/check';
import type { Registry } from '../../src/registry/registry';
import { PredictionLog } from '../../src/serving/predictionLog';
import type { ModelSpec } from '../../src/spec/modelSpec';
import type { TrafficRow } from '../../src/traffic/scenarios';
import { uuidv7 } from '../../src/util/uuidv7';

/** A registered champion and where its checks read and write. */
export interface Champion {
  home: string;
  spec: ModelSpec;
  version: number;
  artifact: ModelArtifact;
  registry: Registry;
  store: ArtifactStore;
}

/** One monitor check and what only the simulator knows about its window. */
export interface ScenarioCheck {
  summary: MonitorCheckSummary;
  /** Share of late flights among the window's rows (the true labels). */
  labelRate: number;
}

/**
 * Serves a scenario's rows as the model server would and runs one monitor check per
 * consecutive window of `perCheck` rows. Each row is scored with ModelArtifact.scoreRow —
 * the model server's own code path — and logged with the features it computed; its true
 * label is applied before the check, as with a label delay shorter than the check
 * interval. Each scenario gets a prediction log of its own, so its checks (and the
 * performance window of its labeled rows) see its traffic alone.
 */
export async function checkWindows(c: Champion, scenario: string, rows: TrafficRow[], perCheck: number): Promise<ScenarioCheck[]> {
  const file = path.join(c.home, `predictions-${scenario.replace(/[^A-Za-z0-9-]+/g, '_')}.sqlite`);
  const log = new PredictionLog(file);
  try {
    const checks: ScenarioCheck[] = [];
    let cursor = 0;
    for (let start = 0; start + perCheck <= rows.length; start += perCheck) {
      const window = rows.slice(start, start + perCheck);
      serveAndLabel(c, log, window);
      const summary = await runMonitorCheck(
        { registry: c.registry, store: c.store, predictions: log },
        { spec: c.spec, version: c.version, cursor, asOf: new Date().toISOString(), checkKey: `scenario/${scenario}/${checks.length + 1}` },
      );
      cursor = summary.cursor.to;
      checks.push({ summary, labelRate: window.filter((r) => r.label === 1).length / window.length });
    }
    return checks;
  } finally {
    log.close();
    rmSync(file, { force: true });
  }
}

function serveAndLabel(c: Champion, log: PredictionLog, rows: TrafficRow[]): void {
  const ids = rows.map(() => uuidv7());
  const at = new Date().toISOString();
  log.append(
    rows.map((row, i) => {
      const features = new Float64Array(c.artifact.pipeline.features.length);
      const score = c.artifact.scoreRow(row.instance, features);
      return { requestId: ids[i], at, model: c.spec.name, modelVersion: c.version, instance: row.instance, features, score };
    }),
  );
  log.applyLabels(c.spec.name, rows.map((row, i) => ({ requestId: ids[i], label: row.label })));
}
