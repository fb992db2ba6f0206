import { useId, useState } from "react";

/**
 * A labelled form control with its hint and error, wired for assistive technology
 * (`aria-describedby`, `aria-invalid`). `children(id, describedBy)` renders a custom control;
 * without it an `<input>` gets the remaining props.
 */
export function Field({ label, hint, error, required, children, className, ...input }) {
  const id = useId();
  const hintId = hint ? id + "-hint" : null;
  const errorId = error ? id + "-error" : null;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={"field" + (className ? " " + className : "")}>
      <label htmlFor={id}>
        {label}
        {required ? <span className="required"> (required)</span> : null}
      </label>
      {children ? (
        children(id, describedBy)
      ) : (
        <input
          id={id}
          aria-describedby={describedBy}
          aria-invalid={error ? true : undefined}
          required={required}
          {...input}
        />
      )}
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * A button that asks "sure?" in place (no dialog) before doing something that cannot be
 * undone. `label` names the action, `confirm` is the question.
 */
export function ConfirmButton({ label, confirm, onConfirm, disabled }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="button button-danger" disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={confirm}>
      <span>{confirm}</span>
      <button
        type="button"
        className="button button-danger"
        autoFocus
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" className="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** Previous / next through a `Page<T>` answer (`{total, page, per_page}`). */
export function Pager({ page, onPage }) {
  if (!page) return null;
  const pages = Math.max(1, Math.ceil(page.total / page.per_page));
  if (pages <= 1) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="button" disabled={page.page <= 1} onClick={() => onPage(page.page - 1)}>
        Previous
      </button>
      <span>
        Page {page.page} of {pages}
      </span>
      <button type="button" className="button" disabled={page.page >= pages} onClick={() => onPage(page.page + 1)}>
        Next
      </button>
    </nav>
  );
}
