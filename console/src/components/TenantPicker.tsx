import { useState } from 'react';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session-context.ts';

export interface TenantChoice {
  /** The tenant the page works in; undefined while the list loads or when there is none. */
  tenant: string | undefined;
  /** The choices, for a city-wide token; undefined for a tenant token (its own tenant, no choice). */
  options: string[] | undefined;
  choose(t: string): void;
}

/** A tenant token works in its own tenant; a city-wide token picks one from the tenants list. */
export function useTenantChoice(): TenantChoice {
  const { api, me } = useSession();
  const city = me.tenant === null;
  const [chosen, choose] = useState('');
  const tenants = useLoad((signal) => (city ? api.get<{ id: string }[]>('/v1/tenants', signal) : Promise.resolve([])), [api, city]);
  if (!city) return { tenant: me.tenant ?? undefined, options: undefined, choose };
  const options = (tenants.data ?? []).map((t) => t.id);
  return { tenant: options.includes(chosen) ? chosen : options[0], options, choose };
}

export function TenantSelect({ choice }: { choice: TenantChoice }) {
  if (!choice.options) return null;
  return (
    <label className="inline">
      Tenant{' '}
      <select name="scope-tenant" value={choice.tenant ?? ''} onChange={(e) => choice.choose(e.target.value)}>
        {choice.options.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
    </label>
  );
}
