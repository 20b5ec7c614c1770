import { execFileSync } from 'node:child_process';
import path from 'node:path';

let cached: string | undefined;

/** The code a model was trained with: the git commit (marked when the tree is dirty), else the package version. */
export function codeVersion(): string {
  if (cached) return cached;
  const root = path.resolve(__dirname, '../..');
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    cached = dirty ? `git:${commit}+dirty` : `git:${commit}`;
  } catch {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = `package:${(require(path.join(root, 'package.json')) as { version: string }).version}`;
  }
  return cached;
}
