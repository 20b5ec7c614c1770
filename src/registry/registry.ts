import type { KeyRecord } from '../auth/keyring';

/** What a version depended on: enough to trace any prediction back to data and code. */
export interface Lineage {
  datasetUri: string;
  datasetSha256: string;
  specHash: string;
  codeVersion: string;
  profileUri: string;
  pipelineUri: string;
  workflowId: string;
  runId: string;
  trainedBy: string;
  trainedAt: string;
}

export interface ModelVersion {
  model: string;
  version: number;
  artifactUri: string;
  artifactSha256: string;
  metrics: Record<string, unknown>;
  lineage: Lineage;
  /** The spec the version was trained under, as canonical JSON (absent for versions registered before it was kept). */
  specJson?: string;
}

export type NewVersion = Omit<ModelVersion, 'version'>;

/** One monitor check as stored; the full report is the JSON artifact at `reportUri`. */
export interface MonitorCheckRecord {
  model: string;
  version: number;
  at: string;
  rows: number;
  enoughData: boolean;
  breached: boolean;
  score: number;
  /** null: performance not judged (too few labels). */
  performanceOk: boolean | null;
  cursorFrom: number;
  cursorTo: number;
  reportUri: string;
  summary: Record<string, unknown>;
  dedupeKey: string;
}

export type StoredCheck = MonitorCheckRecord & { id: number };

export interface LedgerEntry {
  model: string;
  version?: number;
  /** e.g. trained, gate-failed, approved, rejected, expired, deployed, deploy-failed, rolled-back, retired, spec-updated */
  decision: string;
  by: string;
  /** The Temporal client identity that sent the action, beside the self-declared `by`. */
  identity?: string;
  reason: string;
  at?: string;
  workflowId?: string;
  runId?: string;
  details?: Record<string, unknown>;
  /** The name and key fingerprint a verified signature proved (absent: unsigned, e.g. perennial's own decisions). */
  signer?: { name: string; fingerprint: string };
}

export interface LedgerRow extends LedgerEntry {
  id: number;
  at: string;
}

/** Each model's latest check with a drift score, and its latest judged live AUC. */
export interface LatestMonitoring {
  model: string;
  scored: { score: number; breached: boolean; atMs: number } | null;
  liveAuc: number | null;
}

/** One model as a model server serves it, in its heartbeat. */
export interface ServedModel {
  model: string;
  /** The version it scores with (null: none loaded). */
  version: number | null;
  /** The version the `champion` alias named at its last look (null: none). */
  aliasVersion: number | null;
  /** Why it cannot load `aliasVersion`, if it cannot. */
  loadError: string | null;
}

/** What a model server reports with each heartbeat: who it is and what it serves. */
export interface ServerReport {
  id: string;
  url: string;
  serving: ServedModel[];
}

export interface LiveServer extends ServerReport {
  startedAt: string;
  /** How long ago its last heartbeat was, by the registry's clock. */
  lastSeenMsAgo: number;
}

/**
 * The model registry: immutable versions with lineage, aliases (`champion`), the per-model
 * sequences that number training runs, the append-only promotion ledger, stored monitor
 * checks and the actors' public keys. One interface, two stores chosen by
 * `PERENNIAL_REGISTRY_URL` (src/registry/open.ts): SQLite files in `$PERENNIAL_HOME` for
 * one machine, PostgreSQL for many. Every method may be called from many processes at once.
 */
export interface Registry {
  /** Where it is, for messages (never a password). */
  readonly location: string;

  /** The next number of a per-model sequence (e.g. training runs): atomic across processes. */
  next(model: string, name: string): Promise<number>;
  /**
   * Registers a new immutable version. Idempotent per training workflow: a retried
   * activity or a replayed run gets the version already registered.
   */
  register(v: NewVersion): Promise<{ version: ModelVersion; created: boolean }>;
  get(model: string, version: number): Promise<ModelVersion | undefined>;
  versions(model: string): Promise<ModelVersion[]>;
  /** Every model with a registered version. */
  models(): Promise<string[]>;
  /** Models with registered versions or a numbered training run (a first training under way). */
  knownModels(): Promise<string[]>;

  /** Points an alias (e.g. `champion`) at a registered version. */
  setAlias(model: string, alias: string, version: number): Promise<void>;
  clearAlias(model: string, alias: string): Promise<void>;
  alias(model: string, alias: string): Promise<{ version: number; updatedAt: string } | undefined>;
  /** Every model's alias of this name, in one read (what a model server polls). */
  aliasesNamed(alias: string): Promise<Map<string, { version: number; updatedAt: string }>>;
  /**
   * Calls `onChange(model)` whenever an alias moves, as the database tells it (PostgreSQL's
   * LISTEN/NOTIFY; `null` after a reconnect: anything may have moved). Resolves to a stop
   * function, or to null where the store cannot tell (SQLite: poll instead).
   */
  watchAliases(onChange: (model: string | null) => void, onError?: (err: unknown) => void): Promise<(() => Promise<void>) | null>;

  /** A model server's heartbeat: what it serves now (the registry keeps the latest per server). */
  reportServer(r: ServerReport): Promise<void>;
  /** A model server stopping cleanly: deploys stop waiting for it at once. */
  removeServer(id: string): Promise<void>;
  /** The model servers heard from within `withinMs` (by the registry's clock). */
  liveServers(withinMs: number): Promise<LiveServer[]>;

  /**
   * Appends a decision to the promotion ledger (the database refuses updates and deletes).
   * With a `dedupeKey`, appending the same decision twice (an activity retried) keeps one row.
   */
  appendLedger(e: LedgerEntry & { dedupeKey?: string }): Promise<LedgerRow>;
  ledger(model: string): Promise<LedgerRow[]>;
  /** The ledger entries about one version, oldest first, and the deploys that replaced it (`details.previous` = version). */
  ledgerOf(model: string, version: number): Promise<LedgerRow[]>;

  /** Stores one monitor check (every check, breached or not); idempotent through its dedupe key. */
  recordCheck(c: MonitorCheckRecord): Promise<StoredCheck>;
  /** A model's stored checks, oldest first. */
  checks(model: string): Promise<StoredCheck[]>;
  check(model: string, id: number): Promise<StoredCheck | undefined>;
  /** What changes whenever a model's checks or ledger grow (or checks are pruned): a cache key for pages built from them. */
  changeMark(model: string): Promise<string>;
  /** What the model server's gauges show. */
  latestMonitoring(): Promise<LatestMonitoring[]>;
  /** Deletes a model's checks recorded before `before`; returns their report URIs (the caller removes the files). */
  pruneChecks(model: string, before: string): Promise<string[]>;

  /** Appends a key record (add or revoke; append-only); whether it is honoured is the lifecycle's call (src/auth/keyring.ts). */
  appendKeyRecord(r: Omit<KeyRecord, 'seq'>): Promise<KeyRecord>;
  /**
   * Key records of these names (all of them when none are given), oldest first; at most
   * `limit` per name (the oldest: a name's chain of trust starts with its first key).
   */
  keyRecords(names?: readonly string[], limit?: number): Promise<KeyRecord[]>;

  close(): Promise<void>;
}
