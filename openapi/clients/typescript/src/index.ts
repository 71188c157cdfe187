/**
 * gradserve's TypeScript client: `Gradserve` with typed arrays in and out (base64 on the wire both ways) and every
 * application/problem+json answer thrown as a GradserveError subclass; `schema.ts` (generated from the OpenAPI
 * document) types the raw client, `gs.raw`.
 */
export * from "./errors.js";
export * from "./gradserve.js";
export * from "./tensors.js";
export type { components, paths } from "./schema.js";
