export interface StoredArtifact {
  uri: string;
  sha256: string;
  bytes: number;
  /** True when identical content was already stored and nothing was written. */
  reused: boolean;
}

/**
 * Where a process keeps what it makes: content-addressed artifacts (`<root>/<kind>/<sha256>.<ext>`:
 * snapshots, pipelines, profiles, models, matrices, trainer code) and a few named, mutable
 * files (training checkpoints, monitor reports). One interface, chosen by
 * `PERENNIAL_ARTIFACTS_URL` (src/artifacts/open.ts): a folder on this machine (`file:`) or a
 * bucket (`s3://bucket/prefix`). Artifacts are read by their URI alone (`readArtifactBytes`
 * and friends below), whichever process wrote them.
 */
export interface ArtifactStore {
  /** The store's root as a URI: the Python worker writes content-addressed files under it. */
  readonly rootUri: string;
  /** A fresh local scratch file (DuckDB writes Parquet here before `adoptFile`). */
  tempPath(ext: string): string;
  /** Stores a finished scratch file under its content address; the scratch file is gone afterwards. */
  adoptFile(kind: string, tempFile: string, ext: string): Promise<StoredArtifact>;
  putJson(kind: string, value: unknown): Promise<StoredArtifact>;
  putBytes(kind: string, bytes: Uint8Array, ext: string): Promise<StoredArtifact>;
  /** The URI of an artifact stored by its content, or undefined when this store has none. */
  find(kind: string, sha256: string, ext: string): Promise<string | undefined>;
  /** Whether `uri` names something inside this store (not merely somewhere). */
  holds(uri: string): boolean;
  /** A named file's URI (it need not exist yet). */
  namedUri(relativePath: string): string;
  /** A named, mutable file (e.g. a checkpoint), replaced whole. */
  putNamedJson(relativePath: string, value: unknown): Promise<string>;
  /** A named file with its JSON, or null when there is none. */
  namedJson(relativePath: string): Promise<{ uri: string; value: unknown } | null>;
  /** Deletes a named file; a missing one is not an error. */
  removeNamed(relativePath: string): Promise<void>;
  /** Deletes something this store holds (retention); a missing one is not an error. */
  remove(uri: string): Promise<void>;
}

/** What reads artifacts of one URI scheme. */
export interface ArtifactReader {
  readBytes(uri: string): Promise<Buffer>;
  /** A path on this machine with the artifact's bytes (DuckDB, the Python baselines read files). */
  localPath(uri: string, expectedSha256?: string): Promise<string>;
}

export class ArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactError';
  }
}

/** The sha256 a content-addressed URI names (`…/<sha256>.<ext>`), if it is one. */
export function contentAddress(uri: string): string | undefined {
  return /\/([0-9a-f]{64})\.[a-z0-9]+$/.exec(uri)?.[1];
}
