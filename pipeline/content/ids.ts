/** Which model ids and layer slugs the content may use: they become folder names and URL segments. */

/** Top-level names a model id may not take (the site's own top-level pages and folders). */
export const RESERVED_MODEL_IDS = new Set(['search', 'media', 'pagefind', '_astro', '_probe', '404', 'evidence', 'search-exact.json']);
/** Layer slugs that collide with model-level pages. */
export const RESERVED_LAYER_SLUGS = new Set(['classes', 'probe']);
/** Characters allowed in model ids and layer slugs. */
export const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * Layer slug: the blob name with every `/` replaced by `-`, other characters a URL segment should
 * not hold by `_`, and leading `-`/`.` dropped (PyTorch's ONNX names start with `/`:
 * `/layer1/layer1.0/relu_1/Relu_output_0` → `layer1-layer1.0-relu_1-Relu_output_0`).
 */
export function layerSlug(blob: string): string {
  return blob
    .replace(/\//g, '-')
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[-.]+/, '');
}
