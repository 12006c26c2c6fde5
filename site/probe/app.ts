/**
 * The probe page's controller, loaded on demand by ./boot.ts: loads TensorFlow.js and the exported
 * network, then runs every still image or webcam frame through it and draws the results (top-5
 * classes, the chosen layer as a grid of units, the most active units with their gallery
 * thumbnails, the selected unit's activation map and deconvolution).
 *
 * Tests and benchmarks read the state through `window.__deepvisProbe` (see ProbeHook).
 */
import type { Label } from '../../pipeline/graph/types.ts';
import { backendFromUrl, initBackend, type BackendName } from './backend.ts';
import { loadExportedModel } from './loader.ts';
import { checkResize, decodeFile, drawablePixels, prepare, type Prepared } from './pixels.ts';
import { drawGrid, drawOverlay, drawPixels, drawSigned, hitTest, unitMaxima, type GridLayout } from './render.ts';
import type { Pixels } from './resize.ts';
import type { ResizeMethod } from '../../pipeline/site/export/format.ts';
import { channelMap, channels, Runner, spatial, type Frame } from './runner.ts';
import { GalleryLinks } from './units.ts';
import { FpsMeter, Webcam } from './webcam.ts';
import { $, listBlobs, setStatus, topK } from './view.ts';

export interface ProbeState {
  backend?: BackendName;
  loaded: boolean;
  source?: 'image' | 'camera';
  /** Frames processed since the source started (1 for a still image). */
  frames: number;
  /** Inputs processed since the page loaded the network (never reset). */
  runs: number;
  fps: number;
  layer?: string;
  unit?: number;
  top: { index: number; label: string; prob: number }[];
  /** The class the Grad-CAM overlay was last drawn for. */
  camClass?: number;
  /** Bytes of the network's weights, once downloaded. */
  netBytes?: number;
  /** Milliseconds of the last forward pass (pixels in → activations read back). */
  forwardMs?: number;
  error?: string;
}

export interface ProbeHook {
  state(): ProbeState;
  /** One unit's activation map for the current input, row-major H×W (Caffe's layout), or [value] for fc units. */
  unitValues(blob: string, unit: number): Promise<number[]>;
  /** The cropped RGB the network saw last (row-major H×W×3). */
  inputPixels(): number[];
  selectLayer(blob: string): Promise<void>;
  selectUnit(unit: number): Promise<void>;
  stopCamera(): void;
}

declare global {
  interface Window {
    __deepvisProbe?: ProbeHook;
  }
}

interface Options {
  file?: Blob;
  camera?: boolean;
}

class Probe {
  private runner!: Runner;
  private labels: Label[] = [];
  private resize!: ResizeMethod;
  private links!: GalleryLinks;
  private current?: Prepared;
  private frame?: Frame;
  private layout?: GridLayout;
  private cam?: Webcam;
  private readonly fps = new FpsMeter();
  private busy = false;
  private lastDeconv = 0;
  private activeKey = '';
  readonly state: ProbeState = { loaded: false, frames: 0, runs: 0, fps: 0, top: [] };

  constructor(private readonly root: HTMLElement) {}

  async load(): Promise<void> {
    const { net, units, base, model } = this.root.dataset as Record<string, string>;
    const progress = $<HTMLProgressElement>(this.root, 'probe-progress');
    progress.hidden = false;
    setStatus(this.root, 'Starting TensorFlow.js…');
    this.state.backend = await initBackend(backendFromUrl(location.search));
    setStatus(this.root, `Downloading the network (${this.state.backend})…`);
    const [loaded, links] = await Promise.all([
      loadExportedModel(net, (done, total) => {
        progress.max = total;
        progress.value = done;
        setStatus(this.root, `Downloading the network: ${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`);
      }),
      GalleryLinks.fetch(units, base, model),
    ]);
    this.links = links;
    this.resize = checkResize(loaded.topology.resize);
    this.labels = loaded.model.labels ?? [];
    this.runner = new Runner(loaded.model);
    progress.hidden = true;
    this.setupLayers(
      loaded.model.graph.blobs.map((b) => ({ name: b.name, producer: b.producer })),
      loaded.model.graph.input.blob,
    );
    this.bind();
    this.state.loaded = true;
    this.state.netBytes = loaded.bytes;
    setStatus(
      this.root,
      `Network ready: ${loaded.model.graph.name || loaded.topology.name}, ${(loaded.bytes / 1e6).toFixed(1)} MB, running on ${this.state.backend}.`,
    );
    this.root.classList.add('probe-ready');
  }

