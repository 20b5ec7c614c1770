/**
 * Servers perennial runs natively where Docker cannot: built once with `go install` at a
 * pinned version into `<repo>/.tools/go/<tool>` (GOBIN), then reused. A marker beside each
 * binary names the module and version it was built from, so a changed pin rebuilds.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, run } from '../temporal/binaries';

export interface GoTool {
  /** Its folder under the tools folder (two tools may build binaries of the same name). */
  dir: string;
  /** The binary `go install` makes (the last path element of the package). */
  name: string;
  /** module/path/cmd@version */
  pkg: string;
}

/** The servers `npm run cluster` and the cluster tests build, pinned. */
export const GO_TOOLS = {
  temporalServer: { dir: 'temporal-server', name: 'server', pkg: 'go.temporal.io/server/cmd/server@v1.30.8' },
  temporalSql: { dir: 'temporal-sql-tool', name: 'sql', pkg: 'go.temporal.io/server/cmd/tools/sql@v1.30.8' },
  // 2.54.1: the UI of the pinned Temporal CLI (newer tags need a newer Go than this machine's).
  temporalUi: { dir: 'temporal-ui', name: 'server', pkg: 'github.com/temporalio/ui-server/v2/cmd/server@v2.54.1' },
  s3: { dir: 'gofakes3', name: 'gofakes3', pkg: 'github.com/johannesboyne/gofakes3/cmd/gofakes3@v1.2.0' },
} as const satisfies Record<string, GoTool>;

/** `PERENNIAL_GO_TOOLS_DIR`, else `<repo root>/.tools/go`. */
export function goToolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PERENNIAL_GO_TOOLS_DIR ?? path.join(repoRoot(), '.tools', 'go');
}

/** The module's own files (the Temporal server's SQL schema), from Go's module cache. */
export async function goModuleDir(modAtVersion: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { code, output } = await run('go', ['mod', 'download', '-json', modAtVersion], env);
  const dir = code === 0 ? (JSON.parse(output) as { Dir?: string }).Dir : undefined;
  if (!dir) throw new Error(`go mod download ${modAtVersion} failed: ${output.slice(-2000)}`);
  return dir;
}

/** The tool's binary, built first if it is missing or was built from another version. */
export async function ensureGoTool(tool: GoTool, log: (m: string) => void = () => undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = path.join(goToolsDir(env), tool.dir);
  const binary = path.join(dir, tool.name);
  const marker = `${binary}.built-from`;
  if (existsSync(binary) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === tool.pkg) return binary;
  mkdirSync(dir, { recursive: true });
  log(`building ${tool.pkg} with go install (once; minutes for the Temporal server)`);
  const started = Date.now();
  const { code, output, spawnError } = await run('go', ['install', tool.pkg], { ...env, GOBIN: dir });
  if (spawnError) throw new Error(`cannot run go (${spawnError.message}): install Go (https://go.dev/dl) to build ${tool.pkg}`);
  if (code !== 0) throw new Error(`go install ${tool.pkg} failed (exit ${code}): ${output.slice(-3000)}`);
  writeFileSync(marker, `${tool.pkg}\n`);
  log(`built ${tool.name} in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}
