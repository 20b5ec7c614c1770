// Deterministic workflow code only: bundled into the worker's sandbox.
export { trainingPipeline, type TrainingInput, type TrainingResult } from './trainingPipeline';
export * from './lifecycle';
export { scheduledRetrain } from './scheduledRetrain';
