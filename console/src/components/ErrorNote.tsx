import { remedyFor } from '../errors.ts';

export interface Problem {
  code: string;
  message: string;
}

/** A refusal as a person reads it: the stable code, the server's message, what to do. */
export function ErrorNote({ error, title }: { error: Problem | undefined; title?: string }) {
  if (!error) return null;
  const remedy = remedyFor(error.code);
  return (
    <div className="note error" role="alert" data-code={error.code}>
      <strong>{title ?? 'Refused'}</strong> <code>{error.code}</code>
      <div>{error.message}</div>
      {remedy ? <div className="remedy">{remedy}</div> : null}
    </div>
  );
}
