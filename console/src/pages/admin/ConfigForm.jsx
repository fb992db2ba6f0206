// A settings form generated from a plugin manifest's `[[config]]` fields (types string,
// text, secret, integer, number, boolean, select, multiselect, json), showing the API's
// validation messages (422 `details.problems[{key,message}]`) next to the fields.

import { useId, useState } from "react";
import { Alert } from "../../components/ErrorCard.jsx";
import { CheckboxGroup, describedBy, Field, FieldNotes } from "../../components/Field.jsx";

/**
 * @typedef {object} ConfigField a manifest `[[config]]` entry as the API serializes it
 * @property {string} key
 * @property {string} type
 * @property {string} [label]
 * @property {boolean} [required]
 * @property {any} [default]
 * @property {string[]} [options]
 * @property {number} [min]
 * @property {number} [max]
 * @property {string} [pattern]
 * @property {boolean} [workspace-override]
 */

/** A value as text for hints. */
const show = (value) => (typeof value === "string" ? value : JSON.stringify(value));

/** The field's rules in words, for its hint. */
function describe(field, mode) {
  const { min, max } = field;
  const range = (unit) =>
    min != null && max != null
      ? min === max
        ? `of exactly ${min}${unit}`
        : `from ${min} to ${max}${unit}`
      : min != null
        ? `at least ${min}${unit}`
        : max != null
          ? `at most ${max}${unit}`
          : "";
  const parts = [];
  if (field.type === "integer") parts.push(`A whole number ${range("")}`.trim() + ".");
  if (field.type === "number") parts.push(`A number ${range("")}`.trim() + ".");
  if (["string", "text", "secret"].includes(field.type) && range("")) parts.push(`Length ${range(" characters")}.`);
  if (field.pattern) parts.push(`Must match the pattern ${field.pattern}`);
  if (field.type === "json") parts.push("A JSON value.");
  if (field.type === "secret" && mode !== "install") parts.push("Kept unless you type a new one.");
  if (field.default !== undefined && field.type !== "secret") parts.push(`Default: ${show(field.default)}.`);
  if (field["workspace-override"] && mode !== "override") parts.push("Workspaces may override it.");
  return parts.join(" ");
}

/** The form control's state for a value. */
function toInput(field, value) {
  switch (field.type) {
    case "boolean":
      return value === undefined || value === null ? "" : String(Boolean(value));
    case "multiselect":
      return Array.isArray(value) ? value.map(String) : [];
    case "json":
      return value === undefined || value === null ? "" : JSON.stringify(value, null, 2);
    default:
      return value === undefined || value === null ? "" : String(value);
  }
}

/** The value of a control's state: `{value}`, `{empty: true}` or `{error}`. */
function fromInput(field, input) {
  if (field.type === "multiselect") return { value: input };
  if (input === "") return { empty: true };
  switch (field.type) {
    case "boolean":
      return { value: input === "true" };
    case "integer": {
      const n = Number(input);
      return Number.isInteger(n) ? { value: n } : { error: "Enter a whole number." };
    }
    case "number": {
      const n = Number(input);
      return Number.isFinite(n) ? { value: n } : { error: "Enter a number." };
    }
    case "json":
      try {
        return { value: JSON.parse(input) };
      } catch (e) {
        return { error: `This is not valid JSON: ${e.message}` };
      }
    default:
      return { value: input };
  }
}

