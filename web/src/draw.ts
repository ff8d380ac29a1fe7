// SVG drawings: a DAG with coloured edges and the effective-mixing heatmap.
import type { EdgeStatus } from './evaluate.js';
import type { Matrix } from './matrix.js';

const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

export const EDGE_COLOURS: Record<EdgeStatus | 'plain', string> = {
  correct: '#2e7d32',
  missing: '#c62828',
  extra: '#ef6c00',
  plain: '#455a64',
};

/** Node positions on a circle, node 0 at the top, clockwise. */
function layout(n: number, size: number): [number, number][] {
  const r = size / 2 - 34;
  return Array.from({ length: n }, (_, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / n;
    return [size / 2 + r * Math.cos(a), size / 2 + r * Math.sin(a)];
  });
}

/**
 * Draws a graph on n nodes (labels z1..zn) with edges {from, to, status}.
 * Edges between the same pair in both directions are bent apart.
 */
export function drawGraph(
  svg: SVGSVGElement,
  n: number,
  edges: { from: number; to: number; status: EdgeStatus | 'plain' }[],
  title: string,
): void {
  const size = 320;
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  svg.dataset.nodes = String(n);
  svg.dataset.edges = String(edges.filter((e) => e.status !== 'missing').length);
  const defs = el('defs');
  for (const [name, colour] of Object.entries(EDGE_COLOURS)) {
    const marker = el('marker', {
      id: `${svg.id}-arrow-${name}`,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    });
    marker.append(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: colour }));
    defs.append(marker);
  }
  svg.append(defs);
  const pos = layout(n, size);
  const radius = 17;
  const pairs = new Set(edges.map((e) => `${e.from}-${e.to}`));
  for (const edge of edges) {
    const [x1, y1] = pos[edge.from]!;
    const [x2, y2] = pos[edge.to]!;
    const dx = x2 - x1;
    const dy = y2 - y1;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len;
    const uy = dy / len;
    const bend = pairs.has(`${edge.to}-${edge.from}`) ? 22 : 10;
    const mx = (x1 + x2) / 2 - uy * bend;
    const my = (y1 + y2) / 2 + ux * bend;
    const sx = x1 + ux * radius;
    const sy = y1 + uy * radius;
    const ex = x2 - ux * (radius + 2);
    const ey = y2 - uy * (radius + 2);
    const path = el('path', {
      d: `M ${sx.toFixed(1)} ${sy.toFixed(1)} Q ${mx.toFixed(1)} ${my.toFixed(1)} ${ex.toFixed(1)} ${ey.toFixed(1)}`,
      fill: 'none',
      stroke: EDGE_COLOURS[edge.status],
      'stroke-width': 2.2,
      'stroke-dasharray': edge.status === 'missing' ? '6 4' : 'none',
      'marker-end': `url(#${svg.id}-arrow-${edge.status})`,
      class: `edge edge-${edge.status}`,
    });
    path.append(el('title', {}, `z${edge.from + 1} → z${edge.to + 1}: ${edge.status}`));
    svg.append(path);
  }
  pos.forEach(([x, y], i) => {
    const g = el('g', { class: 'node' });
    g.append(el('circle', { cx: x, cy: y, r: radius, fill: '#fff', stroke: '#263238', 'stroke-width': 1.6 }));
    g.append(el('text', { x, y: y + 5, 'text-anchor': 'middle', 'font-size': 14 }, `z${i + 1}`));
    svg.append(g);
  });
}

/** Diverging colour for a value in [-1, 1]: blue, white, red. */
function colour(v: number): string {
  const t = Math.max(-1, Math.min(1, v));
  const mix = (a: number, b: number, f: number) => Math.round(a + (b - a) * f);
  const [r, g, b] =
    t >= 0 ? [mix(255, 198, t), mix(255, 40, t), mix(255, 40, t)] : [mix(255, 21, -t), mix(255, 101, -t), mix(255, 192, -t)];
  return `rgb(${r},${g},${b})`;
}

/** n x n heatmap with values printed; cells outside `allowed` with |v| >= 0.05 are outlined. */
export function drawHeatmap(svg: SVGSVGElement, m: Matrix, allowed: boolean[][]): void {
  const n = m.length;
  const cell = Math.max(26, Math.min(52, Math.floor(300 / n)));
  const pad = 30;
  const size = pad + n * cell + 4;
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'effective mixing heatmap');
  for (let i = 0; i < n; i++) {
    svg.append(el('text', { x: pad - 6, y: pad + i * cell + cell / 2 + 4, 'text-anchor': 'end', 'font-size': 11 }, `ẑ${i + 1}`));
    svg.append(el('text', { x: pad + i * cell + cell / 2, y: pad - 8, 'text-anchor': 'middle', 'font-size': 11 }, `z${i + 1}`));
    for (let j = 0; j < n; j++) {
      const v = m[i]![j]!;
      const bad = !allowed[i]![j] && Math.abs(v) >= 0.05;
      const rect = el('rect', {
        x: pad + j * cell,
        y: pad + i * cell,
        width: cell - 1,
        height: cell - 1,
        fill: colour(v),
        stroke: bad ? '#000' : allowed[i]![j] ? '#90a4ae' : 'none',
        'stroke-width': bad ? 2 : 1,
      });
      rect.append(el('title', {}, `row ẑ${i + 1}, column z${j + 1}: ${v.toFixed(4)}`));
      svg.append(rect);
      if (cell >= 30) {
        svg.append(
          el(
            'text',
            {
              x: pad + j * cell + cell / 2,
              y: pad + i * cell + cell / 2 + 4,
              'text-anchor': 'middle',
              'font-size': cell >= 44 ? 11 : 9,
              fill: Math.abs(v) > 0.6 ? '#fff' : '#222',
            },
            Math.abs(v) < 0.005 ? '0' : v.toFixed(2),
          ),
        );
      }
    }
  }
}
