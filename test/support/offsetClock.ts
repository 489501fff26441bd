import { systemClock, type Clock } from '../../shared/resilience';

/** A real clock (real sleeps) that a test can move forward at once, e.g. past a TTL or a grace period. */
export interface OffsetClock extends Clock {
  advance(ms: number): void;
  /** Moves the clock to `atMs` if that is later than now (never backwards). */
  jumpTo(atMs: number): void;
  /** Stops the clock (sleeps stay real): TTL boundaries can then be hit to the millisecond. */
  freeze(): void;
  /** Lets the clock run again from where it stood. */
  unfreeze(): void;
}

export function offsetClock(): OffsetClock {
  let offset = 0;
  let frozenAt: number | undefined;
  const now = () => frozenAt ?? Date.now() + offset;
  const advance = (ms: number) => {
    if (frozenAt !== undefined) frozenAt += ms;
    else offset += ms;
  };
  return {
    now,
    advance,
    jumpTo: (atMs) => advance(Math.max(0, atMs - now())),
    freeze: () => {
      frozenAt = now();
    },
    unfreeze: () => {
      if (frozenAt === undefined) return;
      offset = frozenAt - Date.now();
      frozenAt = undefined;
    },
    sleep: systemClock.sleep,
  };
}
