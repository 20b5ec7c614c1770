import path from 'node:path';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { workflowUrl } from '../config';
import { lifecycleWorkflowId } from '../lifecycle/names';
import { listSpecFiles, loadSpecFile, SHIPPED_SPECS_DIR } from '../spec/load';
import { PerennialCandidate, PerennialChampion, PerennialStage } from '../temporal/searchAttributes';
import { statusQuery, type lifecycle } from '../../workflows';
import { actorOrDefault, cliIdentity, connect, describeLifecycle, registeredVersions, rootMessage, within, type Ctx } from './context';
import { ok, table, type CommandResult } from './output';

interface SpecRef {
  file: string;
  shipped: boolean;
  /** Why the file is not a valid spec. */
  invalid?: string;
}

export interface ModelListing {
  model: string;
  specFiles: SpecRef[];
  lifecycle: {
    workflowId: string;
    runId: string;
    /** RUNNING, COMPLETED (retired), FAILED, TERMINATED, … */
    status: string;
    stage: string | null;
    champion: number | null;
    candidate: number | null;
    startedAt: string;
    webUi: string;
  } | null;
  /** Versions in the local registry ($PERENNIAL_HOME). */
  versions: number;
}

const LIST_LIMIT = 1000;
const QUERY_TIMEOUT_MS = 5_000;

/**
 * `list`: every model perennial knows — spec files (shipped and the user's), running
 * lifecycles and models with registered versions — with its lifecycle's stage, champion
 * and candidate (from the lifecycle's search attributes: no worker needed; else the status query).
 */
export async function listCommand(ctx: Ctx): Promise<CommandResult> {
  const byModel = new Map<string, SpecRef[]>();
  for (const file of listSpecFiles(ctx.config.home)) {
    const shipped = path.dirname(file) === SHIPPED_SPECS_DIR;
    let model: string;
    let invalid: string | undefined;
    try {
      model = loadSpecFile(file).spec.name;
    } catch (err) {
      model = path.basename(file).replace(/\.(ya?ml|json)$/, '');
      invalid = rootMessage(err).replace(/\s+/g, ' ');
    }
    const refs = byModel.get(model) ?? [];
    refs.push({ file, shipped, ...(invalid ? { invalid } : {}) });
    byModel.set(model, refs);
  }

  const client = await connect(ctx.config, cliIdentity(actorOrDefault(undefined)));
  try {
    for (const m of await runningLifecycles(client)) if (!byModel.has(m)) byModel.set(m, []);
    const versions = await registeredVersions(ctx.config, [...byModel.keys()]);
    for (const m of versions.keys()) if (!byModel.has(m)) byModel.set(m, []);

    const models: ModelListing[] = [];
    for (const model of [...byModel.keys()].sort()) {
      const d = await describeLifecycle(client, model);
      const lifecycle = d && lifecycleOf(ctx, model, d);
      if (lifecycle && lifecycle.status === 'RUNNING' && lifecycle.stage === null) await fillFromQuery(client, lifecycle);
      models.push({ model, specFiles: byModel.get(model)!, lifecycle, versions: versions.get(model) ?? 0 });
    }
    return ok({ models }, listText(models, ctx.config.home));
  } finally {
    await client.connection.close();
  }
}

/** Models of running `lifecycle` workflows (started from spec files anywhere); best effort. */
async function runningLifecycles(client: Client): Promise<string[]> {
  const models: string[] = [];
  try {
    for await (const w of client.workflow.list({ query: `WorkflowType = 'lifecycle' AND ExecutionStatus = 'Running'`, pageSize: 100 })) {
      if (w.workflowId.startsWith('lifecycle/')) models.push(w.workflowId.slice('lifecycle/'.length));
      if (models.length >= LIST_LIMIT) break;
    }
  } catch {
    // visibility unavailable: the spec files still list
  }
  return models;
}

/** Without perennial's search attributes (a namespace lacking them), the stage comes from the `status` query; best effort. */
async function fillFromQuery(client: Client, l: NonNullable<ModelListing['lifecycle']>): Promise<void> {
  try {
    const s = await within(QUERY_TIMEOUT_MS, client.workflow.getHandle<typeof lifecycle>(l.workflowId, l.runId).query(statusQuery), () => new Error('no answer'));
    l.stage = s.stage;
    l.champion = s.champion?.version ?? null;
    l.candidate = s.candidate?.version ?? null;
  } catch {
    // no worker answered: the stage stays unknown
  }
}

function lifecycleOf(ctx: Ctx, model: string, d: WorkflowExecutionDescription): NonNullable<ModelListing['lifecycle']> {
  const sa = d.typedSearchAttributes;
  const workflowId = lifecycleWorkflowId(model);
  return {
    workflowId,
    runId: d.runId,
    status: d.status.name,
    stage: sa.get(PerennialStage) ?? null,
    champion: sa.get(PerennialChampion) ?? null,
    candidate: sa.get(PerennialCandidate) ?? null,
    startedAt: d.startTime.toISOString(),
    webUi: workflowUrl(ctx.config, workflowId, d.runId),
  };
}

function listText(models: ModelListing[], home: string): string {
  if (models.length === 0) return `no models: add a spec to ${path.join(home, 'specs')}`;
  const shown = (f: SpecRef) => `${f.shipped ? `specs/${path.basename(f.file)} (shipped)` : f.file}${f.invalid ? ` INVALID: ${f.invalid}` : ''}`;
  const rows = models.map((m) => {
    const l = m.lifecycle;
    const stage = !l ? '-' : l.status === 'RUNNING' ? (l.stage ?? 'RUNNING') : `${l.stage ?? '-'} (ended: ${l.status})`;
    return [
      m.model,
      stage,
      l?.champion != null ? `v${l.champion}` : '-',
      l?.candidate != null ? `v${l.candidate}` : '-',
      String(m.versions),
      m.specFiles.map(shown).join(', ') || '(no spec file here)',
    ];
  });
  const lines = [table(['MODEL', 'STAGE', 'CHAMPION', 'CANDIDATE', 'VERSIONS', 'SPEC'], rows)];
  const running = models.filter((m) => m.lifecycle?.status === 'RUNNING');
  if (running.length) {
    lines.push('');
    for (const m of running) lines.push(`${m.model}: ${m.lifecycle!.webUi}`);
  }
  if (models.some((m) => !m.lifecycle && m.specFiles.some((f) => !f.invalid))) lines.push('', 'start a lifecycle with: npx perennial start-lifecycle <model> --by <you>');
  return lines.join('\n');
}
