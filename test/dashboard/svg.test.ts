/** Charts: round axis ticks covering the data, points placed by the scale, names escaped, nothing external. */
import { describe, expect, it } from 'vitest';
import { barChart, lineChart, niceTicks } from '../../src/dashboard/svg.js';

describe('niceTicks', () => {
  it('covers the range with 1, 2 or 5 × 10ⁿ steps', () => {
    for (const [lo, hi] of [[0, 1], [3.2, 7.9], [-0.013, 0.041], [100, 100], [0, 255]] as const) {
      const t = niceTicks(lo, hi);
      expect(t[0]).toBeLessThanOrEqual(lo);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(hi);
      const step = t[1]! - t[0]!;
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
      expect(t.length).toBeLessThanOrEqual(12);
    }
  });
});

describe('lineChart', () => {
  it('draws each series inside the plot, with its name escaped and no external reference', () => {
    const svg = lineChart({
      title: 'loss', xLabel: 'x', yLabel: 'y',
      series: [{ name: '<script>x</script>', color: '#000', points: [[0, 1], [1, 2], [2, 4]] }, { name: 'dots', color: '#f00', style: 'dots', points: [[0, 3], [2, 1]] }],
    }).value;
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).not.toMatch(/href=|https?:\/\/(?!www\.w3\.org)/);
    const path = /<path d="([^"]+)"/.exec(svg)![1]!;
    const coords = [...path.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(coords).toHaveLength(3);
    // x grows left to right, a larger y is higher on screen (smaller SVG y)
    expect(coords[0]![0]).toBeLessThan(coords[1]![0]!);
    expect(coords[2]![1]).toBeLessThan(coords[0]![1]!);
    expect((svg.match(/<circle/g) ?? []).length).toBe(2);
  });

  it('joins and marks the points of a `markers` series', () => {
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'm', color: '#123456', style: 'markers', points: [[0, 1], [5, 2], [9, 0]] }] }).value;
    const path = /<path d="([^"]+)" fill="none" stroke="#123456"/.exec(svg)![1]!;
    const joined = [...path.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => `${m[1]} ${m[2]}`);
    const marked = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(marked).toHaveLength(3);
    expect(marked).toEqual(joined); // each mark where the line turns
  });

  it('drops non-finite points and says when there is nothing to draw', () => {
    expect(lineChart({ title: 'empty', xLabel: '', yLabel: '', series: [{ name: 's', color: '#000', points: [[0, Number.NaN]] }] }).value).toContain('nothing to draw');
  });
});

describe('barChart', () => {
  it('scales bars to the largest value', () => {
    const svg = barChart({ title: 'b', bars: [{ label: 'a', value: 1 }, { label: 'b', value: 0.5 }] }).value;
    const widths = [...svg.matchAll(/<rect[^>]* width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths[1]! / widths[0]!).toBeCloseTo(0.5, 2);
  });
});
