/**
 * The base URL workers and signed URLs use. It is `GANTRY_PUBLIC_URL` when configured; otherwise it is
 * known only once the server listens (the port may be chosen by the OS), so `main` sets it then.
 */
export class PublicUrl {
  private value: string | undefined;

  constructor(configured: string | undefined) {
    this.value = configured;
  }

  /** Sets the URL the server listens at, unless one was configured. */
  listening(url: string): void {
    this.value ??= url;
  }

  get(): string {
    if (!this.value) throw new Error('the public URL is not known before the server listens');
    return this.value;
  }

  peek(): string | undefined {
    return this.value;
  }
}
