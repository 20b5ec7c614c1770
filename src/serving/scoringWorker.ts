/**
 * The model server's scoring thread (started by scoringThread.ts through
 * scoringWorker.cjs): scores the jobs the request thread puts in the shared ring, in order,
 * with the models it was sent. It never returns to its event loop: it sleeps on the ring's
 * doorbell and reads messages synchronously, so a job costs no message and no callback.
 */
import { receiveMessageOnPort, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { GbdtModel } from '../ml/gbdt';
import {
  COMPLETED, DOORBELL, JOB_MODEL, JOB_OFFSET, JOB_ROWS, JOB_STATUS, JOB_WIDTH, STATUS_FAILED, STATUS_SCORED, SUBMITTED,
  ringViews, scoreRows, slotOf, type ScoringControl, type ScoringReply,
} from './scoringRing';

const { ring, control, firstJob } = workerData as { ring: SharedArrayBuffer; control: MessagePort; firstJob: number };
const { counters, jobs, data } = ringViews(ring);
const models = new Map<number, GbdtModel>();
/** A sleep is cut short this often anyway (ms): a safety net, not the way work arrives. */
const NAP_MS = 1000;

function handle(message: ScoringControl): void {
  if (message.op === 'unload') {
    models.delete(message.id);
    return;
  }
  let reply: ScoringReply;
  try {
    models.set(message.id, GbdtModel.fromJSON(message.model));
    reply = { op: 'loaded', id: message.id };
  } catch (err) {
    reply = { op: 'loadFailed', id: message.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
}

function score(job: number): void {
  const at = slotOf(job);
  const model = models.get(jobs[at + JOB_MODEL]);
  const rows = jobs[at + JOB_ROWS];
  const offset = jobs[at + JOB_OFFSET];
  const width = jobs[at + JOB_WIDTH];
  if (!model) {
    jobs[at + JOB_STATUS] = STATUS_FAILED;
    return;
  }
  try {
    scoreRows(model, data, offset, rows, width);
    jobs[at + JOB_STATUS] = STATUS_SCORED;
  } catch {
    jobs[at + JOB_STATUS] = STATUS_FAILED;
  }
}

/**
 * Completions are announced when the thread has caught up with the jobs handed over, or
 * after this long (ms) without an announcement: the request thread then wakes once for a
 * turn's jobs.
 */
const ANNOUNCE_MS = 0.5;
/**
 * A job of this many tree walks (rows × trees; ~0.3 ms of the shipped 100-tree model) is
 * not started with completed jobs unannounced: their answers would wait for it.
 */
const LONG_JOB_WALKS = 5000;

function treeWalks(job: number): number {
  const at = slotOf(job);
  return jobs[at + JOB_ROWS] * (models.get(jobs[at + JOB_MODEL])?.rounds ?? 0);
}

// Job counts are int32s that wrap around after 2^31 jobs: compared by their difference.
let done = firstJob | 0;
let unannounced = false;
let announced = performance.now();

function announce(): void {
  Atomics.notify(counters, COMPLETED);
  announced = performance.now();
  unannounced = false;
}

for (;;) {
  // The doorbell is read before looking for work: anything asked after this read rings it
  // again, and the wait below returns at once.
  const bell = Atomics.load(counters, DOORBELL);
  for (let m = receiveMessageOnPort(control); m; m = receiveMessageOnPort(control)) handle(m.message as ScoringControl);
  if (((Atomics.load(counters, SUBMITTED) - done) | 0) > 0) {
    if (unannounced && treeWalks(done) >= LONG_JOB_WALKS) announce();
    score(done);
    done = (done + 1) | 0;
    Atomics.store(counters, COMPLETED, done);
    unannounced = true;
    if (((Atomics.load(counters, SUBMITTED) - done) | 0) === 0 || performance.now() - announced >= ANNOUNCE_MS) announce();
    continue;
  }
  Atomics.wait(counters, DOORBELL, bell, NAP_MS);
}
