import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { sha256, sha256File } from '../util/hash';
import { ArtifactError, contentAddress, type ArtifactReader, type ArtifactStore, type StoredArtifact } from './store';

/**
 * Artifacts in an S3 bucket (`s3://bucket/prefix`), with the standard `AWS_*` settings
 * (`AWS_ENDPOINT_URL` for an S3-compatible server, addressed path-style then). A content-
 * addressed object is written once, with `If-None-Match: *` (an existing one is the same
 * bytes, so it is reused, never overwritten), and checked against its sha256 when read. What
 * DuckDB and the model server read is kept in a local cache, verified once when fetched.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly bucket: string;
  readonly prefix: string;

  constructor(url: string) {
    ({ bucket: this.bucket, key: this.prefix } = parseS3Uri(url));
    this.prefix = this.prefix.replace(/\/+$/, '');
  }

  get rootUri(): string {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
  }

  private key(relativePath: string): string {
    return this.prefix ? `${this.prefix}/${relativePath}` : relativePath;
  }

  private uri(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  tempPath(ext: string): string {
    const dir = path.join(cacheDir, 'tmp');
    mkdirSync(dir, { recursive: true });
    return path.join(dir, `${randomUUID()}.${ext}`);
  }

  async adoptFile(kind: string, tempFile: string, ext: string): Promise<StoredArtifact> {
    try {
      const hash = await sha256File(tempFile);
      const bytes = statSync(tempFile).size;
      const key = this.key(`${kind}/${hash}.${ext}`);
      // In memory, not streamed: a body the SDK can send again is retried like any other request.
      const reused = await putOnce(this.bucket, key, () => readFileSync(tempFile), bytes);
      // The bytes are here already: the next local read needs no download.
      keepInCache(this.bucket, key, tempFile);
      return { uri: this.uri(key), sha256: hash, bytes, reused };
    } finally {
      rmSync(tempFile, { force: true });
    }
  }

  async putJson(kind: string, value: unknown): Promise<StoredArtifact> {
    const text = JSON.stringify(value);
    return this.put(kind, Buffer.from(text), sha256(text), 'json');
  }

  async putBytes(kind: string, bytes: Uint8Array, ext: string): Promise<StoredArtifact> {
    return this.put(kind, bytes, createHash('sha256').update(bytes).digest('hex'), ext);
  }

  private async put(kind: string, data: Uint8Array, hash: string, ext: string): Promise<StoredArtifact> {
    const key = this.key(`${kind}/${hash}.${ext}`);
    const reused = await putOnce(this.bucket, key, () => data, data.length);
    return { uri: this.uri(key), sha256: hash, bytes: data.length, reused };
  }

  async find(kind: string, sha: string, ext: string): Promise<string | undefined> {
    const key = this.key(`${kind}/${sha}.${ext}`);
    try {
      await s3().send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return this.uri(key);
    } catch (err) {
      if (notFound(err)) return undefined;
      throw failed('look for', this.uri(key), err);
    }
  }

  holds(uri: string): boolean {
    return uri.startsWith(`${this.rootUri}/`) && !uri.includes('/../') && !uri.includes('/./');
  }

  namedUri(relativePath: string): string {
    return this.uri(this.key(relativePath));
  }

  async putNamedJson(relativePath: string, value: unknown): Promise<string> {
    const key = this.key(relativePath);
    try {
      await s3().send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }));
    } catch (err) {
      throw failed('write', this.uri(key), err);
    }
    return this.uri(key);
  }

  async namedJson(relativePath: string): Promise<{ uri: string; value: unknown } | null> {
    const uri = this.namedUri(relativePath);
    const bytes = await getObject(uri, { missingIsNull: true });
    return bytes ? { uri, value: JSON.parse(bytes.toString('utf8')) } : null;
  }

  async removeNamed(relativePath: string): Promise<void> {
    await deleteObject(this.namedUri(relativePath));
  }

  async remove(uri: string): Promise<void> {
    if (!this.holds(uri)) throw new Error(`${uri} is not in the artifact store ${this.rootUri}`);
    await deleteObject(uri);
  }
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (!m) throw new ArtifactError(`malformed S3 URI ${uri.slice(0, 200)}: expected s3://bucket/key (a bucket name of 3–63 lowercase letters, digits, dots and hyphens)`);
  return { bucket: m[1], key: m[2] ?? '' };
}

const clients = new Map<string, S3Client>();
let cacheDir = path.join(tmpdir(), 'perennial-artifact-cache');

/** Where this process keeps local copies of S3 artifacts (default: a folder in the temp dir). */
export function useArtifactCache(dir: string): void {
  cacheDir = dir;
}

