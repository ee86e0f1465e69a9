/**
 * A small line chart in plain SVG (no chart library: the console stays small and its CSP
 * needs no inline style). `values` are evenly spaced samples, oldest first.
 */
export function Sparkline({ values, label, unit, width = 320, height = 64 }: { values: readonly number[]; label: string; unit: string; width?: number; height?: number }) {
  const max = Math.max(1, ...values);
  const n = values.length;
  const step = n > 1 ? width / (n - 1) : width;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 6)).toFixed(1)}`).join(' ');
  const last = values.at(-1) ?? 0;
  return (
    <figure className="spark">
      <figcaption>
        {label} <b>{formatRate(last)}</b> {unit} <span className="peak">peak {formatRate(max)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" width="100%" height={height} role="img" aria-label={`${label}: ${formatRate(last)} ${unit} now, peak ${formatRate(max)}`}>
        <line x1="0" y1={height - 1} x2={width} y2={height - 1} className="axis" />
        {n > 1 ? <polyline points={`0,${height - 1} ${points} ${((n - 1) * step).toFixed(1)},${height - 1}`} className="area" /> : null}
        {n > 1 ? <polyline points={points} className="line" /> : null}
      </svg>
    </figure>
  );
}

export function formatRate(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2).replace(/\.?0+$/, '') || '0';
}
