/**
 * Canvas drawings of the probe: the layer as a grid of unit tiles (brightness = activation, one
 * scale for the whole layer, as in the toolbox), a unit's activation map over the input, and
 * input-space images such as deconvolutions.
 */
import type { Pixels } from './resize.ts';
import { channels, spatial, type Activations } from './runner.ts';

export interface GridLayout {
  cols: number;
  rows: number;
  /** Tile size in canvas pixels (the map size, at least `minTile`). */
  tileW: number;
  tileH: number;
  /** Gap between tiles. */
  gap: number;
  /** Map pixels per tile pixel (integer upscaling of small maps). */
  zoom: number;
}

/** Tiles in a near-square grid; tiny maps (fc units, 7×7 maps) are scaled up to stay clickable. */
export function gridLayout(a: Activations, minTile = 12): GridLayout {
  const n = channels(a);
  const [h, w] = spatial(a);
  const zoom = Math.max(1, Math.ceil(minTile / Math.max(h, w)));
  const cols = Math.ceil(Math.sqrt(n * (h >= w ? h / w : 1)));
  return { cols, rows: Math.ceil(n / cols), tileW: w * zoom, tileH: h * zoom, gap: 1, zoom };
}

/** Largest activation of every unit (over its map). */
export function unitMaxima(a: Activations): Float32Array {
  const C = channels(a);
  const out = new Float32Array(C).fill(-Infinity);
  for (let i = 0; i < a.data.length; i++) {
    const c = i % C;
    if (a.data[i] > out[c]) out[c] = a.data[i];
  }
  return out;
}

/** Draws the grid; returns its layout for hit-testing. */
export function drawGrid(cv: HTMLCanvasElement, a: Activations, selected: number | undefined): GridLayout {
  const L = gridLayout(a);
  const C = channels(a);
  const w = spatial(a)[1];
  const W = L.cols * (L.tileW + L.gap) - L.gap;
  const H = L.rows * (L.tileH + L.gap) - L.gap;
  if (cv.width !== W) cv.width = W;
  if (cv.height !== H) cv.height = H;
  const ctx = cv.getContext('2d')!;
  const img = ctx.createImageData(W, H);
  const px = img.data;
  for (let i = 0; i < W * H; i++) {
    px[i * 4] = 60;
    px[i * 4 + 1] = 60;
    px[i * 4 + 2] = 70;
    px[i * 4 + 3] = 255;
  }
  let max = 0;
  for (const v of a.data) if (v > max) max = v;
  const scale = max > 0 ? 255 / max : 0;
  for (let c = 0; c < C; c++) {
    const ox = (c % L.cols) * (L.tileW + L.gap);
    const oy = Math.floor(c / L.cols) * (L.tileH + L.gap);
    for (let y = 0; y < L.tileH; y++) {
      const my = Math.floor(y / L.zoom);
      for (let x = 0; x < L.tileW; x++) {
        const v = a.data[(my * w + Math.floor(x / L.zoom)) * C + c];
        const g = v > 0 ? Math.min(255, Math.round(v * scale)) : 0;
        const o = ((oy + y) * W + ox + x) * 4;
        px[o] = px[o + 1] = px[o + 2] = g;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  if (selected !== undefined && selected < C) {
    const ox = (selected % L.cols) * (L.tileW + L.gap);
    const oy = Math.floor(selected / L.cols) * (L.tileH + L.gap);
    ctx.strokeStyle = '#ffb000';
    ctx.lineWidth = Math.max(1, Math.round(L.tileW / 12));
    ctx.strokeRect(ox - 0.5, oy - 0.5, L.tileW + 1, L.tileH + 1);
  }
  return L;
}

/** Unit index under a point of the canvas (client coordinates), or undefined. */
export function hitTest(cv: HTMLCanvasElement, L: GridLayout, n: number, clientX: number, clientY: number): number | undefined {
  const r = cv.getBoundingClientRect();
  const x = ((clientX - r.left) / r.width) * cv.width;
  const y = ((clientY - r.top) / r.height) * cv.height;
  const col = Math.floor(x / (L.tileW + L.gap));
  const row = Math.floor(y / (L.tileH + L.gap));
  if (col < 0 || col >= L.cols || row < 0) return undefined;
  const i = row * L.cols + col;
  return i < n ? i : undefined;
}

/** RGB pixels onto a canvas at their own size. */
export function drawPixels(cv: HTMLCanvasElement, p: Pixels): void {
  cv.width = p.width;
  cv.height = p.height;
  const ctx = cv.getContext('2d')!;
  const img = ctx.createImageData(p.width, p.height);
  for (let i = 0; i < p.width * p.height; i++) {
    img.data[i * 4] = p.data[i * p.channels];
    img.data[i * 4 + 1] = p.data[i * p.channels + 1];
    img.data[i * 4 + 2] = p.data[i * p.channels + 2];
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** The input with one unit's map (upsampled, smooth) laid over it as a heat map. */
export function drawOverlay(cv: HTMLCanvasElement, input: Pixels, map: Float32Array, mh: number, mw: number): void {
  drawPixels(cv, input);
  const ctx = cv.getContext('2d')!;
  let max = 0;
  for (const v of map) if (v > max) max = v;
  const small = document.createElement('canvas');
  small.width = mw;
  small.height = mh;
  const sctx = small.getContext('2d')!;
  const img = sctx.createImageData(mw, mh);
  for (let i = 0; i < mw * mh; i++) {
    const t = max > 0 ? Math.max(0, map[i]) / max : 0;
    img.data[i * 4] = 255;
    img.data[i * 4 + 1] = Math.round(200 * t);
    img.data[i * 4 + 2] = 0;
    img.data[i * 4 + 3] = Math.round(200 * t);
  }
  sctx.putImageData(img, 0, 0);
  ctx.fillStyle = 'rgba(0,0,0,0.45)';
  ctx.fillRect(0, 0, cv.width, cv.height);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, cv.width, cv.height);
}

/**
 * An input-space signal ([H, W, 3] in the network's channel order) as an image, centred on grey and
 * scaled by its largest magnitude (the toolbox's norm01c).
 */
export function drawSigned(cv: HTMLCanvasElement, g: Float32Array, h: number, w: number, bgr: boolean): void {
  let m = 0;
  for (const v of g) if (Math.abs(v) > m) m = Math.abs(v);
  const s = m > 0 ? 127.5 / m : 0;
  const rgb = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(127.5 + g[i * 3 + (bgr ? 2 - c : c)] * s);
  }
  drawPixels(cv, { data: rgb, width: w, height: h, channels: 3 });
}
