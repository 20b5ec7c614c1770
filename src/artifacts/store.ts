import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readFile } from 'node:fs/promises';
import { createHash, randomUUID } from 'node:crypto';
import { sha256, sha256File } from '../util/hash';

export interface StoredArtifact {
  uri: string;
  sha256: string;
  bytes: number;
  /** True when identical content was already stored and the file was left untouched. */
  reused: boolean;
}

/**
 * Content-addressed files under `$PERENNIAL_HOME/artifacts/<kind>/<sha256>.<ext>`.
 * Writes go to a temporary file and are renamed into place, so a crash never leaves a
 * half-written artifact under its final name.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  static forHome(home: string): ArtifactStore {
    return new ArtifactStore(path.join(home, 'artifacts'));
  }

  /** A fresh temporary path inside the store (same file system, so rename is atomic). */
  tempPath(ext: string): string {
    const dir = path.join(this.root, 'tmp');
    mkdirSync(dir, { recursive: true });
    return path.join(dir, `${randomUUID()}.${ext}`);
  }

  /** Moves a finished temporary file to its content address. */
  async adoptFile(kind: string, tempFile: string, ext: string): Promise<StoredArtifact> {
    const hash = await sha256File(tempFile);
    const target = path.join(this.root, kind, `${hash}.${ext}`);
    const bytes = statSync(tempFile).size;
    if (existsSync(target)) {
      rmSync(tempFile, { force: true });
      return { uri: pathToFileURL(target).href, sha256: hash, bytes, reused: true };
    }
    mkdirSync(path.dirname(target), { recursive: true });
    renameSync(tempFile, target);
    return { uri: pathToFileURL(target).href, sha256: hash, bytes, reused: false };
  }

  putJson(kind: string, value: unknown): StoredArtifact {
    const text = JSON.stringify(value);
    const hash = sha256(text);
    const target = path.join(this.root, kind, `${hash}.json`);
    const bytes = Buffer.byteLength(text);
    if (existsSync(target)) return { uri: pathToFileURL(target).href, sha256: hash, bytes, reused: true };
    this.writeAtomic(target, text);
    return { uri: pathToFileURL(target).href, sha256: hash, bytes, reused: false };
  }

  putBytes(kind: string, bytes: Uint8Array, ext: string): StoredArtifact {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const target = path.join(this.root, kind, `${hash}.${ext}`);
    if (existsSync(target)) return { uri: pathToFileURL(target).href, sha256: hash, bytes: bytes.length, reused: true };
    this.writeAtomic(target, bytes);
    return { uri: pathToFileURL(target).href, sha256: hash, bytes: bytes.length, reused: false };
  }

  /** The URI of an artifact stored by its content, or undefined when this store has none. */
  find(kind: string, sha256: string, ext: string): string | undefined {
    const target = path.join(this.root, kind, `${sha256}.${ext}`);
    return existsSync(target) ? pathToFileURL(target).href : undefined;
  }

  /** Whether `uri` names a file inside this store (not merely one somewhere on disk). */
  holds(uri: string): boolean {
    let file: string;
    try {
      file = artifactPath(uri);
    } catch {
      return false;
    }
    return path.resolve(file).startsWith(path.resolve(this.root) + path.sep);
  }

  /** The store's root as a URI: another process (the Python worker) writes content-addressed files under it. */
  get rootUri(): string {
    return pathToFileURL(this.root).href;
  }

  /** A named file's URI (it need not exist yet). */
  namedUri(relativePath: string): string {
    return pathToFileURL(path.join(this.root, relativePath)).href;
  }

  /** A mutable, named file (e.g. a training checkpoint), replaced atomically. */
  putNamedJson(relativePath: string, value: unknown): string {
    const target = path.join(this.root, relativePath);
    this.writeAtomic(target, JSON.stringify(value));
    return pathToFileURL(target).href;
  }

  /** Deletes an artifact this store holds (retention); a missing file is not an error. */
  remove(uri: string): void {
    const file = artifactPath(uri);
    if (!path.resolve(file).startsWith(path.resolve(this.root) + path.sep)) throw new Error(`${uri} is not in the artifact store ${this.root}`);
    rmSync(file, { force: true });
  }

  /** Deletes a named file; a missing one is not an error. */
  removeNamed(relativePath: string): void {
    rmSync(path.join(this.root, relativePath), { force: true });
  }

  /** A named file (e.g. a training checkpoint) with its JSON, or null when there is none. */
  namedJson(relativePath: string): { uri: string; value: unknown } | null {
    const target = path.join(this.root, relativePath);
    if (!existsSync(target)) return null;
    return { uri: pathToFileURL(target).href, value: JSON.parse(readFileSync(target, 'utf8')) };
  }

  private writeAtomic(target: string, text: string | Uint8Array): void {
    mkdirSync(path.dirname(target), { recursive: true });
    const temp = this.tempPath(path.extname(target).slice(1) || 'tmp');
    try {
      writeFileSync(temp, text);
      renameSync(temp, target);
    } catch (err) {
      // A failed write (ENOSPC, EXDEV, …) leaves no temporary file behind.
      rmSync(temp, { force: true });
      throw err;
    }
  }
}

export function artifactPath(uri: string): string {
  if (!uri.startsWith('file:')) throw new Error(`unsupported artifact URI ${uri} (expected file://)`);
  return fileURLToPath(uri);
}

/** An artifact's bytes, refused unless they hash to the sha256 they were stored under. */
export async function readArtifactBytes(uri: string, expectedSha256: string): Promise<Buffer> {
  const bytes = await readFile(artifactPath(uri));
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== expectedSha256) throw new Error(`artifact ${uri} has sha256 ${got}, expected ${expectedSha256}`);
  return bytes;
}

export function readJsonArtifact(uri: string): unknown {
  return JSON.parse(readFileSync(artifactPath(uri), 'utf8'));
}
