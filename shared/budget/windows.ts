/** The budget windows (all UTC) a moment falls in, and when each one resets. */
export interface BudgetWindows {
  /** `YYYY-MM`: names the tenant's spend item. */
  month: string;
  /** `DD`: names the day's counter inside the month item. */
  day: string;
  /** `YYYY-MM-DDTHH`: names the end user's token item. */
  hour: string;
  /** Whole seconds until each window resets (at least 1): the Retry-After of a refusal. */
  resetsInSeconds: { day: number; month: number; hour: number };
  /** Epoch seconds: when DynamoDB may drop the month's spend item. */
  spendExpiresAt: number;
  /** Epoch seconds: when DynamoDB may drop the hour's token item. */
  tokensExpiresAt: number;
}

/** Spend items outlive their month by 35 days, long enough to reconcile against the invoice. */
export const SPEND_RETENTION_DAYS = 35;
/** Token items only matter within their hour; two days leaves room to look at them. */
export const TOKENS_RETENTION_HOURS = 48;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const pad = (value: number) => String(value).padStart(2, '0');
const secondsUntil = (atMs: number, nowMs: number) => Math.max(1, Math.ceil((atMs - nowMs) / 1_000));

export function budgetWindows(nowMs: number): BudgetWindows {
  const now = new Date(nowMs);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const date = now.getUTCDate();
  const hour = now.getUTCHours();

  const nextHour = Date.UTC(year, month, date, hour + 1);
  const nextDay = Date.UTC(year, month, date + 1);
  const nextMonth = Date.UTC(year, month + 1, 1);
  const monthKey = `${year}-${pad(month + 1)}`;
  return {
    month: monthKey,
    day: pad(date),
    hour: `${monthKey}-${pad(date)}T${pad(hour)}`,
    resetsInSeconds: {
      hour: secondsUntil(nextHour, nowMs),
      day: secondsUntil(nextDay, nowMs),
      month: secondsUntil(nextMonth, nowMs),
    },
    spendExpiresAt: Math.floor((nextMonth + SPEND_RETENTION_DAYS * DAY_MS) / 1_000),
    tokensExpiresAt: Math.floor((nextHour + TOKENS_RETENTION_HOURS * HOUR_MS) / 1_000),
  };
}
