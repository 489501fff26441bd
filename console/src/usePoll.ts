import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

/** How often a view re-reads: breakers and queues move in seconds. */
export const REFRESH_MS = 5_000;

/** Loads `read` now and every {@link REFRESH_MS}; `reload` after an action. */
export function usePoll<T>(read: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const reload = useCallback(async () => {
    try {
      setData(await read());
      setError(undefined);
    } catch (caught) {
      setError(caught instanceof ApiError ? `${caught.code}: ${caught.message}` : String(caught));
    }
  }, deps);
  useEffect(() => {
    void reload();
    const timer = setInterval(() => void reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return { data, error, reload };
}
