import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileArtifactStore } from './fileStore';
import { S3ArtifactStore, useArtifactCache } from './s3Store';
import type { ArtifactStore } from './store';

/** Local copies of remote artifacts (what DuckDB and the model server read) go under `$home/cache`. */
export function cacheArtifactsIn(home: string): void {
  useArtifactCache(path.join(home, 'cache', 'artifacts'));
}

/** Where artifacts go: `artifactsUrl` (`file:///dir` or `s3://bucket/prefix`), else `$home/artifacts`. */
export interface ArtifactPlace {
  home: string;
  artifactsUrl?: string | null;
}

export function openArtifactStore(where: ArtifactPlace): ArtifactStore {
  const url = where.artifactsUrl;
  if (url?.startsWith('s3:')) {
    cacheArtifactsIn(where.home);
    return new S3ArtifactStore(url);
  }
  return new FileArtifactStore(url ? fileURLToPath(url) : path.join(where.home, 'artifacts'));
}
