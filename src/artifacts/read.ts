import { createHash } from 'node:crypto';
import { fileReader } from './fileStore';
import { s3Reader } from './s3Store';
import { ArtifactError, contentAddress, type ArtifactReader } from './store';

/** Artifacts are read by their URI alone, whichever process and store wrote them. */
function readerOf(uri: string): ArtifactReader {
  if (uri.startsWith('file:')) return fileReader;
  if (uri.startsWith('s3:')) return s3Reader;
  throw new ArtifactError(`unsupported artifact URI ${uri.slice(0, 200)} (expected file: or s3:)`);
}

/** An artifact's bytes, refused unless they hash to `expectedSha256` (default: the hash its name gives, if any). */
export async function readArtifactBytes(uri: string, expectedSha256?: string): Promise<Buffer> {
  const bytes = await readerOf(uri).readBytes(uri);
  const expected = expectedSha256 ?? contentAddress(uri);
  if (expected) {
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== expected) throw new ArtifactError(`artifact ${uri} has sha256 ${got}, expected ${expected}`);
  }
  return bytes;
}

export async function readJsonArtifact(uri: string): Promise<unknown> {
  return JSON.parse((await readArtifactBytes(uri)).toString('utf8'));
}

/** A local file with the artifact's bytes: the file itself for `file:`, a verified cached copy otherwise. */
export function localArtifactPath(uri: string, expectedSha256?: string): Promise<string> {
  return readerOf(uri).localPath(uri, expectedSha256);
}
