/** A drift worker thread (started by parallel.ts through parallelWorker.cjs): one feature per task. */

import { serveTasks } from '../util/workerPool';
import { featureDrift, type FeatureDrift } from './feature';
import type { FeatureTask } from './parallel';

serveTasks<FeatureTask, FeatureDrift>((t) => featureDrift(t.profile, t.column, t.rules, t.reference));
