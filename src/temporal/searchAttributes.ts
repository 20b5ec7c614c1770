import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

/** The custom search attributes that make perennial's runs filterable in the Web UI. */
export const PerennialModel = defineSearchAttributeKey('PerennialModel', SearchAttributeType.KEYWORD);
export const PerennialStage = defineSearchAttributeKey('PerennialStage', SearchAttributeType.KEYWORD);
export const PerennialChampion = defineSearchAttributeKey('PerennialChampion', SearchAttributeType.INT);
export const PerennialCandidate = defineSearchAttributeKey('PerennialCandidate', SearchAttributeType.INT);
export const PerennialDriftScore = defineSearchAttributeKey('PerennialDriftScore', SearchAttributeType.DOUBLE);

export function modelSearchAttributes(model: string): TypedSearchAttributes {
  return new TypedSearchAttributes([{ key: PerennialModel, value: model }]);
}
