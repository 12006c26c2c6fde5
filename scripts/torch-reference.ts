/**
 * The PyTorch reference row of the benchmarks: the Caffe graph and weights deepvis imported,
 * written for scripts/torch-reference.py, run there (CPU or CUDA), and its JSON line parsed. Optional:
 * without a python that imports torch (DEEPVIS_TORCH_PYTHON, else python3) the row says why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classScoreBlob } from '../pipeline/graph/classes.ts';
import type { Model } from '../pipeline/graph/types.ts';
import { encodeNpy } from '../pipeline/io/npy.ts';

export interface TorchRow {
  forwardImgPerSec: number;
  msPerImgStep: number;
  cpuSeconds: number;
  torch: string;
  device?: string;
}

/** ms per img-step (forward + input gradient of one unit per image) and forward img/s in PyTorch; a string says why not. */
export async function measureTorch(
  model: Model,
  stepBlob: string,
  opts: { batch: number; threads: number; device?: 'cpu' | 'cuda'; reps?: number },
): Promise<TorchRow | string> {
  const python = process.env.DEEPVIS_TORCH_PYTHON || 'python3';
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return `no PyTorch (${python} -c "import torch" failed; set DEEPVIS_TORCH_PYTHON to a python with torch)`;
  const dir = await mkdtemp(join(tmpdir(), 'deepvis-torch-'));
  try {
    await writeFile(join(dir, 'net.json'), JSON.stringify(model.graph.layers));
    await writeFile(join(dir, 'blobs.json'), JSON.stringify(model.graph.blobs.map((b) => ({ name: b.name, shape: b.shape }))));
    await writeFile(join(dir, 'input.json'), JSON.stringify(model.graph.input.shape));
    for (const [layer, ps] of model.graph.weights ?? [])
      for (const [i, p] of ps.entries()) await writeFile(join(dir, `${layer.replace(/\//g, '_')}.${i}.npy`), encodeNpy(p.data, p.shape));
    const args = [join(import.meta.dirname, 'torch-reference.py'), dir, '--blob', stepBlob, '--class-blob', classScoreBlob(model)];
    args.push('--batch', String(opts.batch), '--threads', String(opts.threads), '--device', opts.device ?? 'cpu', '--reps', String(opts.reps ?? 3));
    const r = spawnSync(python, args, { encoding: 'utf8' });
    if (r.status !== 0) return `PyTorch run failed: ${r.stderr.trim().split('\n').pop()}`;
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
