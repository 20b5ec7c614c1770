import { z } from 'zod';
import { ModelSpec } from './modelSpec';

/**
 * A spec's problems in words, one per issue, each with the path it is at. An unknown key
 * names the nearest key the spec language has ("did you mean `gates`?"): a misspelt
 * section must never be dropped silently (a `gate:` once switched every gate off).
 */
export function specProblems(error: z.ZodError): string[] {
  return error.issues.flatMap((i) => {
    const at = i.path.length ? i.path.join('.') : '(spec)';
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => {
        const near = nearestKey(k, keysAt(i.path)) ?? nearestKey(k, keysOfSpec());
        return `${i.path.length ? `${at}.` : ''}${k}: unknown key${near ? ` (did you mean \`${near}\`?)` : ''}`;
      });
    }
    return [`${at}: ${i.message}`];
  });
}

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: JsonSchemaNode | boolean;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  allOf?: JsonSchemaNode[];
}

let schema: JsonSchemaNode | undefined;
const specSchema = () => (schema ??= z.toJSONSchema(ModelSpec, { unrepresentable: 'any', io: 'input' }) as JsonSchemaNode);

/** A node and the alternatives it stands for (unions, nullable, defaults). */
function branches(n: JsonSchemaNode | undefined): JsonSchemaNode[] {
  if (!n || typeof n !== 'object') return [];
  return [n, ...[...(n.anyOf ?? []), ...(n.oneOf ?? []), ...(n.allOf ?? [])].flatMap(branches)];
}

/** The keys the spec language allows in the object at `path`. */
function keysAt(path: PropertyKey[]): string[] {
  let nodes = branches(specSchema());
  for (const seg of path) {
    nodes = nodes.flatMap((n) =>
      branches(typeof seg === 'number' ? n.items : (n.properties?.[String(seg)] ?? (typeof n.additionalProperties === 'object' ? n.additionalProperties : undefined))),
    );
  }
  return [...new Set(nodes.flatMap((n) => Object.keys(n.properties ?? {})))];
}

let vocabulary: string[] | undefined;

/** Every key name the ModelSpec schema knows, anywhere in it. */
function keysOfSpec(): string[] {
  if (vocabulary) return vocabulary;
  const names = new Set<string>();
  const walk = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    const props = (n as { properties?: Record<string, unknown> }).properties;
    if (props) for (const k of Object.keys(props)) names.add(k);
    for (const v of Object.values(n)) walk(v);
  };
  walk(specSchema());
  vocabulary = [...names];
  return vocabulary;
}

function nearestKey(key: string, candidates: string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    const d = norm(name) === norm(key) ? 0 : distance(norm(name), norm(key));
    if (d <= Math.max(1, Math.min(2, Math.floor(key.length / 4))) && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
