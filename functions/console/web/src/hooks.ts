import { useCallback, useEffect, useRef, useState } from 'react';
import * as api from './api';
import type { Job } from './types';

// useLoad runs load whenever deps change and keeps its result, error and state.
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    setError(null);
    load(ac.signal)
      .then((d) => {
        if (!ac.signal.aborted) setData(d);
      })
      .catch((e) => {
        if (!ac.signal.aborted) setError(e);
      })
      .finally(() => {
        if (!ac.signal.aborted) setLoading(false);
      });
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}

// useJob follows a job (GET /api/jobs/{id}) until it succeeds or fails.
export function useJob(onDone?: (j: Job) => void) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const timer = useRef<number | undefined>(undefined);
  const done = useRef(onDone);
  done.current = onDone;
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const follow = useCallback((first: Job) => {
    window.clearTimeout(timer.current);
    setError(null);
    setJob(first);
    const poll = async (j: Job, delay: number) => {
      if (j.status === 'succeeded' || j.status === 'failed') {
        done.current?.(j);
        return;
      }
      timer.current = window.setTimeout(async () => {
        try {
          const next = await api.get<Job>(`/api/jobs/${encodeURIComponent(j.id)}`);
          setJob(next);
          poll(next, Math.min(delay * 1.5, 2000));
        } catch (e) {
          setError(e);
        }
      }, delay);
    };
    poll(first, 300);
  }, []);
  const reset = useCallback(() => {
    window.clearTimeout(timer.current);
    setJob(null);
    setError(null);
  }, []);
  return { job, error, follow, reset };
}

// useAction runs a row's action (remove, delete, change) and keeps its error to show
// beside the list; after runs when it succeeded, typically the list's reload.
export function useAction(after?: () => void) {
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(
    async (fn: () => Promise<unknown>) => {
      setError(null);
      try {
        await fn();
        after?.();
      } catch (e) {
        setError(e);
      }
    },
    [after],
  );
  return { error, run };
}
