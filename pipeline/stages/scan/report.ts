import type { ScanState, SkippedImage } from './checkpoint.ts';
import type { ScanPlan } from './plan.ts';
import type { UnitScanResult } from './records.ts';

/** The end-of-run list of images that were skipped, grouped by reason; '' when none. */
export function skippedReport(skipped: SkippedImage[]): string {
  if (skipped.length === 0) return '';
  const lines = [`skipped ${skipped.length} image${skipped.length === 1 ? '' : 's'}:`];
  for (const s of skipped) lines.push(`  ${s.file}: ${s.reason}`);
  return lines.join('\n');
}

/**
 * A compact JSON summary of a finished scan (state/scan-<key>.summary.json): the images, what was
 * skipped and, per tracked unit, its top-k (file, value, y, x) and top classes. Scripts and tests
 * read it; the site reads the unit records instead.
 */
export function topkSummary(plan: ScanPlan, state: ScanState, units: UnitScanResult[], run: Record<string, unknown>) {
  const layers: Record<
    string,
    { units: { maxImages: { file: string; value: number; y: number; x: number; synset?: string }[]; topClasses: UnitScanResult['topClasses'] }[] }
  > = {};
  for (const b of plan.blobs) layers[b.name] = { units: [] };
  for (const u of units) {
    layers[u.blob].units[u.unit] = {
      maxImages: u.maxImages.map((m) => ({ file: m.file, value: m.value, y: m.y, x: m.x, ...(m.synset ? { synset: m.synset } : {}) })),
      topClasses: u.topClasses,
    };
  }
  return {
    model: plan.modelId,
    key: plan.key,
    k: plan.k,
    root: plan.root,
    images: plan.files.length,
    scanned: plan.files.length - state.skipped.length,
    skipped: state.skipped,
    classBlobs: [...plan.classBlobs],
    probBlob: plan.probBlob,
    run,
    layers,
  };
}
