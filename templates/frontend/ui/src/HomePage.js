// The plugin's page, shown by the Plexica shell at /{{plugin_id}}/home (see plexica.toml).

/**
 * Renders the page into `element` and returns a function that removes it again.
 * @param {Element} element where the shell mounts the page
 * @param {object} [context] who the page is shown for: `tenant` and `workspace` slugs
 * @returns {() => void}
 */
export function mount(element, context = {}) {
  const doc = element.ownerDocument;
  const section = doc.createElement("section");
  const heading = doc.createElement("h1");
  heading.textContent = "{{plugin_name}}";
  const text = doc.createElement("p");
  text.textContent = context.workspace
    ? `Hello from {{plugin_id}} in workspace ${context.workspace}.`
    : "Hello from {{plugin_id}}.";
  section.append(heading, text);
  element.append(section);
  return () => section.remove();
}

export default mount;
