import { readArtifactBytes } from '../artifacts/read';
import { ModelArtifact } from '../ml/modelArtifact';
import type { ModelVersion, Registry } from '../registry/registry';
import { openRegistry } from '../registry/open';
import type { Logger } from '../logging';

/** The version a model server serves for one model, loaded and ready to score. */
export interface LoadedChampion {
  model: string;
  version: number;
  /** When the registry's `champion` alias was last set to this version. */
  since: string;
  /** When this server finished loading it. */
  loadedAt: string;
  registered: ModelVersion;
  artifact: ModelArtifact;
  /** Feature names in the model's order (the order of logged feature arrays). */
  featureNames: string[];
  /** The columns an instance may have: the model's inputs but its target. */
  inputColumns: string[];
}

/** What this server knows of one model: the registry's champion and what is loaded. */
export interface ChampionState {
  model: string;
  /** The loaded champion, or null when none is (yet) loaded. */
  champion: LoadedChampion | null;
  /** The registry's `champion` alias at the last poll (null: no champion). */
  alias: { version: number; updatedAt: string } | null;
  /** Why the alias's version could not be loaded (retried every poll), else null. */
  loadError: string | null;
}

const RETIRED_CHAMPION_GRACE_MS = 60_000;

export interface ChampionsOptions {
  home: string;
  /** PostgreSQL registry; unset: the SQLite registry in `home`. */
  registryUrl?: string | null;
  /** How often the registry alias is polled (ms). Default 250. */
  pollMs?: number;
  logger?: Logger;
  /** Registry alias to serve. Default `champion`. */
  alias?: string;
  /** Told of each version as it is loaded, before it is served. */
  onLoaded?: (champion: LoadedChampion) => void;
  /** Told after each look at the registry (what is served may have changed). */
  onRefreshed?: () => void;
}

/** With alias moves announced by the database, a slow poll only backs the announcements up. */
const BACKUP_POLL_MS = 5_000;

function loadedChampion(registered: ModelVersion, artifact: ModelArtifact, since: string): LoadedChampion {
  return {
    model: registered.model,
    version: registered.version,
    since,
    loadedAt: new Date().toISOString(),
    registered,
    artifact,
    featureNames: artifact.pipeline.features.map((f) => f.name),
    inputColumns: Object.keys(artifact.pipeline.inputs).filter((c) => c !== artifact.pipeline.target.column),
  };
}

/**
 * The champion of every model in the registry, kept current by polling the `champion`
 * alias. A new version's artifact is read, checked against its registered sha256 and
 * compiled on the poller — never on a request — and then swapped in with one assignment,
 * so every request is scored entirely by one version. If it cannot be loaded, the
 * previous champion keeps serving and the load is retried at the next poll. A cleared
 * alias stops serving the model (503).
 */
export class Champions {
  /** Also read by the server's lineage routes and monitoring gauges (one connection). */
  readonly registry: Registry;
  private readonly states = new Map<string, ChampionState>();
  private readonly pollMs: number;
  private readonly aliasName: string;
  private readonly logger: Logger | undefined;
  private readonly onLoaded: ((champion: LoadedChampion) => void) | undefined;
  private readonly onRefreshed: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private refreshing: Promise<void> | undefined;
  /** A change was announced while a refresh ran: look again once it is done. */
  private again = false;
  private unwatch: (() => Promise<void>) | null = null;
  /** The last failed load per model, until a load succeeds. */
  private readonly failures = new Map<string, { message: string }>();
  /** Errors already logged, per model, so a broken artifact is logged once, not every poll. */
  private readonly loggedErrors = new Map<string, string>();

  constructor(o: ChampionsOptions) {
    this.registry = openRegistry(o);
    this.pollMs = o.pollMs ?? 250;
    this.aliasName = o.alias ?? 'champion';
    this.logger = o.logger;
    this.onLoaded = o.onLoaded;
    this.onRefreshed = o.onRefreshed;
  }

