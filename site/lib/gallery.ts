/**
 * The gallery as the pages see it, read from the content collections ONCE per build (calling
 * getCollection on every page is slow at 10k pages) and indexed: models → layers → units, with the
 * layer orders (by index, by top class, by the scan's statistics) and each unit's neighbours.
 */
import { getCollection } from 'astro:content';
import { layerSlug, type LayerRecord, type ModelRecord } from '../../pipeline/content/types.ts';
import { layerOrders } from './format.ts';
import type { LayerOrder } from '../../pipeline/site/urls.ts';
import { decodeSiteUnit, type SiteUnit } from '../../pipeline/site/snapshot.ts';

export interface LayerView {
  model: ModelRecord;
  layer: LayerRecord;
  /** Units that have a record, by index. */
  units: SiteUnit[];
  /** The same units in each listing order the layer has (`index` is `units`; statistics orders only for a scanned layer). */
  orders: Map<LayerOrder, SiteUnit[]>;
  /** Position of each unit (by index) in `units`. */
  position: Map<number, { index: number }>;
}

export interface ModelView {
  model: ModelRecord;
  /** Every layer of model.json, with or without unit records. */
  layers: LayerView[];
  /** The class layer when it has records. */
  classLayer?: LayerView;
}

export interface Gallery {
  models: ModelView[];
  layer(model: string, slug: string): LayerView;
  /** The layers of the model that have at least one unit record, in model order. */
  layersWithData(model: string): LayerView[];
  /** A unit of a layer (by blob name) when the gallery has its record. */
  unit(model: string, layer: string, unit: number): SiteUnit | undefined;
}

let cached: Promise<Gallery> | undefined;

export function getGallery(): Promise<Gallery> {
  return (cached ??= load());
}

async function load(): Promise<Gallery> {
  const [modelEntries, unitEntries] = await Promise.all([getCollection('models'), getCollection('units')]);
  const byLayer = new Map<string, SiteUnit[]>();
  for (const entry of unitEntries) {
    const data = decodeSiteUnit(entry.data.json);
    const key = `${data.model}/${data.layerSlug}`;
    let list = byLayer.get(key);
    if (!list) byLayer.set(key, (list = []));
    list.push(data);
  }
  const layerIndex = new Map<string, LayerView>();
  const models: ModelView[] = modelEntries
    .map((e) => e.data)
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((model) => {
      const layers = model.layers.map((layer) => {
        const units = (byLayer.get(`${model.id}/${layer.slug}`) ?? []).sort((a, b) => a.unit - b.unit);
        const position = new Map<number, { index: number }>();
        units.forEach((u, i) => position.set(u.unit, { index: i }));
        const view: LayerView = { model, layer, units, orders: layerOrders(units), position };
        layerIndex.set(`${model.id}/${layer.slug}`, view);
        return view;
      });
      const classLayer = layers.find((l) => l.layer.classLayer && l.units.length);
      return { model, layers, classLayer };
    });
  return {
    models,
    layer(model, slug) {
      const v = layerIndex.get(`${model}/${slug}`);
      if (!v) throw new Error(`no layer ${model}/${slug}`);
      return v;
    },
    unit(model, layer, unit) {
      const v = layerIndex.get(`${model}/${layerSlug(layer)}`);
      const at = v?.position.get(unit);
      return at === undefined ? undefined : v!.units[at.index];
    },
    layersWithData(model) {
      return models.find((m) => m.model.id === model)?.layers.filter((l) => l.units.length) ?? [];
    },
  };
}

/** getStaticPaths of the per-model pages: one page per gallery model. */
export async function modelPaths(): Promise<{ params: { model: string } }[]> {
  const { models } = await getGallery();
  return models.map((mv) => ({ params: { model: mv.model.id } }));
}

/** The model a per-model page is for. */
export async function modelView(id: string | undefined): Promise<ModelView> {
  const mv = (await getGallery()).models.find((m) => m.model.id === id);
  if (!mv) throw new Error(`no model ${id}`);
  return mv;
}
