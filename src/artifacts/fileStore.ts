import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash, randomUUID } from 'node:crypto';
import { sha256, sha256File } from '../util/hash';
import { fileURLToPath } from 'node:url';
import { ArtifactError, type ArtifactReader, type ArtifactStore, type StoredArtifact } from './store';

/**
 * Content-addressed files under a folder (default `$PERENNIAL_HOME/artifacts`). Writes go to
 * a temporary file and are renamed into place, so a crash never leaves a half-written
 * artifact under its final name.
 */
export class FileArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  tempPath(ext: string): string {
    const dir = path.join(this.root, 'tmp');
    mkdirSync(dir, { recursive: true });
    return path.join(dir, `${randomUUID()}.${ext}`);
  }

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

  async putJson(kind: string, value: unknown): Promise<StoredArtifact> {
    const text = JSON.stringify(value);
    return this.put(kind, text, sha256(text), Buffer.byteLength(text), 'json');
  }

  async putBytes(kind: string, bytes: Uint8Array, ext: string): Promise<StoredArtifact> {
    return this.put(kind, bytes, createHash('sha256').update(bytes).digest('hex'), bytes.length, ext);
  }

  private put(kind: string, data: string | Uint8Array, hash: string, bytes: number, ext: string): StoredArtifact {
    const target = path.join(this.root, kind, `${hash}.${ext}`);
    if (existsSync(target)) return { uri: pathToFileURL(target).href, sha256: hash, bytes, reused: true };
    this.writeAtomic(target, data);
    return { uri: pathToFileURL(target).href, sha256: hash, bytes, reused: false };
  }

  async find(kind: string, sha256: string, ext: string): Promise<string | undefined> {
    const target = path.join(this.root, kind, `${sha256}.${ext}`);
    return existsSync(target) ? pathToFileURL(target).href : undefined;
  }

  holds(uri: string): boolean {
    try {
      return this.inside(filePath(uri));
    } catch {
      return false;
    }
  }

  private inside(file: string): boolean {
    return path.resolve(file).startsWith(path.resolve(this.root) + path.sep);
  }

  get rootUri(): string {
    return pathToFileURL(this.root).href;
  }

  namedUri(relativePath: string): string {
    return pathToFileURL(path.join(this.root, relativePath)).href;
  }

  async putNamedJson(relativePath: string, value: unknown): Promise<string> {
    const target = path.join(this.root, relativePath);
    this.writeAtomic(target, JSON.stringify(value));
    return pathToFileURL(target).href;
  }

  async namedJson(relativePath: string): Promise<{ uri: string; value: unknown } | null> {
    const target = path.join(this.root, relativePath);
    if (!existsSync(target)) return null;
    return { uri: pathToFileURL(target).href, value: JSON.parse(await readFile(target, 'utf8')) };
  }

  async removeNamed(relativePath: string): Promise<void> {
    rmSync(path.join(this.root, relativePath), { force: true });
  }

  async remove(uri: string): Promise<void> {
    const file = filePath(uri);
    if (!this.inside(file)) throw new Error(`${uri} is not in the artifact store ${this.root}`);
    rmSync(file, { force: true });
  }

  private writeAtomic(target: string, data: string | Uint8Array): void {
    mkdirSync(path.dirname(target), { recursive: true });
    const temp = this.tempPath(path.extname(target).slice(1) || 'tmp');
    try {
      writeFileSync(temp, data);
      renameSync(temp, target);
    } catch (err) {
      // A failed write (ENOSPC, EXDEV, …) leaves no temporary file behind.
      rmSync(temp, { force: true });
      throw err;
    }
  }
}

export function filePath(uri: string): string {
  if (!uri.startsWith('file:')) throw new ArtifactError(`not a file: URI: ${uri.slice(0, 200)}`);
  return fileURLToPath(uri);
}

/** `file:` URIs are read where they are. */
export const fileReader: ArtifactReader = {
  readBytes: (uri) => readFile(filePath(uri)),
  localPath: async (uri) => filePath(uri),
};
