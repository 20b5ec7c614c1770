import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ModelSpec } from '../src/spec/modelSpec';
import type { LedgerEntry, LedgerRow } from '../src/registry/registry';
import { evaluateModel } from '../src/training/steps';
import { waitUntilServedEverywhere } from '../src/serving/servedEverywhere';
import { identityOfAction, type ActionSource } from '../src/lifecycle/identity';
import type { Metrics } from '../src/lifecycle/contract';
import { canonicalJson, sha256 } from '../src/util/hash';
import type { KeyRecord } from '../src/auth/keyring';
import type { ActivityDeps } from './deps';
import { asActivity } from './failures';
import { heartbeating } from './heartbeat';

/** The next run number of `train/<model>/<n>`, from the registry's per-model sequence. */
export const nextTrainingRunActivity = (d: ActivityDeps) =>
  async function nextTrainingRun(input: { model: string }): Promise<number> {
    return d.registry.next(input.model, 'training-run');
  };

/** Scores a registered version on another run's holdout: the champion judged on the candidate's data. */
export const evaluateVersionActivity = (d: ActivityDeps) =>
  async function evaluateVersion(input: { spec: ModelSpec; version: number; snapshotUri: string }): Promise<Metrics> {
    const v = await d.registry.get(input.spec.name, input.version);
    if (!v) throw ApplicationFailure.nonRetryable(`${input.spec.name} has no version ${input.version}`, 'VersionNotFound');
    return heartbeating(() => asActivity(async () => (await evaluateModel(input.spec, input.snapshotUri, v.artifactUri)).model));
  };

/** How long a decision's record waits for its sender's client identity before it goes without. */
const IDENTITY_LOOKUP_MS = 10_000;

/**
 * Appends a decision to the promotion ledger, with the Temporal client identity that
 * sent the action when it came from a person. Idempotent through the dedupe key.
 */
export const recordDecisionActivity = (d: ActivityDeps) =>
  async function recordDecision(input: { entry: LedgerEntry; dedupeKey: string; source?: ActionSource }): Promise<LedgerRow> {
    let identity = input.entry.identity;
    if (input.source && !identity) {
      const ctx = Context.current();
      const execution = ctx.info.workflowExecution;
      // Best effort: a decision is never held up because its sender's identity cannot be read.
      try {
        // An empty identity (e.g. the Web UI without login) is none: recorded as unknown.
        // Bounded: a history swollen by megabytes of refused signals once held every decision up.
        const client = await d.client();
        if (execution) identity = (await client.withDeadline(Date.now() + IDENTITY_LOOKUP_MS, () => identityOfAction(client, execution.workflowId, execution.runId, input.source!))) || undefined;
      } catch (err) {
        ctx.log.warn('could not read the client identity of an action', { error: (err as Error).message });
      }
    }
    return d.registry.appendLedger({ ...input.entry, identity, dedupeKey: input.dedupeKey });
  };

/**
 * Moves the `champion` alias and waits until every live model server serves that version
 * (as the servers report it to the registry: the worker needs no server's address).
 * If they do not in time, the alias moves back and the promotion fails: never half-promoted.
 * An attempt the server has given up on (it stopped heartbeating in time) leaves the alias
 * alone: the workflow restores it once the deploy has failed for good (`restoreChampion`).
 */
export const deployActivity = (d: ActivityDeps) =>
  async function deploy(input: { model: string; version: number; previous: number | null; timeoutMs: number }): Promise<{ servedAt: string }> {
    const ctx = Context.current();
    await d.registry.setAlias(input.model, 'champion', input.version);
    const beat = setInterval(() => ctx.heartbeat(), 1000);
    try {
      const outcome = await waitUntilServedEverywhere(d.registry, input.model, input.version, { timeoutMs: input.timeoutMs, livenessMs: d.livenessMs, signal: ctx.cancellationSignal });
      if (outcome.serving) return { servedAt: new Date().toISOString() };
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      await moveChampionBack(d, input.model, input.version, input.previous);
      throw ApplicationFailure.nonRetryable(
        `${input.model} v${input.version} was not served: ${outcome.reason}; champion restored to ${input.previous === null ? 'none' : `v${input.previous}`}`,
        'DeployFailed',
      );
    } finally {
      clearInterval(beat);
    }
  };

/**
 * After a deploy failed for any reason (attempts lost to a crashed worker, the registry
 * failing mid-way, the workflow cancelled): the `champion` alias goes back to `previous` if it still points at the
 * version that failed. Idempotent.
 */
export const restoreChampionActivity = (d: ActivityDeps) =>
  async function restoreChampion(input: { model: string; failed: number; previous: number | null }): Promise<void> {
    await moveChampionBack(d, input.model, input.failed, input.previous);
  };

/** Compare-and-set: only an alias still at `failed` moves, so a later promotion is never undone. */
async function moveChampionBack(d: ActivityDeps, model: string, failed: number, previous: number | null): Promise<void> {
  if ((await d.registry.alias(model, 'champion'))?.version !== failed) return;
  if (previous === null) await d.registry.clearAlias(model, 'champion');
  else await d.registry.setAlias(model, 'champion', previous);
}

/** Stops serving a model: its champion alias is removed. */
export const retireModelActivity = (d: ActivityDeps) =>
  async function retireModel(input: { model: string }): Promise<void> {
    await d.registry.clearAlias(input.model, 'champion');
  };

/** The key records of these names, as the registry has them: the lifecycle checks their endorsements itself. */
export const loadKeyRecordsActivity = (d: ActivityDeps) =>
  async function loadKeyRecords(input: { names: string[] }): Promise<KeyRecord[]> {
    // Bounded: the answer travels as a workflow payload and is carried across continue-as-new.
    return (await d.registry.keyRecords(input.names.slice(0, 200), 100)).slice(0, 1000);
  };

/** The spec's hash exactly as `parseSpec` computes it (sha256 of canonical JSON), for a spec changed in flight. */
export const hashSpecActivity = () =>
  async function hashSpec(input: { spec: ModelSpec }): Promise<string> {
    return sha256(canonicalJson(input.spec));
  };
