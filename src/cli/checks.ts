import { openExistingRegistry } from '../registry/open';
import type { Ctx } from './context';
import { CliError, EXIT, table, type CommandResult } from './output';

const SHOWN = 50;

/** `checks <model> [--json]`: the stored monitor checks, newest last (text: the last 50; --json: all). */
export async function checksCommand(ctx: Ctx, model: string): Promise<CommandResult> {
  const registry = openExistingRegistry(ctx.config);
  try {
    const checks = registry ? await registry.checks(model) : [];
    if (checks.length === 0) throw new CliError('not_found', `no monitor checks of ${model} are stored in ${registry?.location ?? ctx.config.home}`, { model });
    const rows = checks.slice(-SHOWN).map((c) => {
      const perf = c.summary.performance as { auc?: number } | null | undefined;
      return [
        String(c.id),
        c.at,
        `v${c.version}`,
        String(c.rows),
        c.enoughData ? c.score.toFixed(4) : 'no data',
        c.breached ? 'BREACHED' : '',
        perf?.auc !== undefined ? perf.auc.toFixed(4) : '-',
        c.performanceOk === false ? 'BELOW FLOOR' : '',
      ];
    });
    const text = `${checks.length > SHOWN ? `last ${SHOWN} of ${checks.length} checks\n` : ''}${table(['check', 'at', 'version', 'rows', 'drift', 'breach', 'live AUC', 'performance'], rows)}`;
    return { exitCode: EXIT.ok, json: { ok: true, model, checks }, text };
  } finally {
    await registry?.close();
  }
}
