import type { BreakerLogger, BreakerMetrics, BreakerRecord, BreakerStore, Transition } from '../../../shared/breaker';

export interface LogLine {
  level: 'info' | 'warn';
  message: string;
  attributes: Record<string, unknown>;
}

/** A logger that keeps its lines, so tests assert what was said. */
export function recordingLogger(): BreakerLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log =
    (level: LogLine['level']) =>
    (...args: unknown[]): void => {
      lines.push({ level, message: String(args[0]), attributes: (args[1] as Record<string, unknown> | undefined) ?? {} });
    };
  return { lines, info: log('info'), warn: log('warn') };
}

/** Metrics that keep every data point's name. */
export function recordingMetrics(): BreakerMetrics & { names: string[]; count(name: string): number } {
  const names: string[] = [];
  return {
    names,
    addMetric: (name: string) => names.push(name),
    count: (name) => names.filter((recorded) => recorded === name).length,
  };
}

/** Wraps a store and counts what goes through it; `failing` makes every call throw. */
export function countingStore(inner: BreakerStore): BreakerStore & {
  gets: number;
  transitions: Transition[];
  failing: boolean;
} {
  const store = {
    gets: 0,
    transitions: [] as Transition[],
    failing: false,
    async get(targetKey: string): Promise<BreakerRecord> {
      store.gets += 1;
      if (store.failing) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
      return inner.get(targetKey);
    },
    async transition(targetKey: string, transition: Transition): Promise<boolean> {
      store.transitions.push(transition);
      if (store.failing) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
      return inner.transition(targetKey, transition);
    },
  };
  return store;
}
