/**
 * The probe page's only eager script (a few hundred bytes): nothing heavy loads until the visitor
 * asks for it. "Load the network", choosing or dropping an image, or "Start webcam" imports
 * ./app.ts (and with it TensorFlow.js and the network) from its own bundle and hands it the request.
 */
type Request = { file?: Blob; camera?: boolean };

export function boot(root: HTMLElement): void {
  const byId = <T extends HTMLElement>(id: string) => root.querySelector<T>(`#${id}`)!;
  const load = byId<HTMLButtonElement>('probe-load');
  const go = async (req: Request) => {
    load.disabled = true;
    let ok = false;
    try {
      // ./app.ts, bundled apart from the pages (pipeline/site/probe-bundle.ts) into <base>_probe/
      const { start } = (await import(/* @vite-ignore */ `${import.meta.env.BASE_URL}_probe/app.js`)) as typeof import('./app.ts');
      ok = await start(root, req);
    } catch (e) {
      const status = byId<HTMLElement>('probe-status');
      status.textContent = `Error: could not load the probe (${(e as Error)?.message ?? e})`;
      status.classList.add('error');
    }
    load.disabled = ok;
  };
  load.addEventListener('click', () => void go({}));
  const file = byId<HTMLInputElement>('probe-file');
  file.addEventListener('change', () => {
    if (file.files?.[0]) void go({ file: file.files[0] });
  });
  const cam = byId<HTMLButtonElement>('probe-cam');
  cam.addEventListener('click', () => void go({ camera: cam.getAttribute('aria-pressed') !== 'true' }));
  const drop = byId<HTMLElement>('probe-drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files?.[0];
    if (f) void go({ file: f });
  });
}
