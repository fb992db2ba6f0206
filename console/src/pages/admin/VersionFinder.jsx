import { useId, useState } from "react";

/** Asks for a SemVer requirement (empty: the newest version) and reports it when submitted. */
export function VersionFinder({ value, onChange, label = "Version requirement", action = "Show this version" }) {
  const [draft, setDraft] = useState(value);
  const id = useId();
  return (
    <form
      className="row version-finder"
      onSubmit={(e) => {
        e.preventDefault();
        onChange(draft.trim());
      }}
    >
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={draft}
        placeholder="newest"
        aria-describedby={id + "-hint"}
        onChange={(e) => setDraft(e.target.value)}
      />
      <button type="submit" className="button">
        {action}
      </button>
      <span className="hint" id={id + "-hint"}>
        SemVer, e.g. ^1.2 or =1.2.0; empty for the newest
      </span>
    </form>
  );
}
