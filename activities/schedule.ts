import { Context } from '@temporalio/activity';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleSpec } from '@temporalio/client';
import type { RetrainSpec } from '../src/spec/modelSpec';
import { durationMs } from '../src/util/duration';
import type { ActivityDeps } from './deps';

export function retrainScheduleId(model: string): string {
  return `retrain/${model}`;
}

function specOf(schedule: NonNullable<RetrainSpec['schedule']>): ScheduleSpec {
  return 'cron' in schedule ? { cronExpressions: [schedule.cron] } : { intervals: [{ every: durationMs(schedule.every) }] };
}

/**
 * Keeps the Temporal Schedule `retrain/<model>` in line with the spec: created or updated
 * when the spec has a retrain schedule, deleted when it has none. Its action starts the
 * small `scheduledRetrain` workflow, which signals the lifecycle — so the retrain goes
 * through the same rules (cooldown, budget, one at a time) as any other request.
 */
export const syncRetrainScheduleActivity = (d: ActivityDeps) =>
  async function syncRetrainSchedule(input: { model: string; schedule: RetrainSpec['schedule'] | null }): Promise<{ scheduleId: string; state: 'active' | 'absent' }> {
    const client = await d.client();
    const scheduleId = retrainScheduleId(input.model);
    const handle = client.schedule.getHandle(scheduleId);
    if (!input.schedule) {
      try {
        await handle.delete();
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
      return { scheduleId, state: 'absent' };
    }
    const spec = specOf(input.schedule);
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'scheduledRetrain',
      workflowId: `retrain-request/${input.model}`,
      taskQueue: Context.current().info.taskQueue,
      args: [{ model: input.model }],
    };
    try {
      await client.schedule.create({
        scheduleId,
        spec,
        action,
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
        state: { note: `retrain ${input.model} on its schedule (perennial)` },
      });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await handle.update((previous) => ({ ...previous, spec, action }));
    }
    return { scheduleId, state: 'active' };
  };
