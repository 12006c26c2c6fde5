import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GradMode } from '../../engine/net/types.ts';
import { writeJsonAtomic } from '../../io/atomic.ts';
import { Progress } from '../../core/progress.ts';
import type { RenderImageArgs, RenderImageResult, RenderTarget } from './handlers.ts';
import type { ScanRunner as Runner } from './handler-table.ts';
import type { ScanPlan } from './plan.ts';
import type { UnitScanResult } from './records.ts';
import { mapPartPath } from '../../content/unit-store.ts';

/**
 * The render stage, run once on the FINAL top-k only: per image that appears in any unit's top-k,
 * one decode, then the patch and the deconv map of every (unit, rank) it is an entry of. Progress
 * (images done) is checkpointed, so a killed render resumes; a changed mode re-renders everything.
 */
export interface RenderStageOptions {
  plan: ScanPlan;
  runner: Runner;
  units: UnitScanResult[];
  mode: GradMode;
  /** Image copies per gradient batch. */
  batch: number;
  /** Data root. */
  out: string;
  stateDir: string;
  /** Names the unit selection when only some units are rendered (part of the progress file's name). */
  selection?: string;
  /**
   * Only the images with index in [from, to) (a queue job's share). Such a render keeps no
   * progress file (its job is small and redone whole when lost); the maps of an image are the same
   * whichever share renders it.
   */
  range?: { from: number; to: number };
  quiet?: boolean;
}

export interface RenderSummary {
  images: number;
  maps: number;
  /** Targets whose reproduced activation differs from the recorded one (should be 0). */
  mismatches: { file: string; blob: string; unit: number; recorded: number; reproduced: number }[];
}

interface RenderProgress {
  key: string;
  mode: GradMode;
  done: number[];
}

export async function runRenderStage(o: RenderStageOptions): Promise<RenderSummary> {
  const { plan, runner } = o;
  const byImage = new Map<number, RenderTarget[]>();
  const blobOrder = new Map(plan.blobs.map((b, i) => [b.name, i]));
  for (const u of o.units) {
    u.sources.forEach((s, r) => {
      const m = u.maxImages[r];
      const t: RenderTarget = {
        blob: u.blob,
        unit: u.unit,
        pos: s.pos,
        value: m.value,
        patch: join(o.out, m.patch),
        deconv: join(o.out, m.deconv),
        heat: join(o.out, m.heat!),
        scale: mapPartPath(o.out, plan.modelId, u.blob, u.unit, r),
      };
      const list = byImage.get(s.image);
      if (list) list.push(t);
      else byImage.set(s.image, [t]);
    });
  }
  for (const list of byImage.values()) list.sort((a, b) => blobOrder.get(a.blob)! - blobOrder.get(b.blob)! || a.unit - b.unit);

  const range = o.range;
  const progressPath = range ? null : join(o.stateDir, `scan-${plan.key}${o.selection ? `-${o.selection}` : ''}.render.json`);
  let saved: RenderProgress | undefined;
  if (progressPath && existsSync(progressPath)) {
    try {
      saved = JSON.parse(await readFile(progressPath, 'utf8')) as RenderProgress;
    } catch {
      saved = undefined;
    }
  }
  const done = new Set(saved && saved.key === plan.key && saved.mode === o.mode ? saved.done : []);
  const images = [...byImage.keys()].sort((a, b) => a - b).filter((i) => !done.has(i) && (!range || (i >= range.from && i < range.to)));
  const maps = images.reduce((n, i) => n + byImage.get(i)!.length, 0);
  const progress = new Progress({ label: `render ${o.mode}`, total: maps, rateUnit: 'maps/s', quiet: o.quiet });
  const mismatches: RenderSummary['mismatches'] = [];
  const window = Math.max(2, runner.size * 2);
  const pending: { image: number; p: Promise<RenderImageResult> }[] = [];
  let next = 0;
  let lastSave = Date.now();
  const save = async () => {
    if (progressPath) await writeJsonAtomic(progressPath, { key: plan.key, mode: o.mode, done: [...done].sort((a, b) => a - b) } satisfies RenderProgress);
  };
  for (let i = 0; i < images.length; i++) {
    while (next < images.length && pending.length < window) {
      const image = images[next++];
      const args: RenderImageArgs = { file: plan.files[image], targets: byImage.get(image)!, mode: o.mode, batch: o.batch };
      pending.push({ image, p: runner.run('renderImage', args) });
    }
    const { image, p } = pending.shift()!;
    const r = await p;
    const targets = byImage.get(image)!;
    if (r.error) throw new Error(`render: ${plan.rel[image]} decoded during the scan but not now: ${r.error}`);
    targets.forEach((t, k) => {
      const v = r.values[k];
      if (!(Math.abs(v - t.value) <= 1e-3 * Math.max(1, Math.abs(t.value)))) {
        mismatches.push({ file: plan.rel[image], blob: t.blob, unit: t.unit, recorded: t.value, reproduced: v });
      }
    });
    done.add(image);
    progress.tick(targets.length);
    if (Date.now() - lastSave > 5000) {
      await save();
      lastSave = Date.now();
    }
  }
  await save();
  progress.finish();
  return { images: range ? images.length : byImage.size, maps, mismatches };
}
