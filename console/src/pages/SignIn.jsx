import { useEffect, useState } from "react";
import { Alert } from "../components/ErrorCard.jsx";
import { Field } from "../components/Field.jsx";
import { useSession } from "../session.jsx";

/** Remembers the last tenant signed in to (not a secret) to fill the form next time. */
const TENANT_KEY = "plexica.console.tenant";

function rememberedTenant() {
  try {
    return window.localStorage.getItem(TENANT_KEY) ?? "";
  } catch {
    return "";
  }
}

/** Sign in to a tenant, or to the platform as its super admin (no tenant). */
export function SignIn() {
  const { signIn } = useSession();
  const [platform, setPlatform] = useState(false);
  const [tenant, setTenant] = useState(rememberedTenant);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = "Sign in · Plexica";
  }, []);

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn({ tenant: platform ? null : tenant.trim(), email: email.trim(), password });
      if (!platform) {
        try {
          window.localStorage.setItem(TENANT_KEY, tenant.trim());
        } catch {
          // Storage may be disabled; the form is just not prefilled next time.
        }
      }
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <form className="card sign-in-card" onSubmit={submit} noValidate>
        <h1>Sign in to Plexica</h1>
        <Alert error={error} />
        <div className="field field-check">
          <input
            id="sign-in-platform"
            type="checkbox"
            checked={platform}
            onChange={(e) => {
              setPlatform(e.target.checked);
              if (e.target.checked && !email) setEmail("admin");
            }}
          />
          <label htmlFor="sign-in-platform">Sign in as platform admin</label>
        </div>
        {platform ? null : (
          <Field
            label="Tenant"
            hint="Your organization's short name, e.g. acme"
            required
            autoComplete="organization"
            autoCapitalize="none"
            spellCheck={false}
            value={tenant}
            onChange={(e) => setTenant(e.target.value)}
          />
        )}
        <Field
          label="Email"
          required
          type={platform ? "text" : "email"}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label="Password"
          required
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
