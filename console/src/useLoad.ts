import { useEffect, useState } from 'react';

export type Loaded<T> = { kind: 'loading' } | { kind: 'done'; value: T } | { kind: 'failed'; error: unknown };

/** Runs `load` when its key changes; the latest answer wins. */
export function useLoad<T>(key: string, load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ kind: 'loading' });
  useEffect(() => {
    let current = true;
    setState({ kind: 'loading' });
    load().then(
      (value) => current && setState({ kind: 'done', value }),
      (error: unknown) => current && setState({ kind: 'failed', error }),
    );
    return () => {
      current = false;
    };
    // `key` names what `load` loads: a new function each render is not a new load.
  }, [key]);
  return state;
}
