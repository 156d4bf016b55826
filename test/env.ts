/** Test settings (FA_BACKENDS, FA_SEED): process.env in Node, karma's client config in the browser. */
export function testEnv(name: string): string|undefined {
  const karma = (globalThis as unknown as {__karma__?: {config?: {faEnv?: Record<string, string>}}}).__karma__;
  const fromKarma = karma?.config?.faEnv?.[name];
  if (fromKarma) return fromKarma;
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}