  private setupLayers(blobs: { name: string; producer: string }[], input: string): void {
    const select = $<HTMLSelectElement>(this.root, 'probe-layer');
    const names = listBlobs(blobs, input);
    const inGallery = new Set(this.links.blobs);
    select.replaceChildren(...names.map((n) => new Option(inGallery.has(n) ? `${n} ★` : n, n)));
    select.value = this.links.blobs.find((b) => names.includes(b)) ?? names[Math.floor(names.length / 2)];
    this.state.layer = select.value;
  }

  private bind(): void {
    const select = $<HTMLSelectElement>(this.root, 'probe-layer');
    select.addEventListener('change', () => void this.selectLayer(select.value));
    const grid = $<HTMLCanvasElement>(this.root, 'probe-grid');
    grid.addEventListener('click', (e) => {
      if (!this.frame || !this.layout) return;
      const u = hitTest(grid, this.layout, channels(this.frame.acts), e.clientX, e.clientY);
      if (u !== undefined) void this.selectUnit(u);
    });
    grid.addEventListener('keydown', (e) => this.onKey(e));
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.frame || !this.layout || e.altKey || e.ctrlKey || e.metaKey) return;
    const n = channels(this.frame.acts);
    const u = this.state.unit ?? 0;
    const cols = this.layout.cols;
    const moves: Record<string, number> = { ArrowLeft: u - 1, ArrowRight: u + 1, ArrowUp: u - cols, ArrowDown: u + cols, Home: 0, End: n - 1 };
    if (e.key in moves) {
      e.preventDefault();
      void this.selectUnit(Math.min(n - 1, Math.max(0, moves[e.key])));
    } else if (e.key === 'PageUp' || e.key === 'PageDown') {
      e.preventDefault();
      const select = $<HTMLSelectElement>(this.root, 'probe-layer');
      const i = select.selectedIndex + (e.key === 'PageDown' ? 1 : -1);
      if (i >= 0 && i < select.options.length) void this.selectLayer(select.options[i].value);
    } else if (e.key === 'Enter') {
      const g = this.state.layer ? this.links.unit(this.state.layer, u) : undefined;
      if (g) location.href = g.href;
    }
  }

  async selectLayer(blob: string): Promise<void> {
    const select = $<HTMLSelectElement>(this.root, 'probe-layer');
    select.value = blob;
    if (select.value !== blob) throw new Error(`no layer "${blob}" in the list`);
    this.state.layer = blob;
    this.state.unit = undefined;
    if (this.current && !this.cam) await this.process();
  }

  async selectUnit(unit: number): Promise<void> {
    this.state.unit = unit;
    if (!this.frame) return;
    this.drawFrame(this.frame);
    await this.showUnit(true);
  }

  /** A still image: decode, prepare, run. */
  async useFile(file: Blob): Promise<void> {
    this.stopCamera();
    const px = await decodeFile(file);
    this.state.source = 'image';
    this.state.frames = 0;
    await this.process(px);
  }

  async startCamera(): Promise<void> {
    if (this.cam) return;
    this.cam = await Webcam.open();
    this.state.source = 'camera';
    this.state.frames = 0;
    this.fps.reset();
    const button = $<HTMLButtonElement>(this.root, 'probe-cam');
    button.textContent = 'Stop webcam';
    button.setAttribute('aria-pressed', 'true');
    void this.cameraLoop(this.cam);
  }

  stopCamera(): void {
    if (!this.cam) return;
    this.cam.close();
    this.cam = undefined;
    const button = $<HTMLButtonElement>(this.root, 'probe-cam');
    button.textContent = 'Start webcam';
    button.setAttribute('aria-pressed', 'false');
  }

  get cameraOn(): boolean {
    return Boolean(this.cam);
  }

  private async cameraLoop(cam: Webcam): Promise<void> {
    while (this.cam === cam) {
      if (cam.width > 0 && !this.busy) {
        try {
          await this.process(drawablePixels(cam.video, cam.width, cam.height));
        } catch (e) {
          this.fail(e);
          this.stopCamera();
          return;
        }
      }
      await new Promise((r) => requestAnimationFrame(() => r(undefined)));
    }
  }

  /** Runs the current (or a new) input through the network and redraws everything. */
  private async process(px?: Pixels): Promise<void> {
    this.busy = true;
    try {
      if (px) {
        this.current = prepare(px, this.runner.model.preprocess, this.resize);
        drawPixels($<HTMLCanvasElement>(this.root, 'probe-input'), this.current.rgb);
      }
      if (!this.current || !this.state.layer) return;
      const frame = await this.runner.run(this.current.input, this.state.layer);
      this.frame = frame;
      this.state.forwardMs = frame.ms;
      this.state.frames++;
      this.state.runs++;
      this.fps.tick();
      this.state.fps = this.fps.fps;
      this.state.top = topK(frame.output, 5, this.labels);
      $<HTMLElement>(this.root, 'probe-main').hidden = false;
      this.drawFrame(frame);
      const live = this.cam !== undefined;
      const slow = !live || performance.now() - this.lastDeconv > 1000;
      if (slow) this.showCam();
      await this.showUnit(slow);
      $<HTMLElement>(this.root, 'probe-fps').textContent = live
        ? `${this.state.fps.toFixed(1)} frames/s · forward ${frame.ms.toFixed(0)} ms`
        : `forward ${frame.ms.toFixed(0)} ms`;
      this.root.dataset.frames = String(this.state.frames);
    } finally {
      this.busy = false;
    }
  }

  private drawFrame(frame: Frame): void {
    const top5 = $<HTMLOListElement>(this.root, 'probe-top5');
    top5.replaceChildren(
      ...this.state.top.map((t) => {
        const li = document.createElement('li');
        const bar = document.createElement('span');
        bar.className = 'bar';
        bar.style.width = `${(100 * t.prob).toFixed(1)}%`;
        li.append(bar, `${t.label} `, Object.assign(document.createElement('b'), { textContent: `${(100 * t.prob).toFixed(1)} %` }));
        return li;
      }),
    );
    const grid = $<HTMLCanvasElement>(this.root, 'probe-grid');
    this.layout = drawGrid(grid, frame.acts, this.state.unit);
    grid.setAttribute(
      'aria-label',
      `${frame.acts.blob}: ${channels(frame.acts)} units; arrow keys move between units, PageUp/PageDown change layer, Enter opens the unit's gallery page`,
    );
    this.drawActive(frame);
  }

  /** The most active units of the layer, with their gallery thumbnails where the gallery has them. */
  private drawActive(frame: Frame): void {
    const max = unitMaxima(frame.acts);
    const order = Array.from(max.keys())
      .sort((a, b) => max[b] - max[a])
      .slice(0, 8);
    const list = $<HTMLOListElement>(this.root, 'probe-active');
    const key = `${frame.acts.blob}:${order.join(',')}`;
    if (key === this.activeKey) {
      list.querySelectorAll<HTMLElement>('[data-value]').forEach((el, i) => (el.textContent = max[order[i]].toPrecision(3)));
      return;
    }
    this.activeKey = key;
    list.replaceChildren(
      ...order.map((u) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.type = 'button';
        b.dataset.unit = String(u);
        const g = this.links.unit(frame.acts.blob, u);
        if (g?.thumb) b.append(Object.assign(document.createElement('img'), { src: g.thumb, alt: '', width: 64, height: 64, loading: 'lazy' }));
        b.append(`unit ${u} `, Object.assign(document.createElement('span'), { textContent: max[u].toPrecision(3), className: 'value' }));
        (b.lastChild as HTMLElement).dataset.value = '';
        b.addEventListener('click', () => void this.selectUnit(u));
        li.append(b);
        if (g) li.append(' ', Object.assign(document.createElement('a'), { href: g.href, textContent: 'gallery' }));
        return li;
      }),
    );
  }

  /** Grad-CAM of the top class over the input. */
  private showCam(): void {
    const top = this.state.top[0];
    const fig = this.root.querySelector<HTMLElement>('.probe-cam');
    const cam = top && this.current ? this.runner.classCam(this.current.input, top.index) : undefined;
    if (fig) fig.hidden = !cam;
    if (!cam || !this.current) return;
    drawOverlay($<HTMLCanvasElement>(this.root, 'probe-cam-map'), this.current.rgb, cam.map, cam.h, cam.w);
    $<HTMLElement>(this.root, 'probe-cam-class').textContent = top.label;
    $<HTMLElement>(this.root, 'probe-cam-blob').textContent = `(at ${cam.blob}, ${cam.w}×${cam.h})`;
    this.state.camClass = top.index;
  }

  /** The selected unit: its map over the input, its deconvolution and gradient × input (if `deconv`), its gallery link. */
  private async showUnit(deconv: boolean): Promise<void> {
    const panel = $<HTMLElement>(this.root, 'probe-unit');
    const frame = this.frame;
    const unit = this.state.unit;
    if (!frame || unit === undefined || !this.current || unit >= channels(frame.acts)) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    const blob = frame.acts.blob;
    const isClass = blob === this.runner.outputBlob && this.labels[unit];
    $<HTMLElement>(this.root, 'probe-unit-title').textContent = `${blob} · unit ${unit}${isClass ? ` · ${this.labels[unit].name}` : ''}`;
    const [h, w] = spatial(frame.acts);
    const map = channelMap(frame.acts, unit);
    drawOverlay($<HTMLCanvasElement>(this.root, 'probe-map'), this.current.rgb, map, h, w);
    $<HTMLElement>(this.root, 'probe-unit-value').textContent = `max ${Math.max(...map).toPrecision(4)}`;
    const g = this.links.unit(blob, unit);
    const link = $<HTMLAnchorElement>(this.root, 'probe-unit-link');
    link.hidden = !g;
    if (g) link.href = g.href;
    if (deconv) {
      this.lastDeconv = performance.now();
      const d = await this.runner.deconv(this.current.input, frame.acts, unit);
      const [ih, iw] = this.runner.size;
      drawSigned($<HTMLCanvasElement>(this.root, 'probe-deconv'), d, ih, iw, this.runner.model.preprocess.channelOrder === 'BGR');
      const gxi = this.runner.gradInput(this.current.input, blob, unit);
      drawOverlay($<HTMLCanvasElement>(this.root, 'probe-gxi'), this.current.rgb, gxi.map, gxi.h, gxi.w);
    }
  }

  async unitValues(blob: string, unit: number): Promise<number[]> {
    if (!this.current) throw new Error('no input yet');
    const frame = this.frame?.acts.blob === blob ? this.frame : await this.runner.run(this.current.input, blob);
    if (unit < 0 || unit >= channels(frame.acts)) throw new Error(`${blob} has no unit ${unit}`);
    return Array.from(channelMap(frame.acts, unit));
  }

  inputPixels(): number[] {
    return this.current ? Array.from(this.current.rgb.data) : [];
  }

  fail(e: unknown): void {
    this.state.error = (e as Error)?.message ?? String(e);
    this.root.querySelector<HTMLProgressElement>('#probe-progress')?.setAttribute('hidden', '');
    setStatus(this.root, `Error: ${this.state.error}`, true);
  }
}