/** A client for the standard AWS settings as they are now (one per endpoint, region and key). */
function s3(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const id = `${endpoint}|${region}|${env.AWS_ACCESS_KEY_ID ?? ''}|${env.AWS_PROFILE ?? ''}`;
  let client = clients.get(id);
  if (!client) {
    // The SDK warns once per process that its 2027 releases will need Node 22; we pin this release and run on Node 20.
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    client = new S3Client({
      region,
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      // Our own sha256 covers integrity; S3-compatible servers (gofakes3, MinIO releases) refuse the SDK's default streamed checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 4,
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    });
    clients.set(id, client);
  }
  return client;
}

/** Writes `key` unless it exists; true when it existed (the same content, by its name). */
async function putOnce(bucket: string, key: string, body: () => Uint8Array, length: number): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body(), ContentLength: length, IfNoneMatch: '*' }));
      return false;
    } catch (err) {
      const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
      if (status === 412 || (err as Error).name === 'PreconditionFailed') return true;
      // Two writers of the same object at once: S3 answers one of them 409; the other's write decides.
      if (status === 409 && attempt < 3) continue;
      throw failed('write', `s3://${bucket}/${key}`, err);
    }
  }
}

async function getObject(uri: string, o: { missingIsNull?: boolean } = {}): Promise<Buffer | null> {
  const { bucket, key } = parseS3Uri(uri);
  try {
    const out = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  } catch (err) {
    if (o.missingIsNull && notFound(err)) return null;
    throw failed('read', uri, err);
  }
}

async function deleteObject(uri: string): Promise<void> {
  const { bucket, key } = parseS3Uri(uri);
  try {
    await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (!notFound(err)) throw failed('delete', uri, err);
  }
}

function notFound(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NoSuchKey' || err.name === 'NotFound');
}

function failed(what: string, uri: string, err: unknown): ArtifactError {
  const e = err as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  return new ArtifactError(`cannot ${what} ${uri}: ${e.name}${e.code && e.code !== e.name ? ` ${e.code}` : ''}${status}: ${e.message}`);
}

function cachePath(bucket: string, key: string): string {
  return path.join(cacheDir, bucket, ...key.split('/').filter((s) => s && s !== '..' && s !== '.'));
}

function keepInCache(bucket: string, key: string, file: string): void {
  const target = cachePath(bucket, key);
  if (existsSync(target)) return;
  mkdirSync(path.dirname(target), { recursive: true });
  renameSync(file, target);
}

/** `s3:` URIs: content-addressed objects through the local cache, named ones always fetched. */
export const s3Reader: ArtifactReader = {
  async readBytes(uri) {
    const { bucket, key } = parseS3Uri(uri);
    const cached = cachePath(bucket, key);
    // Only content-addressed objects are immutable: a named one (a checkpoint) is always fetched.
    if (contentAddress(uri) && existsSync(cached)) return readFile(cached);
    return (await getObject(uri))!;
  },
  async localPath(uri, expectedSha256) {
    const { bucket, key } = parseS3Uri(uri);
    const expected = expectedSha256 ?? contentAddress(uri);
    const cached = cachePath(bucket, key);
    if (expected && existsSync(cached)) return cached;
    const bytes = (await getObject(uri))!;
    if (expected) {
      const got = createHash('sha256').update(bytes).digest('hex');
      if (got !== expected) throw new ArtifactError(`artifact ${uri} has sha256 ${got}, expected ${expected}`);
    }
    mkdirSync(path.dirname(cached), { recursive: true });
    const temp = `${cached}.${randomUUID()}.tmp`;
    writeFileSync(temp, bytes);
    renameSync(temp, cached);
    return cached;
  },
};
