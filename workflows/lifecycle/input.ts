import type { ModelSpec } from '../../src/spec/modelSpec';

export interface LifecycleInput {
  spec: ModelSpec;
  specHash: string;
  /** Who started the lifecycle: the first training runs on their behalf. */
  startedBy: string;
  /** Whether the namespace has perennial's search attributes (default true). */
  searchAttributes?: boolean;
  /** The state the previous run handed over when it continued as new (validated: CarriedState). */
  carried?: unknown;
  /** The model's report page on the model server, linked from the Web UI's details (as the starter's configuration names the server). */
  reportUrl?: string;
  /** Continue as new after this many cycles (checks and stages) even when Temporal does not suggest it yet. */
  continueAsNewAfter?: number;
}
