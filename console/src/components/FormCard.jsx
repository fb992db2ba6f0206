import { useId } from "react";
import { Alert, Notice } from "./ErrorCard.jsx";

/**
 * A card holding one form: its `<h2>` names the region, then what came of the last submit of
 * `action` (a `useAction`): its notice, and its error when the error's `details.field` is not
 * one of `fields` (those show their own, see `useForm`). `onSubmit()` runs on submit (the
 * browser's own submit and validation are off); the submit button, `submitLabel`, is disabled
 * while `action` is busy or when `disabled`. `children` are the fields.
 */
export function FormCard({ title, action, fields, onSubmit, submitLabel, disabled = false, children }) {
  const heading = useId();
  const field = action.error?.details?.field;
  const submit = (event) => {
    event.preventDefault();
    onSubmit();
  };
  return (
    <section aria-labelledby={heading} className="card">
      <h2 id={heading}>{title}</h2>
      <Notice>{action.notice}</Notice>
      <form onSubmit={submit} noValidate>
        <Alert error={action.error && !fields.includes(field) ? action.error : null} />
        {children}
        <button type="submit" className="button button-primary" disabled={action.busy || disabled}>
          {submitLabel}
        </button>
      </form>
    </section>
  );
}
