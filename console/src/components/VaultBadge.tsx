export type VaultState = 'uninitialised' | 'sealed' | 'unsealed' | 'tampered';

export interface VaultStatus {
  backend: string;
  state: VaultState;
  unseal?: { threshold: number; received: number };
  tamper?: { at: number; source: string; reason: string };
}

const TONE: Record<VaultState, string> = { unsealed: 'ok', sealed: 'warn', uninitialised: 'warn', tampered: 'bad' };

export function VaultBadge({ state }: { state: VaultState }) {
  return (
    <span className={`badge ${TONE[state]}`} data-testid="vault-state">
      {state}
    </span>
  );
}
