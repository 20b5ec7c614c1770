import { workflowUrl } from '../config';
import { startLifecycle } from '../client/startLifecycle';
import { checkActor, cliIdentity, connect, loadSpec, type Ctx } from './context';
import { ok, type CommandResult } from './output';

/** `start-lifecycle <model|spec file> [--by ID]`: one lifecycle per model; a second start finds the first. */
export async function startLifecycleCommand(ctx: Ctx, target: string, by: string): Promise<CommandResult> {
  checkActor(by);
  const loaded = loadSpec(target, ctx.config.home);
  const client = await connect(ctx.config, cliIdentity(by));
  try {
    const { handle, started } = await startLifecycle(client, ctx.config, loaded, by);
    const model = loaded.spec.name;
    const runId = handle.firstExecutionRunId;
    const webUi = workflowUrl(ctx.config, handle.workflowId, runId);
    const text = started
      ? [
          `started ${handle.workflowId} for ${by} (spec ${loaded.file ?? '<inline>'}, ${loaded.specHash.slice(0, 12)})`,
          `it trains a first candidate, gates it, then waits for one of ${loaded.spec.approval.approvers.join(', ')} to approve`,
          `follow it with: npx perennial status ${model}`,
        ]
      : [
          `${handle.workflowId} is already running (run ${runId}); nothing started — its spec is left as it is`,
          `see it with: npx perennial status ${model}`,
        ];
    return ok(
      { model, started, alreadyRunning: !started, workflowId: handle.workflowId, runId, specFile: loaded.file ?? null, specHash: loaded.specHash, by, webUi },
      [...text, `Web UI: ${webUi}`].join('\n'),
    );
  } finally {
    await client.connection.close();
  }
}
