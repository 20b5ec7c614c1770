import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { canonicalJson, sha256 } from '../util/hash';
import { ModelSpec } from './modelSpec';
import { specProblems } from './problems';

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
    throw new SpecError(source, specProblems(parsed.error));
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

/**
 * A spec by path, or by model name: the spec file whose `name` it is, whatever the file is
 * called. The user's spec files come first, so a user's copy overrides the shipped spec of
 * the same name; two of the user's files naming one model is an error (which one was meant?).
 */
export function findSpec(nameOrPath: string, home: string): LoadedSpec {
  if (/[\\/]|\.(ya?ml|json)$/.test(nameOrPath)) return loadSpecFile(nameOrPath);
  const userDir = path.join(home, 'specs');
  for (const dir of [userDir, SHIPPED_SPECS_DIR]) {
    const named = specsNamed(nameOrPath, specFiles(dir));
    if (named.length === 1) return named[0];
    if (named.length > 1) {
      throw new SpecError(nameOrPath, [`${named.length} spec files name the model "${nameOrPath}": ${named.map((l) => l.file).join(', ')}; pass the path of the one you mean`]);
    }
  }
  const known = knownSpecNames(home);
  throw new SpecError(nameOrPath, [`no spec named "${nameOrPath}" (known: ${known.join(', ') || 'none'}; user specs go in ${userDir})`]);
}

const fileStem = (file: string) => path.basename(file).replace(/\.(ya?ml|json)$/, '');

/**
 * The valid specs among `files` whose model is `name`. A file called after the model that
 * is not a valid spec throws its problems: it is most likely the one meant.
 */
function specsNamed(name: string, files: string[]): LoadedSpec[] {
  const found: LoadedSpec[] = [];
  for (const file of files) {
    let loaded: LoadedSpec;
    try {
      loaded = loadSpecFile(file);
    } catch (err) {
      if (fileStem(file) === name) throw err;
      continue;
    }
    if (loaded.spec.name === name) found.push(loaded);
  }
  return found;
}

/** The models of every spec file perennial knows (a file that is not a valid spec: its file name). */
export function knownSpecNames(home: string): string[] {
  return [...new Set(listSpecFiles(home).map(specName))];
}

/** The model a spec file names, or its file name when it is not a valid spec. */
function specName(file: string): string {
  try {
    return loadSpecFile(file).spec.name;
  } catch {
    return fileStem(file);
  }
}
