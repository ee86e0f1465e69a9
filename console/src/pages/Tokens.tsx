import { TokensPanel } from '../components/TokensPanel.tsx';
import { useSession } from '../session-context.ts';

export function Tokens() {
  const { me } = useSession();
  return (
    <section aria-labelledby="tokens-title">
      <div className="page-head">
        <h1 id="tokens-title">API tokens</h1>
      </div>
      <TokensPanel tenant={me.tenant ?? undefined} />
    </section>
  );
}
