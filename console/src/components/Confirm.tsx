import { useEffect, useRef, useState, type ReactNode } from 'react';

/**
 * A confirmation for actions that cannot be undone quietly (seal, zeroize, revoke): the person
 * types the word shown, so a stray click or Enter does nothing.
 */
export function Confirm({ title, word, children, onConfirm, onCancel, busy }: { title: string; word: string; children: ReactNode; onConfirm(): void; onCancel(): void; busy?: boolean }) {
  const [typed, setTyped] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <div className="modal-backdrop" role="presentation">
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="confirm-title">
        <h2 id="confirm-title">{title}</h2>
        <div>{children}</div>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (typed === word) onConfirm();
          }}
        >
          <label>
            Type <code>{word}</code> to confirm
            <input ref={input} name="confirm" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
          </label>
          <div className="actions">
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
            <button type="submit" className="danger" disabled={typed !== word || busy === true}>
              {title}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
