import { useCallback, useEffect, useEffectEvent, useState, useSyncExternalStore } from 'react';
import type { ApiError } from './api.ts';

/** The hash route as path segments: `#/tenants/metro` → ['tenants', 'metro']. */
export function useRoute(): string[] {
  const hash = useSyncExternalStore(
    (cb) => {
      window.addEventListener('hashchange', cb);
      return () => window.removeEventListener('hashchange', cb);
    },
    () => window.location.hash,
  );
  return hash
    .replace(/^#\/?/, '')
    .split('?')[0]!
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

export function navigate(path: string): void {
  window.location.hash = `#${path}`;
}

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** True until the first answer; a reload keeps showing the last answer until the next one. */
  loading: boolean;
  reload(): void;
}

/** Loads once per `deps` change; `reload()` asks again. A stale answer never overwrites a newer one. */
export function useLoad<T>(fn: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: ApiError | undefined; settled: boolean }>({ data: undefined, error: undefined, settled: false });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    fn(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, error: undefined, settled: true }),
      (error: ApiError) => !ac.signal.aborted && setState({ data: undefined, error, settled: true }),
    );
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: !state.settled, reload };
}

/**
 * Runs `fn` about every `ms` milliseconds, never overlapping itself: a slow answer delays the
 * next poll instead of piling requests onto a loaded server.
 */
export function usePoll(fn: (signal: AbortSignal) => Promise<void>, ms: number): void {
  const onTick = useEffectEvent(fn);
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      const started = performance.now();
      try {
        await onTick(ac.signal);
      } catch {
        // the callback shows its own errors; polling goes on
      }
      if (!ac.signal.aborted) timer = setTimeout(() => void run(), Math.max(0, ms - (performance.now() - started)));
    };
    void run();
    return () => {
      ac.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [ms]);
}
