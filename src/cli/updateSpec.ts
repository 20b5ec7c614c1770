import { openArtifactStore } from '../artifacts/open';
import { storeTrainerCode } from '../spec/load';
import { readFileSync } from 'node:fs';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import { updateSpecUpdate } from '../../workflows';
import { Actor, Reason } from '../lifecycle/contract';
import { lifecycleWorkflowId } from '../lifecycle/names';
import { Signature } from '../auth/signature';
import { signAction } from '../auth/keyStore';
import { canonicalJson } from '../util/canonicalJson';
import { checkActor, cliIdentity, connect, loadSpec, rootMessage, runningLifecycle, workerBound, type Ctx } from './context';
import { requireKeyOf, withKeyRefresh } from './actions';
import { CliError, ok, type CommandResult } from './output';

export interface UpdateSpecRequestArgs {
  model: string;
  specFile: string;
  by: string;
  reason: string;
  /** A second approver's `--print-cosign` output. */
  cosignFile?: string;
  printCosign: boolean;
  lifetimeMs?: number;
}

/** What `--print-cosign` writes: the spec as the co-signer signed it, and the signature. */
const CosignFile = z.strictObject({ spec: z.unknown(), by: Actor, reason: Reason, signature: Signature });

/**
 * `perennial update-spec <model> <spec file> --by ID --reason TEXT [--cosign FILE]`: the
 * lifecycle's policy swapped for the file's, signed by an approver; a change to approval,
 * gates, retrain or trainer also co-signed (with separation of duties) by a second approver,
 * who makes FILE with the same command and `--print-cosign`.
 */
export async function updateSpecCommand(ctx: Ctx, r: UpdateSpecRequestArgs): Promise<CommandResult> {
  checkActor(r.by);
  if (r.reason.trim() === '') throw new CliError('bad_input', '--reason must not be empty');
  const loaded = loadSpec(r.specFile, ctx.config.home);
  if (loaded.spec.name !== r.model) throw new CliError('bad_input', `${r.specFile} describes ${loaded.spec.name}, not ${r.model}`);
  const key = requireKeyOf(ctx, r.by);
  const workflowId = lifecycleWorkflowId(r.model);
  const args = { spec: loaded.spec, by: r.by, reason: r.reason };
  if (r.printCosign) {
    const signed = signAction(key, workflowId, 'updateSpec', args, r.lifetimeMs);
    return { exitCode: 0, json: signed, text: JSON.stringify(signed) };
  }
  const cosign = r.cosignFile ? readCosign(r.cosignFile, loaded.spec) : undefined;
  await storeTrainerCode(loaded, openArtifactStore(ctx.config));
  const identity = cliIdentity(r.by);
  const client = await connect(ctx.config, identity);
  try {
    const { handle, description, webUi } = await runningLifecycle(ctx, client, r.model);
    const attempt = () => {
      const payload = { ...signAction(key, workflowId, 'updateSpec', args, r.lifetimeMs), ...(cosign ? { cosign } : {}) };
      return workerBound(handle.executeUpdate(updateSpecUpdate, { args: [payload] }), ctx, 'the updateSpec update', webUi);
    };
    const base = { model: r.model, action: 'update-spec', by: r.by, identity, workflowId, runId: description.runId, webUi };
    try {
      const ack = await withKeyRefresh(ctx, handle, webUi, attempt);
      return ok({ ...base, accepted: true, message: ack.message }, [`${ack.message} (${r.by}${cosign ? `, co-signed by ${cosign.by}` : ''})`, `Web UI: ${webUi}`].join('\n'));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CliError('refused', rootMessage(err.cause ?? err), base, [`Web UI: ${webUi}`]);
      throw err;
    }
  } finally {
    await client.connection.close();
  }
}

function readCosign(file: string, spec: unknown): { by: string; reason: string; signature: Signature } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError('bad_input', `cannot read the co-signature ${file}: ${(err as Error).message}`);
  }
  const c = CosignFile.safeParse(raw);
  if (!c.success) throw new CliError('bad_input', `${file} is not a co-signature (made with update-spec … --print-cosign): ${c.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (canonicalJson(c.data.spec) !== canonicalJson(spec)) throw new CliError('bad_input', `${file} co-signs a different spec than this one: both approvers must sign the same file`);
  return { by: c.data.by, reason: c.data.reason, signature: c.data.signature };
}
