/** The webcam as a source of frames: a hidden <video> fed by getUserMedia. */
export class Webcam {
  private constructor(
    readonly video: HTMLVideoElement,
    private readonly stream: MediaStream,
  ) {}

  static async open(): Promise<Webcam> {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera access (a secure context, https or localhost, is needed)');
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (e) {
      throw new Error(`no camera: ${(e as Error).message || (e as Error).name}`);
    }
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    await video.play();
    if (!video.videoWidth) await new Promise((r) => video.addEventListener('loadeddata', r, { once: true }));
    return new Webcam(video, stream);
  }

  get width(): number {
    return this.video.videoWidth;
  }

  get height(): number {
    return this.video.videoHeight;
  }

  close(): void {
    for (const t of this.stream.getTracks()) t.stop();
    this.video.srcObject = null;
  }
}

/** Frames per second over a sliding window of the last `n` frame times. */
export class FpsMeter {
  private times: number[] = [];
  constructor(private readonly n = 10) {}

  tick(t = performance.now()): void {
    this.times.push(t);
    if (this.times.length > this.n + 1) this.times.shift();
  }

  get fps(): number {
    const k = this.times.length - 1;
    return k > 0 ? (1000 * k) / (this.times[k] - this.times[0]) : 0;
  }

  reset(): void {
    this.times = [];
  }
}