/** One generated control. */
function ConfigControl({ field, mode, input, error, onChange }) {
  const id = useId();
  const label = field.label || field.key;
  const hint = describe(field, mode);
  const required = field.required && mode !== "override";
  const common = { label, hint, error, required };
  const invalid = error ? true : undefined;

  if (field.type === "boolean" && mode !== "override") {
    return (
      <div className="field">
        <div className="field-check">
          <input
            id={id}
            type="checkbox"
            checked={input === "true"}
            aria-describedby={describedBy(id, hint, error)}
            aria-invalid={invalid}
            onChange={(e) => onChange(String(e.target.checked))}
          />
          <label htmlFor={id}>{label}</label>
        </div>
        <FieldNotes id={id} hint={hint} error={error} />
      </div>
    );
  }
  if (field.type === "boolean" || field.type === "select") {
    const options = field.type === "boolean" ? ["true", "false"] : (field.options ?? []);
    const empty = mode === "override" ? "Same as the tenant" : required ? "Choose…" : "None (use the default)";
    return (
      <Field {...common}>
        {(controlId, describedBy) => (
          <select
            id={controlId}
            value={input}
            required={required}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            onChange={(e) => onChange(e.target.value)}
          >
            <option value="">{empty}</option>
            {options.map((o) => (
              <option key={o} value={o}>
                {field.type === "boolean" ? (o === "true" ? "Yes" : "No") : o}
              </option>
            ))}
          </select>
        )}
      </Field>
    );
  }
  if (field.type === "multiselect") {
    return (
      <CheckboxGroup
        legend={
          <>
            {label}
            {required ? <span className="required"> (required)</span> : null}
          </>
        }
        options={(field.options ?? []).map((option) => ({ value: option, label: option }))}
        value={input}
        onChange={onChange}
        hint={hint}
        error={error}
      />
    );
  }
  if (field.type === "text" || field.type === "json") {
    return (
      <Field {...common}>
        {(controlId, describedBy) => (
          <textarea
            id={controlId}
            value={input}
            required={required}
            spellCheck={field.type === "text"}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            onChange={(e) => onChange(e.target.value)}
          />
        )}
      </Field>
    );
  }
  const numeric = field.type === "integer" || field.type === "number";
  const lengths = !numeric ? { minLength: field.min ?? undefined, maxLength: field.max ?? undefined } : {};
  return (
    <Field
      {...common}
      {...lengths}
      type={numeric ? "number" : field.type === "secret" ? "password" : "text"}
      step={field.type === "integer" ? 1 : numeric ? "any" : undefined}
      min={numeric ? (field.min ?? undefined) : undefined}
      max={numeric ? (field.max ?? undefined) : undefined}
      autoComplete={field.type === "secret" ? "new-password" : "off"}
      value={input}
      aria-invalid={invalid}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

/** Field key → message, from an API error's `details.problems`. */
function problemsOf(error) {
  const problems = error?.details?.problems;
  return Array.isArray(problems) ? problems.filter((p) => p && typeof p.key === "string") : [];
}

/**
 * The generated form.
 *
 * - `install`: every value given is sent; empty fields are left out (defaults fill them).
 * - `update`: only changed values are sent; a cleared field is sent as `null` (back to its
 *   default); an untouched secret is not sent.
 * - `override`: a workspace's overrides; only `workspace-override` fields, an empty field is
 *   "same as the tenant", and the whole set is sent (it replaces the previous one).
 *
 * @param {object} props
 * @param {ConfigField[]} props.fields
 * @param {Record<string, any>} props.values initial values (install: the defaults)
 * @param {"install" | "update" | "override"} props.mode
 * @param {(config: Record<string, any>) => void} props.onSubmit
 * @param {Error | null} [props.error] the API's answer to the last submit
 * @param {boolean} [props.busy]
 * @param {string} props.submitLabel
 * @param {import("react").ReactNode} [props.children] more controls before the submit button
 */
export function ConfigForm({ fields, values, mode, onSubmit, error, busy, submitLabel, children }) {
  const shown = mode === "override" ? fields.filter((f) => f["workspace-override"]) : fields;
  const initial = Object.fromEntries(shown.map((f) => [f.key, toInput(f, values[f.key])]));
  const [inputs, setInputs] = useState(initial);
  const [local, setLocal] = useState({});

  const problems = problemsOf(error);
  const messages = { ...Object.fromEntries(problems.map((p) => [p.key, p.message])), ...local };
  const unplaced = problems.filter((p) => !shown.some((f) => f.key === p.key));
  const summary = error
    ? problems.length > 0 && unplaced.length === 0
      ? "Some values are not accepted; see the messages next to the fields."
      : error.message
    : null;

  const submit = (event) => {
    event.preventDefault();
    const config = {};
    const errors = {};
    for (const field of shown) {
      const input = inputs[field.key];
      const changed = JSON.stringify(input) !== JSON.stringify(initial[field.key]);
      if (mode === "update" && !changed) continue;
      const parsed = fromInput(field, input);
      if (parsed.error) errors[field.key] = parsed.error;
      else if (!parsed.empty) config[field.key] = parsed.value;
      else if (mode === "update") config[field.key] = null;
    }
    setLocal(errors);
    if (Object.keys(errors).length === 0) onSubmit(config);
  };

  return (
    <form onSubmit={submit} noValidate>
      {summary ? <Alert>{summary}</Alert> : null}
      {shown.length === 0 ? <p className="muted">There is nothing to set here.</p> : null}
      {shown.map((field) => (
        <ConfigControl
          key={field.key}
          field={field}
          mode={mode}
          input={inputs[field.key]}
          error={messages[field.key]}
          onChange={(value) => setInputs((all) => ({ ...all, [field.key]: value }))}
        />
      ))}
      {children}
      <button type="submit" className="button button-primary" disabled={busy}>
        {submitLabel}
      </button>
    </form>
  );
}
