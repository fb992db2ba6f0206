import { useId, useState } from "react";

/** The `aria-describedby` of a control whose notes `FieldNotes` renders under `id`. */
export const describedBy = (id, hint, error) =>
  [hint ? id + "-hint" : null, error ? id + "-error" : null].filter(Boolean).join(" ") || undefined;

/** A control's hint and error, with the ids `describedBy` names. */
export function FieldNotes({ id, hint, error }) {
  return (
    <>
      {hint ? (
        <p className="hint" id={id + "-hint"}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={id + "-error"}>
          {error}
        </p>
      ) : null}
    </>
  );
}

/**
 * A labelled form control with its hint and error, wired for assistive technology
 * (`aria-describedby`, `aria-invalid`). `children(id, describedBy)` renders a custom control;
 * without it an `<input>` gets the remaining props.
 */
export function Field({ label, hint, error, required, children, className, ...input }) {
  const id = useId();
  const described = describedBy(id, hint, error);
  return (
    <div className={"field" + (className ? " " + className : "")}>
      <label htmlFor={id}>
        {label}
        {required ? <span className="required"> (required)</span> : null}
      </label>
      {children ? (
        children(id, described)
      ) : (
        <input
          id={id}
          aria-describedby={described}
          aria-invalid={error ? true : undefined}
          required={required}
          {...input}
        />
      )}
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

/**
 * Checkboxes choosing a subset of `options` (`{value, label}`): `value` is the chosen values,
 * in the order they were ticked; `onChange` gets the new list.
 */
export function CheckboxGroup({ legend, options, value, onChange, hint, error }) {
  const id = useId();
  return (
    <fieldset aria-describedby={describedBy(id, hint, error)} aria-invalid={error ? true : undefined}>
      <legend>{legend}</legend>
      {options.map((option) => (
        <label className="check" key={option.value}>
          <input
            type="checkbox"
            checked={value.includes(option.value)}
            onChange={(e) =>
              onChange(e.target.checked ? [...value, option.value] : value.filter((v) => v !== option.value))
            }
          />
          {option.label}
        </label>
      ))}
      <FieldNotes id={id} hint={hint} error={error} />
    </fieldset>
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
