import { Loading } from "./components/ErrorCard.jsx";
import { SignIn } from "./pages/SignIn.jsx";
import { useSession } from "./session.jsx";
import { Shell } from "./shell/Shell.jsx";

/** Sign-in until there is a session, then the console. */
export function App() {
  const { me } = useSession();
  if (me === undefined) {
    return (
      <main id="main" className="sign-in">
        <Loading />
      </main>
    );
  }
  return me ? <Shell key={me.id} /> : <SignIn />;
}