  /** Loads every model's champion, then follows the alias: told by the database where it can, polling otherwise. */
  async start(): Promise<void> {
    await this.refresh();
    this.unwatch = await this.registry.watchAliases(
      () => void this.refresh().catch((err: unknown) => this.logger?.error({ err }, 'champion refresh failed')),
      (err) => this.logger?.warn({ err }, 'lost the registry connection that announces promotions; reconnecting'),
    );
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.refresh()
        .catch((err: unknown) => this.logger?.error({ err }, 'champion poll failed'))
        .finally(() => this.schedule());
    }, this.unwatch ? Math.max(this.pollMs, BACKUP_POLL_MS) : this.pollMs);
    this.timer.unref();
  }

  /** One poll: the registry's models and their champion aliases; loads what changed. */
  refresh(): Promise<void> {
    // One refresh at a time: a slow artifact load delays the next poll instead of racing it,
    // and a change announced meanwhile is read once it is done.
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        try {
          await this.doRefresh();
        } finally {
          this.onRefreshed?.();
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.refreshing = undefined;
      // A change announced while a failed refresh ran is not left for the backup poll.
      if (this.again && !this.stopped) setTimeout(() => void this.refresh().catch(() => undefined), 1_000).unref();
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const aliases = await this.registry.aliasesNamed(this.aliasName);
    // A model whose first training is under way is known too: its predictions get 503, not 404.
    for (const model of await this.registry.knownModels()) {
      if (this.stopped) return;
      const state = this.states.get(model) ?? { model, champion: null, alias: null, loadError: null };
      this.states.set(model, state);
      const alias = aliases.get(model) ?? null;
      state.alias = alias;
      if (!alias) {
        if (state.champion) this.logger?.warn({ model, version: state.champion.version }, 'champion alias cleared: no longer serving');
        this.retire(state.champion);
        state.champion = null;
        state.loadError = null;
        continue;
      }
      if (state.champion?.version === alias.version) {
        if (state.champion.since !== alias.updatedAt) state.champion = { ...state.champion, since: alias.updatedAt };
        state.loadError = null;
        continue;
      }
      try {
        const loaded = await this.load(model, alias.version, alias.updatedAt);
        if (this.stopped) {
          await loaded.artifact.close();
          return;
        }
        // The alias may have moved again while the artifact loaded: the next poll catches up.
        const previous = state.champion?.version;
        try {
          this.onLoaded?.(loaded);
        } catch (err) {
          // The hook's failure is its own: the version is loaded and served all the same.
          this.logger?.error({ err, model, version: loaded.version }, 'champion loaded; its onLoaded hook failed');
        }
        this.retire(state.champion);
        state.champion = loaded;
        state.loadError = null;
        this.failures.delete(model);
        this.loggedErrors.delete(model);
        this.logger?.info({ model, version: loaded.version, previous: previous ?? null }, `serving ${model} v${loaded.version}`);
      } catch (err) {
        const message = `version ${alias.version}: ${(err as Error).message}`;
        // Said only when a second attempt fails the same way: a deploy fails at once on it, and a blip (S3, the registry) is not a verdict.
        const failure = this.failures.get(model);
        const repeated = failure?.message === message;
        this.failures.set(model, { message });
        if (!repeated) continue;
        state.loadError = message;
        if (this.loggedErrors.get(model) !== state.loadError) {
          this.loggedErrors.set(model, state.loadError);
          this.logger?.error({ model, version: alias.version, err }, `cannot load ${model} v${alias.version}; still serving ${state.champion ? `v${state.champion.version}` : 'nothing'}`);
        }
      }
    }
  }

  private async load(model: string, version: number, since: string): Promise<LoadedChampion> {
    const registered = await this.registry.get(model, version);
    if (!registered) throw new Error(`the registry has no ${model} v${version}`);
    const bytes = await readArtifactBytes(registered.artifactUri, registered.artifactSha256);
    const artifact = await ModelArtifact.load(JSON.parse(bytes.toString('utf8')));
    if (artifact.model !== model) {
      await artifact.close();
      throw new Error(`artifact ${registered.artifactUri} is a model of ${artifact.model}, not ${model}`);
    }
    return loadedChampion(registered, artifact, since);
  }

  /**
   * A replaced champion's native resources (an ONNX session) are freed once the requests
   * that took it before the swap are done: a request is answered well within this.
   */
  private retire(champion: LoadedChampion | null): void {
    if (!champion) return;
    const artifact = champion.artifact;
    setTimeout(() => void artifact.close().catch((err: unknown) => this.logger?.warn({ err }, 'releasing a replaced champion failed')), RETIRED_CHAMPION_GRACE_MS).unref();
  }

  /** A model is known once the registry has any version of it (as of the last poll). */
  isKnown(model: string): boolean {
    return this.states.has(model);
  }

  /** The loaded champion, or undefined when none is. */
  get(model: string): LoadedChampion | undefined {
    return this.states.get(model)?.champion ?? undefined;
  }

  state(model: string): ChampionState | undefined {
    return this.states.get(model);
  }

  all(): ChampionState[] {
    return [...this.states.values()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.unwatch?.();
    await this.refreshing?.catch(() => undefined);
    // Called after the HTTP server has closed: nothing scores any more.
    for (const state of this.states.values()) await state.champion?.artifact.close();
    await this.registry.close();
  }
}
