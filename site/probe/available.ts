/** Build time: does this gallery model have a network for the probe (its model.json names a `source`)? */
import { resolveDataRoot } from '../../pipeline/site/data.ts';
import { modelSource } from '../../pipeline/export/site.ts';

export async function probeAvailable(model: string): Promise<boolean> {
  return (await modelSource(resolveDataRoot(), model)) !== undefined;
}