let loading: Promise<Probe> | undefined;

const blankState = (): ProbeState => ({ loaded: false, frames: 0, runs: 0, fps: 0, top: [] });

/**
 * Loads everything once, then feeds the optional file or starts/stops the camera. Never throws:
 * errors go to the page's status line (and the hook's state); returns false when loading failed
 * (the visitor may try again).
 */
export async function start(root: HTMLElement, opts: Options = {}): Promise<boolean> {
  let p: Probe | undefined;
  try {
    loading ??= (async () => {
      const probe = new Probe(root);
      window.__deepvisProbe = {
        state: () => ({ ...probe.state, top: probe.state.top.slice() }),
        unitValues: (blob, unit) => probe.unitValues(blob, unit),
        inputPixels: () => probe.inputPixels(),
        selectLayer: (blob) => probe.selectLayer(blob),
        selectUnit: (unit) => probe.selectUnit(unit),
        stopCamera: () => probe.stopCamera(),
      };
      try {
        await probe.load();
      } catch (e) {
        probe.fail(e);
        throw e;
      }
      return probe;
    })();
    p = await loading;
  } catch (e) {
    loading = undefined;
    const error = (e as Error)?.message ?? String(e);
    setStatus(root, `Error: ${error}`, true);
    const hook = window.__deepvisProbe;
    if (hook) window.__deepvisProbe = { ...hook, state: () => ({ ...blankState(), error }) };
    return false;
  }
  try {
    if (opts.file) await p.useFile(opts.file);
    if (opts.camera === true) await p.startCamera();
    if (opts.camera === false) p.stopCamera();
  } catch (e) {
    p.fail(e);
  }
  return true;
}
