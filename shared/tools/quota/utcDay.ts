const DAY_MS = 86_400_000;

/** The UTC day an instant falls in (`2026-11-30`) and the epoch ms at which it ends (the next midnight). */
export function utcDay(nowMs: number): { day: string; endsAt: number } {
  const start = Math.floor(nowMs / DAY_MS) * DAY_MS;
  return { day: new Date(start).toISOString().slice(0, 10), endsAt: start + DAY_MS };
}

/** Whole seconds until the next UTC midnight, at least 1: a Retry-After for a daily quota. */
export const secondsUntilUtcMidnight = (nowMs: number): number => Math.max(1, Math.ceil((utcDay(nowMs).endsAt - nowMs) / 1_000));
