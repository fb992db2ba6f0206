-- Where the functions that run a plugin's SQL as the plugin's own role live (security.md,
-- "Plugin SQL"; core-api/src/db/plugin_sql.rs). No plugin role has any privilege here, so none
-- can alter, replace or drop the function that runs it. SQLite has no counterpart: there, an
-- authorizer on the connection holds plugin SQL.
CREATE SCHEMA IF NOT EXISTS plexica_sandbox;
REVOKE ALL ON SCHEMA plexica_sandbox FROM PUBLIC;
