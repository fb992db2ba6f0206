import { useEffect } from "react";

/** A page of the console: sets the document title and gives the page its one `<h1>`. */
export function Page({ title, actions, children }) {
  useEffect(() => {
    document.title = `${title} · Plexica`;
  }, [title]);
  return (
    <>
      <div className="page-head">
        <h1>{title}</h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
      {children}
    </>
  );
}
