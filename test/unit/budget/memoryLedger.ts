import type { LedgerCounter, LedgerItem, ReserveOutcome, ReserveRequest, SpendLedger } from '../../../shared/budget';
import type { BudgetLogger, BudgetMetrics } from '../../../shared/budget';

/** The SpendLedger contract in memory, recording every call, with an optional outage. */
export class MemoryLedger implements SpendLedger {
  readonly items = new Map<string, Record<string, unknown>>();
  readonly calls: Array<{ method: string; key: string; amount?: number }> = [];
  down: Error | undefined;

  private item(key: string): Record<string, unknown> {
    let item = this.items.get(key);
    if (!item) this.items.set(key, (item = { pk: key }));
    return item;
  }

  async reserve({ key, counters, amount, expiresAt }: ReserveRequest): Promise<ReserveOutcome> {
    this.calls.push({ method: 'reserve', key, amount });
    if (this.down) throw this.down;
    const current = this.items.get(key);
    const fits = counters.every(
      ({ attribute, cap }) => cap === undefined || current?.[attribute] === undefined || (current[attribute] as number) <= cap - amount,
    );
    if (!fits) return { reserved: false, item: current ? { ...current } : undefined };
    const item = this.item(key);
    for (const { attribute } of counters) item[attribute] = ((item[attribute] as number | undefined) ?? 0) + amount;
    item.expires_at = expiresAt;
    return { reserved: true, item: { ...item } };
  }

  async adjust(key: string, counters: readonly LedgerCounter[], delta: number): Promise<LedgerItem> {
    this.calls.push({ method: 'adjust', key, amount: delta });
    if (this.down) throw this.down;
    const item = this.item(key);
    for (const { attribute } of counters) item[attribute] = ((item[attribute] as number | undefined) ?? 0) + delta;
    return { ...item };
  }

  async setFlagOnce(key: string, flag: string, value: number): Promise<boolean> {
    this.calls.push({ method: 'setFlagOnce', key });
    if (this.down) throw this.down;
    const item = this.item(key);
    if (item[flag] !== undefined) return false;
    item[flag] = value;
    return true;
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes?: Record<string, unknown>;
}

export function recordingLogger(): BudgetLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (message, attributes) => void lines.push({ level: 'info', message, attributes }),
    warn: (message, attributes) => void lines.push({ level: 'warn', message, attributes }),
    error: (message, attributes) => void lines.push({ level: 'error', message, attributes }),
  };
}

export function recordingMetrics(): BudgetMetrics & { added: Array<[string, string, number]> } {
  const added: Array<[string, string, number]> = [];
  return { added, addMetric: (name, unit, value) => void added.push([name, unit, value]) };
}
