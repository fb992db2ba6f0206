// Small presentational helpers shared by the admin pages.

/** A timestamp (RFC 3339) in the reader's locale, machine-readable too. */
export function When({ at }) {
  if (!at) return null;
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return at;
  return <time dateTime={at}>{date.toLocaleString()}</time>;
}

/** A lifecycle state (`ACTIVE`, `FAILED`, …) as a badge. */
export function StateBadge({ state }) {
  const text = String(state ?? "").toLowerCase();
  const tone = text === "active" ? " badge-active" : text === "failed" ? " badge-failed" : "";
  return <span className={"badge" + tone}>{text.replace(/_/g, " ")}</span>;
}

/** An external address as a link only when it is http(s); otherwise as text. */
export function ExternalLink({ href }) {
  if (!href) return null;
  return /^https?:\/\//i.test(href) ? (
    <a href={href} rel="noopener noreferrer nofollow" target="_blank">
      {href}
    </a>
  ) : (
    <span>{href}</span>
  );
}
