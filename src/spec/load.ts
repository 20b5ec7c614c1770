import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { canonicalJson, sha256 } from '../util/hash';
import { ModelSpec } from './modelSpec';

export class SpecError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid model spec ${source}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SpecError';
  }
}

export interface LoadedSpec {
  spec: ModelSpec;
  /** sha256 of the validated spec in canonical JSON: recorded in every version's lineage. */
  specHash: string;
  file: string | undefined;
}

/** Specs shipped with perennial; users add theirs under `$PERENNIAL_HOME/specs`. */
export const SHIPPED_SPECS_DIR = path.resolve(__dirname, '../../specs');

/** Validates a spec object, listing every problem at once. */
export function parseSpec(raw: unknown, source = '<inline>', baseDir?: string): LoadedSpec {
  const parsed = ModelSpec.safeParse(raw);
  if (!parsed.success) {
    throw new SpecError(
      source,
      parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(spec)'}: ${i.message}`),
    );
  }
  const spec = parsed.data;
  if (baseDir && !spec.data.source.startsWith('npm:') && !path.isAbsolute(spec.data.source)) {
    spec.data.source = path.resolve(baseDir, spec.data.source);
  }
  return { spec, specHash: sha256(canonicalJson(spec)), file: source === '<inline>' ? undefined : source };
}

export function loadSpecFile(file: string): LoadedSpec {
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SpecError(file, [`cannot read or parse: ${(err as Error).message}`]);
  }
  return parseSpec(raw, file, path.dirname(path.resolve(file)));
}

function specFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => path.join(dir, f));
}

/** Every spec file perennial knows: the shipped ones and the user's. */
export function listSpecFiles(home: string): string[] {
  return [...specFiles(SHIPPED_SPECS_DIR), ...specFiles(path.join(home, 'specs'))];
}

/** A spec by model name (shipped or user spec files) or by path. */
export function findSpec(nameOrPath: string, home: string): LoadedSpec {
  if (/[\\/]|\.(ya?ml|json)$/.test(nameOrPath)) return loadSpecFile(nameOrPath);
  const candidates = listSpecFiles(home).filter((f) => path.basename(f).replace(/\.(ya?ml|json)$/, '') === nameOrPath);
  for (const file of candidates) {
    const loaded = loadSpecFile(file);
    if (loaded.spec.name === nameOrPath) return loaded;
  }
  const known = listSpecFiles(home).map((f) => path.basename(f).replace(/\.(ya?ml|json)$/, ''));
  throw new SpecError(nameOrPath, [`no spec named "${nameOrPath}" (known: ${known.join(', ') || 'none'}; user specs go in ${path.join(home, 'specs')})`]);
}
