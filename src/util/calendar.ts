/**
 * The calendar checks Date.parse does not make: it rolls 2001-02-30 over to March 2 and
 * reads 24:00 as the next midnight, where a user who wrote either has a typo.
 */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in a month of the proleptic Gregorian calendar (as Date counts them). */
export function daysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1];
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

const DATE_TIME_PARTS = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/i;

/**
 * What an ISO-8601 date or date-time gets wrong about the calendar: `shape` (it does not
 * start with a date), `date` (no such day), `time` (no such time of day: past 23:59:59),
 * or undefined.
 */
export function calendarProblem(text: string): 'shape' | 'date' | 'time' | undefined {
  const m = DATE_TIME_PARTS.exec(text);
  if (!m) return 'shape';
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return 'date';
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59))) return 'time';
  return undefined;
}

/** Whether an ISO-8601 date or date-time names a day that exists and, if it has one, a time of day. */
export function isCalendarDateTime(text: string): boolean {
  return calendarProblem(text) === undefined;
}
