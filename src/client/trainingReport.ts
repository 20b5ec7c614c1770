import type { Config } from '../config';
import { workflowUrl } from '../config';
import type { TrainingResult } from '../../workflows';

/** The one JSON object `npm run train -- --json` prints. */
export function trainingJson(result: TrainingResult, workflowId: string, runId: string, config: Config) {
  return {
    model: result.model,
    version: result.version,
    /** sha256 of the model artifact: same inputs (data, spec, seed, code) give the same one. */
    artifactSha256: result.registered.artifactSha256,
    metrics: result.evaluation,
    lineage: result.registered.lineage,
    workflowId,
    runId,
    webUi: workflowUrl(config, workflowId, runId),
  };
}

export function trainingText(result: TrainingResult, workflowId: string, runId: string, config: Config): string {
  const m = result.evaluation.model;
  const b = result.evaluation.baseRate;
  const row = (name: string, model: number, base: number) => `  ${name.padEnd(9)} ${model.toFixed(4)}   (base rate ${base.toFixed(4)})`;
  return [
    `${result.model} v${result.version} registered${result.created ? '' : ' (already registered by this run)'}`,
    `holdout metrics on ${result.evaluation.holdoutRows} rows:`,
    row('AUC', m.auc, b.auc),
    row('log-loss', m.logLoss, b.logLoss),
    row('accuracy', m.accuracy, b.accuracy),
    row('Brier', m.brier, b.brier),
    `dataset ${result.registered.lineage.datasetSha256.slice(0, 12)}, spec ${result.registered.lineage.specHash.slice(0, 12)}, code ${result.registered.lineage.codeVersion}`,
    `Web UI: ${workflowUrl(config, workflowId, runId)}`,
  ].join('\n');
}
