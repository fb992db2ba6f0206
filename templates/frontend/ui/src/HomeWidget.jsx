// The plugin's dashboard widget (extension point `dashboard.widgets`). The console renders it
// as `<HomeWidget host={host} />` on its dashboard.

export default function HomeWidget({ host }) {
  // The `route` of HomePage in plexica.toml.
  const page = `/${host.plugin.id}/home`;
  return (
    <article data-plugin={host.plugin.id}>
      <h2>{host.plugin.id}</h2>
      <p>Installed in {host.tenant.name}.</p>
      <a
        href={page}
        onClick={(event) => {
          event.preventDefault();
          host.navigate(page);
        }}
      >
        Open the page
      </a>
    </article>
  );
}
