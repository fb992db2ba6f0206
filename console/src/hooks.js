// Loading data from the API into components.

import { useCallback, useEffect, useState } from "react";

/**
 * Runs `load(signal)` when `key` changes and keeps its result.
 * Returns `{data, error, loading, reload, update}`; `data` stays while a reload runs.
 *
 * @template T
 * @param {string | null} key what the data depends on; `null` loads nothing
 * @param {(signal: AbortSignal) => Promise<T>} load
 */
export function useResource(key, load) {
  const [state, setState] = useState({ data: undefined, error: null, loading: key !== null });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (key === null) return undefined;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal).then(
      (data) => setState({ data, error: null, loading: false }),
      (error) => {
        if (error.name !== "AbortError") setState((s) => ({ ...s, error, loading: false }));
      },
    );
    return () => controller.abort();
    // `load` is a fresh closure on every render; `key` names what it depends on.
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  /** Changes the loaded data in place (e.g. with a record the API answered), without a reload. */
  const update = useCallback((fn) => setState((s) => ({ ...s, data: fn(s.data) })), []);
  return { ...state, reload, update };
}

/**
 * Runs mutations one at a time and keeps what came of the last one: `{busy, error, notice,
 * run}`. `run(fn, notice)` resolves to `fn`'s result, or `undefined` when it failed (the
 * error is kept for display).
 */
export function useAction() {
  const [state, setState] = useState({ busy: false, error: null, notice: null });
  const run = useCallback(async (fn, notice) => {
    setState({ busy: true, error: null, notice: null });
    try {
      const result = await fn();
      setState({ busy: false, error: null, notice: typeof notice === "function" ? notice(result) : (notice ?? null) });
      return result;
    } catch (error) {
      setState({ busy: false, error, notice: null });
      return undefined;
    }
  }, []);
  return { ...state, run };
}

/**
 * A form's values, starting from `empty`, with the errors of `action` (a `useAction`) routed
 * to its fields: `{form, setForm, bind(name), reset}`. `bind(name)` gives a `Field` its
 * `value`, `onChange` and `error` (the action's error when its `details.field` is `name`);
 * `reset()` goes back to `empty`.
 *
 * @template {Record<string, any>} T
 * @param {T} empty
 * @param {{error: any}} action
 */
export function useForm(empty, action) {
  const [initial] = useState(empty);
  const [form, setForm] = useState(initial);
  const field = action.error?.details?.field;
  const bind = (name) => ({
    value: form[name],
    error: field === name ? action.error.message : null,
    onChange: (event) => setForm((f) => ({ ...f, [name]: event.target.value })),
  });
  const reset = useCallback(() => setForm(initial), [initial]);
  return { form, setForm, bind, reset };
}
