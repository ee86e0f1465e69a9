/** Horizontal bars in plain SVG, for counts by category (status class, refusal reason). */
export function Bars({ items, label }: { items: readonly { key: string; value: number; tone?: 'ok' | 'warn' | 'bad' }[]; label: string }) {
  const max = Math.max(1, ...items.map((i) => i.value));
  const row = 22;
  const width = 320;
  const labelWidth = 70;
  return (
    <figure className="bars">
      <figcaption>{label}</figcaption>
      {items.length === 0 ? (
        <p className="muted">nothing yet</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${items.length * row}`} width="100%" height={items.length * row} role="img" aria-label={`${label}: ${items.map((i) => `${i.key} ${i.value}`).join(', ')}`}>
          {items.map((i, n) => {
            const w = Math.max(1, ((width - labelWidth - 50) * i.value) / max);
            return (
              <g key={i.key} transform={`translate(0 ${n * row})`}>
                <text x="0" y="15" className="bar-label">
                  {i.key}
                </text>
                <rect x={labelWidth} y="4" width={w} height="14" rx="2" className={`bar ${i.tone ?? 'ok'}`} />
                <text x={labelWidth + w + 6} y="15" className="bar-value">
                  {Math.round(i.value)}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}
