import { versionsOf, type VersionLineage } from '../lineage/lineage';
import { openExistingRegistry } from '../registry/open';
import type { Ctx } from './context';
import { CliError, EXIT, type CommandResult } from './output';

/** `versions <model> [--json]`: every registered version with its lineage, gates and who approved it. */
export async function versionsCommand(ctx: Ctx, model: string): Promise<CommandResult> {
  const registry = openExistingRegistry(ctx.config);
  try {
    const versions = registry ? await versionsOf(registry, model) : [];
    if (versions.length === 0) throw new CliError('not_found', `no versions of ${model} are registered in ${registry?.location ?? ctx.config.home}`, { model });
    return { exitCode: EXIT.ok, json: { ok: true, model, versions }, text: versions.map(versionText).join('\n\n') };
  } finally {
    await registry?.close();
  }
}

export function versionText(v: VersionLineage): string {
  const holdout = (v.metrics as { holdout?: { auc?: number; logLoss?: number } }).holdout;
  const out = [
    `${v.model} v${v.version}${v.champion ? '  (champion)' : ''}`,
    `  trained     ${v.trained_at} by ${v.trained_by} in ${v.training.workflow_id}`,
    `  trainer     ${v.trainer ? trainerText(v.trainer) : 'unknown (registered before specs were stored)'}`,
    `  holdout     ${holdout?.auc !== undefined ? `AUC ${holdout.auc.toFixed(4)}, log-loss ${holdout.logLoss?.toFixed(4)}` : '-'}`,
    `  data        ${v.data.snapshot_uri} (sha256 ${v.data.sha256})`,
    `  spec        sha256 ${v.spec.hash}${v.spec.spec ? '' : ' (text not stored)'}`,
    `  code        ${v.code_version}`,
    `  artifact    ${v.artifact.uri} (sha256 ${v.artifact.sha256})`,
    `  approved by ${v.approved_by.length ? v.approved_by.join(', ') : '-'}`,
  ];
  for (const d of v.decisions) out.push(`    ${d.at}  ${d.decision} by ${d.signed_by ? `${d.signed_by} (signed, key ${d.key_fingerprint})` : d.by} — ${d.reason}`);
  return out.join('\n');
}

function trainerText(t: NonNullable<VersionLineage['trainer']>): string {
  const code = t.entrypoint ? ` ${t.entrypoint}${t.code_sha256 ? ` (file sha256 ${t.code_sha256})` : ''}` : '';
  return `${t.type}${code} ${JSON.stringify(t.params)}`;
}
