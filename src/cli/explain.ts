import { existsSync } from 'node:fs';
import { explainRequest } from '../lineage/lineage';
import { openPredictionReader, predictionLogFile } from '../serving/openPredictions';
import { openExistingRegistry } from '../registry/open';
import type { Ctx } from './context';
import { versionText } from './versions';
import { CliError, EXIT, type CommandResult } from './output';

/** `explain <model> <request_id> [--json]`: one logged prediction, its inputs and features, and the lineage of the version that made it. */
export async function explainCommand(ctx: Ctx, model: string, requestId: string): Promise<CommandResult> {
  const registry = openExistingRegistry(ctx.config);
  if ((!ctx.config.registryUrl && !existsSync(predictionLogFile(ctx.config.home))) || !registry) {
    await registry?.close();
    throw new CliError('not_found', `no prediction log in ${ctx.config.home}`, { model, request_id: requestId });
  }
  const log = openPredictionReader(ctx.config);
  try {
    const r = await explainRequest(registry, model, requestId, (id) => log.find(id));
    if (!r.ok) throw new CliError(r.code, r.message, { model, request_id: requestId });
    const e = r.explanation;
    const text = [
      `${e.request_id}: ${e.model} v${e.model_version} at ${e.made_at}`,
      `  score       ${e.score.toFixed(6)} → label ${e.predicted_label}${e.label === null ? '' : `; true label ${e.label} (sent ${e.labeled_at})`}`,
      `  inputs      ${JSON.stringify(e.inputs)}`,
      `  features    ${Object.entries(e.features).map(([k, v]) => `${k}=${v === null ? 'missing' : v}`).join(', ')}`,
      '',
      versionText(e.version),
    ].join('\n');
    return { exitCode: EXIT.ok, json: { ok: true, ...e }, text };
  } finally {
    await log.close();
    await registry.close();
  }
}
