/*
 * How much a lifecycle keeps of what it is sent, and how it keeps a sender's text safe to
 * print. Plain code for workflow code to import; the schemas that validate requests live in
 * ./contract.ts and load when a request arrives (workflows/lifecycle/validation.ts).
 */

export const HISTORY_LIMIT = 50;
export const REFUSED_LIMIT = 20;
/** Longest refusal reason kept (a zod message can quote a sender's key names). */
export const REFUSED_REASON_LIMIT = 300;

/** A refusal's reason, cut to REFUSED_REASON_LIMIT with control characters escaped (it may quote what a sender wrote). */
export function boundedReason(reason: string): string {
  return printable(reason, REFUSED_REASON_LIMIT);
}

/** `text` cut to `max` characters, control characters escaped: safe to keep and to print on a terminal. */
export function printable(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return cut.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
