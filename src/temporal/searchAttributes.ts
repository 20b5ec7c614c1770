import type { Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

/** The custom search attributes that make perennial's runs filterable in the Web UI. */
export const PerennialModel = defineSearchAttributeKey('PerennialModel', SearchAttributeType.KEYWORD);
export const PerennialStage = defineSearchAttributeKey('PerennialStage', SearchAttributeType.KEYWORD);
export const PerennialChampion = defineSearchAttributeKey('PerennialChampion', SearchAttributeType.INT);
export const PerennialCandidate = defineSearchAttributeKey('PerennialCandidate', SearchAttributeType.INT);
export const PerennialDriftScore = defineSearchAttributeKey('PerennialDriftScore', SearchAttributeType.DOUBLE);
export const PerennialCheckedAt = defineSearchAttributeKey('PerennialCheckedAt', SearchAttributeType.DATETIME);

const KEYS = [PerennialModel, PerennialStage, PerennialChampion, PerennialCandidate, PerennialDriftScore, PerennialCheckedAt];

export type SearchAttributeTypeName = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

const CLI_TYPE: Record<SearchAttributeType, SearchAttributeTypeName> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** Name → type as the `temporal` CLI spells it (`--search-attribute Name=Type`). */
export const SEARCH_ATTRIBUTES: Record<string, SearchAttributeTypeName> = Object.fromEntries(KEYS.map((k) => [k.name, CLI_TYPE[k.type]]));

/** CLI type name → `temporal.api.enums.v1.IndexedValueType`. */
const INDEXED_VALUE_TYPE: Record<SearchAttributeTypeName, number> = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 };

export function modelSearchAttributes(model: string): TypedSearchAttributes {
  return new TypedSearchAttributes([{ key: PerennialModel, value: model }]);
}

/**
 * Adds any of perennial's search attributes missing from the namespace, through the
 * operator API (the dev server's `--search-attribute` only applies to a new database,
 * and a cluster starts with none). Returns the names added; throws if one exists with
 * another type.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = customAttributes ?? {};
  const missing: Record<string, number> = {};
  for (const [name, typeName] of Object.entries(SEARCH_ATTRIBUTES)) {
    const want = INDEXED_VALUE_TYPE[typeName];
    const have = existing[name] as number | undefined;
    if (have === undefined) missing[name] = want;
    else if (have !== want) {
      const haveName = Object.entries(INDEXED_VALUE_TYPE).find(([, v]) => v === have)?.[0] ?? String(have);
      throw new Error(`search attribute ${name} exists in namespace ${namespace} as ${haveName}, but perennial needs ${typeName}`);
    }
  }
  const names = Object.keys(missing);
  if (names.length > 0) await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  return names;
}

/**
 * Whether the namespace has all of perennial's search attributes. Where it does not
 * (a namespace nobody could register them in, or the time-skipping test server) runs
 * go without them rather than fail.
 */
export async function hasSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<boolean> {
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    return Object.keys(SEARCH_ATTRIBUTES).every((name) => customAttributes?.[name] !== undefined);
  } catch {
    return false;
  }
}
