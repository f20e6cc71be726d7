// sparkline.js: a row's sparkline, one point a second of tick time for the
// last SPARK_POINTS seconds, drawn on a small canvas against the day's open.

import { riseColor, fallColor } from './format.js';

export const SPARK_POINTS = 90;
const SPARK_MIN_SPAN = 20; // points that fill the sparkline's width until more arrive

export class Sparkline {
  points = []; // prices, oldest first
  second = 0; // the tick-time second of the newest point
  epoch = 0; // counts restarts, so an answer asked for before one can tell
  drawnAt = 0; // the frame time it was last drawn

  // restart begins the line again with points, the newest of second.
  restart(points, second) {
    this.points = points;
    this.second = second;
    this.epoch++;
  }

  // add puts the price of second sec into the line: the last point while sec
  // is its second, a new point for a later second; earlier seconds are
  // already drawn.
  add(sec, px) {
    const pts = this.points;
    if (pts.length && sec === this.second) {
      pts[pts.length - 1] = px;
    } else if (!pts.length || sec > this.second) {
      pts.push(px);
      if (pts.length > SPARK_POINTS) pts.shift();
      this.second = sec;
    }
  }

  // refill rebuilds the line from the closes of one-second bars, then the
  // ticks that are newer than those bars.
  refill(bars, ticks) {
    this.points = [];
    this.second = 0;
    for (const b of bars.slice(-SPARK_POINTS)) this.add(b.t, b.c);
    for (const t of ticks) this.add(Math.floor(t.ts / 1e9), t.px);
  }

  // draw paints the line on canvas, width by height CSS pixels, with a
  // dashed line at open when there is one.
  draw(canvas, open, width, height) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(width * dpr);
    const h = Math.round(height * dpr);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, w, h);
    const pts = this.points;
    if (pts.length < 2) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of pts) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (open > 0) {
      lo = Math.min(lo, open);
      hi = Math.max(hi, open);
    }
    const span = hi - lo || 1;
    const pad = 2 * dpr;
    // Few points spread over part of the width, growing leftwards to the full window.
    const step = (w - 2 * pad) / (Math.max(pts.length, SPARK_MIN_SPAN) - 1);
    const x0 = w - pad - (pts.length - 1) * step;
    const y = (v) => h - pad - ((v - lo) / span) * (h - 2 * pad);
    if (open > 0) {
      ctx.strokeStyle = 'rgba(163, 177, 194, 0.35)';
      ctx.lineWidth = dpr;
      ctx.setLineDash([2 * dpr, 2 * dpr]);
      ctx.beginPath();
      ctx.moveTo(pad, y(open));
      ctx.lineTo(w - pad, y(open));
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.strokeStyle = pts[pts.length - 1] >= (open || pts[0]) ? riseColor : fallColor;
    ctx.lineWidth = 1.5 * dpr;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    pts.forEach((v, i) => (i ? ctx.lineTo(x0 + i * step, y(v)) : ctx.moveTo(x0, y(v))));
    ctx.stroke();
  }
}
