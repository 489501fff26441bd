import type { Clock } from '../../shared/resilience';

/** A clock that only moves when something sleeps (or the test calls advance). */
export function fakeClock(start = 1_700_000_000_000): Clock & { sleeps: number[]; advance(ms: number): void } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

/** Replays the given draws in order, then repeats the last one. */
export function scriptedRandom(...draws: number[]): () => number {
  let index = 0;
  return () => draws[Math.min(index++, draws.length - 1)] ?? 0;
}
