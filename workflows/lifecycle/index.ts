export { lifecycle } from './workflow';
export type { LifecycleInput } from './input';
export { CARRIED_STATE_LIMIT_BYTES, DEFAULT_CONTINUE_AS_NEW_AFTER } from './state';
export * from './definitions';
