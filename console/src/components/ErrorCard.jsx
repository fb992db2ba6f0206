/**
 * A card in place of something that could not be shown, saying why (as text): the first
 * line of `message`, the rest (e.g. a loader's diagnostics) behind "Details". `compact`
 * (the header) puts the whole message behind "Details".
 */
export function ErrorCard({ title, message, onRetry, compact = false }) {
  const [first, ...rest] = String(message ?? "").trim().split("\n");
  const summary = compact ? "" : first;
  const details = (compact ? [first, ...rest] : rest).join("\n").trim();
  return (
    <div className={"card card-error" + (compact ? " card-compact" : "")}>
      <p className="card-error-title">{title}</p>
      {summary ? <p className="card-error-message">{summary}</p> : null}
      {details ? (
        <details>
          <summary>Details</summary>
          <pre>{details}</pre>
        </details>
      ) : null}
      {onRetry ? (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** An error from an API call or a check, announced to screen readers. */
export function Alert({ error, children }) {
  const text = children ?? (error ? error.message || String(error) : null);
  if (!text) return null;
  return (
    <p className="alert" role="alert">
      {text}
    </p>
  );
}

/** A success note, announced politely. */
export function Notice({ children }) {
  if (!children) return null;
  return (
    <p className="notice" role="status">
      {children}
    </p>
  );
}

/** Shown while something loads. */
export function Loading({ label = "Loading…" }) {
  return (
    <p className="loading" role="status">
      {label}
    </p>
  );
}
