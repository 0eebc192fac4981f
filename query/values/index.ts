/**
 * SQLite value semantics for the executor: conversions, affinity, comparison, arithmetic,
 * LIKE/GLOB, scalar functions and aggregates. Pure functions over `Value` (base/values.ts).
 */
export * from './affinity.js';
export * from './aggregates.js';
export * from './arith.js';
export * from './compare.js';
export * from './convert.js';
export * from './functions.js';
export * from './like.js';
export * from './printf.js';
export { atof, atoi64, fpDecode, formatFloat, realToText } from './fp.js';
export type { AtofResult, Atoi64Result, FloatSpec, FpDecoded } from './fp.js';
export { isInteger, isReal } from '../../base/values.js';
