/**
 * The history chart: bars of jobs finished per step on the left axis, the queue depth as a line on
 * the right one, drawn on a canvas sized to its box at the screen's pixel ratio.
 */
import { $ } from './dom';
import type { History } from './types';

const PAD = { l: 36, r: 36, t: 10, b: 20 };
const GRID = '#263040';
const LABEL = '#8b98a8';
const BARS = '#3fb950';
const LINE = '#4da3ff';

/** Axis tops rounded up to a multiple of 4, so the four gridlines fall on whole numbers. */
const nice = (v: number) => Math.max(4, Math.ceil(v / 4) * 4);

export function drawChart(h: History): void {
  const canvas = $<HTMLCanvasElement>('chart');
  const g = canvas.getContext('2d');
  if (!g) return;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 1200;
  const hgt = canvas.clientHeight || 220;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hgt * dpr);
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, hgt);
  const cw = w - PAD.l - PAD.r;
  const ch = hgt - PAD.t - PAD.b;
  const maxBar = nice(Math.max(...h.finished));
  const depths = h.depth.filter((d): d is number => d !== null);
  const maxDepth = nice(depths.length ? Math.max(...depths) : 0);

  g.strokeStyle = GRID;
  g.lineWidth = 1;
  g.fillStyle = LABEL;
  g.font = '11px system-ui, sans-serif';
  for (let i = 0; i <= 4; i++) {
    const y = PAD.t + ch - (ch * i) / 4;
    g.beginPath();
    g.moveTo(PAD.l, y);
    g.lineTo(PAD.l + cw, y);
    g.stroke();
    g.textAlign = 'right';
    g.fillText(String((maxBar * i) / 4), PAD.l - 6, y + 4);
    g.textAlign = 'left';
    g.fillText(String((maxDepth * i) / 4), PAD.l + cw + 6, y + 4);
  }
  for (let m = 0; m <= 10; m += 2) {
    const x = PAD.l + cw - (cw * m) / 10;
    g.textAlign = 'center';
    g.fillText(m === 0 ? 'now' : `-${m}m`, x, hgt - 5);
  }

  const bw = cw / h.finished.length;
  g.fillStyle = BARS;
  h.finished.forEach((v, k) => {
    if (v <= 0) return;
    const bh = (ch * v) / maxBar;
    g.fillRect(PAD.l + k * bw + 0.5, PAD.t + ch - bh, Math.max(1, bw - 1), bh);
  });

  g.strokeStyle = LINE;
  g.lineWidth = 2;
  g.beginPath();
  let started = false;
  h.depth.forEach((v, k) => {
    if (v === null) {
      started = false;
      return;
    }
    const px = PAD.l + k * bw + bw / 2;
    const py = PAD.t + ch - (ch * v) / maxDepth;
    if (started) g.lineTo(px, py);
    else g.moveTo(px, py);
    started = true;
  });
  g.stroke();
}
