import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import YAML from 'yaml';
import { canonicalJson, sha256 } from '../util/hash';
import { ModelSpec } from './modelSpec';
import type { ArtifactStore } from '../artifacts/store';
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
  /** A `python` trainer's entrypoint file as read at load time: stored in the artifact store before training (storeTrainerCode). */
  trainerCode?: { bytes: Buffer; sha256: string };
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
  const trainerCode = baseDir ? readTrainerCode(spec, source, baseDir) : undefined;
  return { spec, specHash: sha256(canonicalJson(spec)), file: source === '<inline>' ? undefined : source, ...(trainerCode ? { trainerCode } : {}) };
}

/** A trainer's file is code the workers run: bounded like any input. */
const MAX_TRAINER_FILE_BYTES = 1024 * 1024;

/**
 * A `python` trainer's `file.py:function` entrypoint, read relative to the spec's folder:
 * its sha256 goes into the spec (so the spec hash, the lineage and a policy change name
 * the code), its bytes to the artifact store before training.
 */
function readTrainerCode(spec: ModelSpec, source: string, baseDir: string): LoadedSpec['trainerCode'] {
  const trainer = spec.trainer;
  if (trainer.type !== 'python') return undefined;
  const file = trainer.entrypoint.slice(0, trainer.entrypoint.lastIndexOf(':'));
  if (!file.endsWith('.py')) return undefined;
  const full = path.resolve(baseDir, file);
  let bytes: Buffer;
  try {
    if (statSync(full).size > MAX_TRAINER_FILE_BYTES) throw new Error(`larger than ${MAX_TRAINER_FILE_BYTES / 1024} KiB`);
    bytes = readFileSync(full);
  } catch (err) {
    throw new SpecError(source, [`trainer.entrypoint: cannot read ${full}: ${(err as Error).message}`]);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  trainer.code = { file, sha256: digest };
  return { bytes, sha256: digest };
}

/** Puts a loaded spec's trainer file into the artifact store, where every worker's `train` finds it by its sha256. */
export async function storeTrainerCode(loaded: LoadedSpec, store: ArtifactStore): Promise<void> {
  if (loaded.trainerCode) await store.putBytes('code', loaded.trainerCode.bytes, 'py');
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
