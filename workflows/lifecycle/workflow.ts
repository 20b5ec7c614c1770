import { allHandlersFinished, condition, continueAsNew, isCancellation, log, workflowInfo } from '@temporalio/workflow';
import type { LifecycleStatus } from '../../src/lifecycle/contract';
import { ActionHandlers } from './actions';
import { publish } from './details';
import type { LifecycleInput } from './input';
import { keyLoader, registerKeyRefresh } from './keys';
import { syncSchedule } from './schedule';
import { registerSpecUpdate } from './specUpdate';
import { LifecycleState } from './state';
import { awaitDecision } from './stages/approval';
import { deployTargetVersion } from './stages/deploying';
import { rest } from './stages/resting';
import { retireNow } from './stages/retiring';
import { train } from './stages/training';

/**
 * `lifecycle/<model>`: one durable workflow per model. It trains (the training pipeline
 * as a child), gates the candidate, waits for a human decision, promotes, and serves —
 * for as long as the model lives. Decisions only: everything it needs from the world
 * arrives through activities. Its state is one object, built before any handler is set
 * and handed to the next run when this one continues as new.
 */
export async function lifecycle(input: LifecycleInput): Promise<LifecycleStatus> {
  const s = new LifecycleState(input);
  const actions = new ActionHandlers(s);
  actions.register();
  registerSpecUpdate(s);
  if (s.signedActions) registerKeyRefresh(s);

  // Beside the main loop for the whole run; a cancelled lifecycle ends it (nothing to reload then).
  if (s.signedActions) keyLoader(s, actions).catch((err: unknown) => {
    if (!isCancellation(err)) log.error('the key loader stopped', { error: String(err) });
  });
  if (input.carried === undefined && s.spec.retrain?.schedule) await syncSchedule(s.model, s.spec.retrain.schedule);
  publish(s);
  for (;;) {
    if (s.retire && s.stage !== 'RETIRED') await retireNow(s);
    if (betweenStages(s) && s.continueAsNewDue()) {
      // The hand-over waits for a key reload under way (the stages would return at once meanwhile).
      if (s.keysPending()) await condition(() => !s.keysPending());
      // Only with no action half-taken; one that arrives meanwhile runs its stage first.
      if (s.quiet()) {
        await condition(allHandlersFinished);
        if (s.quiet()) {
          log.info('continuing as new', { cycles: s.cycles, run: s.run, suggested: workflowInfo().continueAsNewSuggested });
          await continueAsNew<typeof lifecycle>({ ...input, spec: s.spec, specHash: s.specHash, carried: s.carried() });
        }
      }
    }
    s.cycles++;
    publish(s);
    switch (s.stage) {
      case 'TRAINING':
        await train(s, s.trainingFor);
        break;
      case 'AWAITING_APPROVAL':
        await awaitDecision(s);
        break;
      case 'DEPLOYING':
        await deployTargetVersion(s);
        break;
      case 'SERVING':
      case 'IDLE':
      case 'PAUSED':
        await rest(s);
        break;
      case 'RETIRED':
        await condition(allHandlersFinished);
        return s.status();
    }
  }
}

const betweenStages = (s: LifecycleState) => s.stage === 'SERVING' || s.stage === 'IDLE' || s.stage === 'PAUSED' || s.stage === 'AWAITING_APPROVAL';

